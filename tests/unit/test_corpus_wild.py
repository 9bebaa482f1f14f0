"""Task definitions and services people really wrote (``../shared/corpus/wild/``, with their
sources in its SOURCES.md) through ``ecs-operator convert`` in both modes, as a migrating user
would run it: no crash; every object strictly schema-valid (our custom resources against the
CRDs' schema and CEL rules, Kubernetes objects against Kubernetes' OpenAPI schema); and a
refusal only where ECS itself refuses the input (``wild_refusals.yaml`` says why, per file),
with a message that names the field.

The corpus lives outside the repository (never copy it in): the tests skip without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from ecs_operator import API_GROUP, cli

from .render.helpers import validate

if TYPE_CHECKING:
    from tests.unit.conftest import OfflineApiServer

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared/corpus/wild"
REFUSALS: dict[str, dict[str, str]] = yaml.safe_load(
    (Path(__file__).with_name("wild_refusals.yaml")).read_text(encoding="utf-8")
)
FILES = sorted(p.name for p in CORPUS.glob("*.json")) if CORPUS.is_dir() else []
#: the Windows task definitions of the corpus that name no runtimePlatform (inferred Windows)
WINDOWS_INFERRED = {
    "awsdocs-ecs-anywhere-windows.json",
    "awsdocs-fluentbit-windows.json",
    "datadog-agent-windows.json",
    "ecsagent-awslogs-windows.json",
    "ecsagent-datavolume-windows.json",
    "ecsagent-gmsa-ssm-windows.json",
    "ecsagent-port-80-windows.json",
}
#: one problem line of convert's error: ``  - <ECS path>: <rule>``
PROBLEM = re.compile(r"^  - (\S+): ")

needs_corpus = pytest.mark.skipif(not FILES, reason=f"no corpus at {CORPUS}")


def _convert(name: str, mode: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["convert", str(CORPUS / name), "--to", mode])
    out, err = capsys.readouterr()
    return code, out, err


@needs_corpus
def test_every_listed_refusal_is_a_corpus_file() -> None:
    assert set(REFUSALS) <= set(FILES)
    assert all(entry["field"] and len(entry["ecs"]) > 20 for entry in REFUSALS.values())
    assert all(set(entry.get("modes", ["crd"])) <= {"crd", "k8s"} for entry in REFUSALS.values())


@needs_corpus
@pytest.mark.parametrize("mode", ["crd", "k8s"])
@pytest.mark.parametrize("name", FILES or ["(none)"])
def test_converts_or_is_refused_as_ecs_refuses_it(
    name: str, mode: str, capsys: pytest.CaptureFixture[str], apiserver: OfflineApiServer
) -> None:
    code, out, err = _convert(name, mode, capsys)
    if name in REFUSALS and mode in REFUSALS[name].get("modes", ["crd", "k8s"]):
        assert code == 1, f"{name} converts, though ECS refuses it: {REFUSALS[name]['ecs']}"
        problems = [line for line in err.splitlines() if line.startswith("  - ")]
        assert problems and all(PROBLEM.match(line) for line in problems), err
        assert f"  - {REFUSALS[name]['field']}: " in err, err
        return
    assert code == 0, err
    documents: list[dict[str, Any]] = [d for d in yaml.safe_load_all(out) if d]
    assert documents
    for document in documents:
        if document["apiVersion"].startswith(API_GROUP):
            assert apiserver.errors(document) == [], document["metadata"]
        else:
            validate(document)
    if mode == "k8s":
        assert ("Windows inferred from" in err) == (name in WINDOWS_INFERRED), err


@needs_corpus
def test_a_role_name_converts_with_the_account_id_ecs_would_complete_it_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = "awsdocs-fluentbit-windows.json"
    code = cli.main(["convert", str(CORPUS / name), "--to", "k8s", "--account-id", "123456789012"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "arn:aws:iam::123456789012:role/task-iam-role" in out
