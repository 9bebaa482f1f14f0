"""Golden files, Kompose style: tests/golden/<case>/input.json through `ecs-operator convert`
must give expected.yaml (stdout) and expected.stderr (findings and required objects).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/render`` and
review the diff. An ``args`` file holds the case's convert options (default ``--to k8s``).
Every Kubernetes object produced is validated against the Kubernetes OpenAPI schema.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from ecs_operator import API_GROUP, cli

from .helpers import validate

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.json").is_file())


def _check(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{path} differs: UPDATE_GOLDEN=1 to accept"


def test_enough_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = GOLDEN / case
    args_file = folder / "args"
    args = args_file.read_text().split() if args_file.exists() else ["--to", "k8s"]
    code = cli.main(["convert", str(folder / "input.json"), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    _check(folder / "expected.yaml", out)
    _check(folder / "expected.stderr", err)
    for document in yaml.safe_load_all(out):
        if not document["apiVersion"].startswith(API_GROUP):
            validate(document)
