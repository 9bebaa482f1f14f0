"""The documentation's commands, run as they are written on the devcluster, so that the docs
cannot drift from what the operator does.

A document's ```sh blocks run in order, as one bash script (``set -euo pipefail``) in a fresh
directory. A ```yaml block is written to the file its marker names (the line before it is
``<!-- docs-test: file NAME -->``: the reader saves it so), else applied as it is. A block whose
marker is ``<!-- docs-test: illustrative (why) -->`` is not run; plain ``` blocks are output
samples. The commands run against the session's devcluster (``$ECS_OPERATOR_STATE_DIR`` makes
it the one ``ecs-operator devcluster`` commands mean) and its operator.
The AWS CLI is a stand-in that prints the describe output of a real Fargate service
(tests/e2e/docs/), since the user guide starts on AWS.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException
from tests.support.ecs import wait_steady
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CANNED = Path(__file__).resolve().parent / "docs"
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!-- docs-test: (illustrative\b.*|file (\S+)) -->$")
FAKE_AWS = f"""#!/bin/sh
# aws ecs describe-*: what AWS printed for the user guide's service
case "$2" in
  describe-task-definition) exec cat {shlex.quote(str(CANNED / "describe-task-definition.json"))} ;;
  describe-services) exec cat {shlex.quote(str(CANNED / "describe-services.json"))} ;;
  *) echo "aws stand-in: $* is not canned" >&2; exit 1 ;;
esac
"""


@dataclass(frozen=True)
class Block:
    """A fenced block of a document: its language, text and docs-test marker."""

    language: str
    text: str
    illustrative: bool = False
    file: str | None = None


def blocks(document: Path) -> list[Block]:
    found: list[Block] = []
    lines = document.read_text().splitlines()
    k = 0
    while k < len(lines):
        fence = _FENCE.match(lines[k])
        if not fence:
            k += 1
            continue
        end = next(j for j in range(k + 1, len(lines)) if lines[j].startswith("```"))
        marker = _MARKER.match(lines[k - 1]) if k else None
        found.append(
            Block(
                fence.group(1),
                "\n".join(lines[k + 1 : end]) + "\n",
                illustrative=bool(marker and marker.group(1).startswith("illustrative")),
                file=marker.group(2) if marker else None,
            )
        )
        k = end + 1
    return found


def script(document: Path) -> str:
    """The document's runnable blocks as one bash script."""
    parts = ["set -euxo pipefail"]
    for block in blocks(document):
        if block.illustrative or block.language not in ("sh", "yaml"):
            continue
        if block.language == "sh":
            parts.append(block.text)
        elif block.file:
            parts.append(
                f"cat > {shlex.quote(block.file)} <<'DOCS_TEST_EOF'\n{block.text}DOCS_TEST_EOF"
            )
        else:
            parts.append(f"kubectl apply -f - <<'DOCS_TEST_EOF'\n{block.text}DOCS_TEST_EOF")
    return "\n".join(parts) + "\n"


def test_the_markers_and_blocks_are_read() -> None:
    guide = blocks(REPO / "docs" / "user-guide.md")
    assert [b.file for b in guide if b.language == "yaml" and not b.illustrative] == [
        "cluster.yaml"
    ]
    assert "kubectl apply -f cluster.yaml -f web.yaml" in script(REPO / "docs" / "user-guide.md")


def _gone(kube: Kube, namespace: str) -> bool:
    try:
        kube.core.read_namespace(namespace)
    except ApiException as error:
        return error.status == 404
    return False


@pytest.fixture
def shop(kube: Kube) -> Iterator[str]:
    """The user guide's namespace, fresh, and deleted afterwards."""
    kube.delete_namespace("shop")
    wait_for(lambda: _gone(kube, "shop"), 120, "a previous namespace shop to go")
    yield "shop"
    kube.delete_namespace("shop")


def run(document: Path, cwd: Path, devcluster: Path, bin_dir: Path) -> str:
    """Run the document's script; its stdout (the test fails with both outputs otherwise)."""
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {**os.environ, "PATH": path, "ECS_OPERATOR_STATE_DIR": str(devcluster.parent)}
    result = subprocess.run(
        ["bash", "-c", script(document)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    return result.stdout


def test_the_user_guide_runs_as_written(
    operator: OperatorProcess, devcluster: Path, shop: str, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    out = run(REPO / "docs" / "user-guide.md", work, devcluster, bin_dir)
    assert "web      ACTIVE" in out  # kubectl ecs describe-services' table


@pytest.fixture
def demo(kube: Kube) -> Iterator[str]:
    """What `make demo` leaves behind before the README's commands: examples/ in ecs-demo."""
    namespace = "ecs-demo"
    kube.delete_namespace(namespace)
    wait_for(lambda: _gone(kube, namespace), 120, "a previous namespace ecs-demo to go")
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", str(REPO / "examples"))
    wait_steady(kube, namespace, "worker", 3)
    yield namespace
    kube.delete_namespace(namespace)


def test_the_readme_runs_as_written(
    operator: OperatorProcess, devcluster: Path, demo: str, tmp_path: Path
) -> None:
    out = run(REPO / "README.md", REPO, devcluster, tmp_path)
    assert "worker     ACTIVE" in out  # kubectl ecs describe-services --cluster production
    assert "general-0" in out  # kubectl get nodes
