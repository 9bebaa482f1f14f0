"""The example manifests as a corpus, sorted by who refuses them (and so where a user meets
the error):

- ``valid/``: accepted by the API server and by the operator.
- ``invalid/``: refused at ``kubectl apply`` by the CRD schema or its CEL rules. The unit tests
  check these offline as well (the stand-in API server of ``tests/unit/conftest.py``).
- ``invalid-kubernetes/``: refused at ``kubectl apply`` by Kubernetes' own rules outside the
  spec's schema (object names, the scale subresource's replicas path); their spec is valid.
- ``operator-invalid/``: accepted by the API server, refused by the operator: the rules a CRD
  can't express (docs/crds.md, "operator only") and references between objects. The operator
  reports them as status conditions naming the field and as a Warning Event.

Header comments say what to expect: ``# expect: <text>`` is part of the API server's error or
of the operator's condition message; ``# reason: <Reason>`` is the operator's Event reason
(default ``InvalidSpec``); ``# xfail: <why>`` marks a known gap, so the test that expects the
refusal is ``xfail(strict=True)`` and is noticed the day the gap is closed; ``# refused-by:
render`` says the spec parses and only rendering it with its task definition refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.kube import kubectl

from ecs_operator import API_GROUP

HERE = Path(__file__).resolve().parent
VALID = "valid"
INVALID = "invalid"
INVALID_KUBERNETES = "invalid-kubernetes"
OPERATOR_INVALID = "operator-invalid"
#: Every folder of manifests that something refuses.
REFUSED = (INVALID, INVALID_KUBERNETES, OPERATOR_INVALID)
DEFAULT_REASON = "InvalidSpec"


def known_gap(reason: str) -> pytest.MarkDecorator:
    """A test of behaviour that is missing (``reason`` says where): xfail, and strict, so that
    the day it passes is noticed."""
    return pytest.mark.xfail(strict=True, reason=reason)


def _header(text: str, key: str) -> str | None:
    found = re.search(rf"^# {key}: (.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else None


@dataclass(frozen=True)
class Manifest:
    """One manifest file: the object and what its header comments promise."""

    path: Path
    body: dict[str, Any]
    expect: str | None
    reason: str
    xfail: str | None
    refused_by_render: bool = False

    @classmethod
    def load(cls, path: Path) -> Manifest:
        text = path.read_text()
        return cls(
            path,
            yaml.safe_load(text),
            _header(text, "expect"),
            _header(text, "reason") or DEFAULT_REASON,
            _header(text, "xfail"),
            _header(text, "refused-by") == "render",
        )

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def param(self) -> Any:
        """A ``pytest.param`` with the file name as its id, xfail when the header says so."""
        marks = [known_gap(self.xfail)] if self.xfail else []
        return pytest.param(self, id=self.path.name, marks=marks)


def load(*folders: str) -> list[Manifest]:
    """The manifests of ``folders``, in folder order, each folder sorted by file name."""
    return [Manifest.load(p) for folder in folders for p in sorted((HERE / folder).glob("*.yaml"))]


def params(*folders: str) -> list[Any]:
    """The manifests of ``folders`` as test parameters (see :meth:`Manifest.param`)."""
    return [m.param() for m in load(*folders)]


@dataclass(frozen=True)
class Applied:
    """What ``kubectl apply`` said about one manifest."""

    accepted: bool
    output: str


def apply_all(manifests: list[Manifest], namespace: str) -> dict[Path, Applied]:
    """``kubectl apply`` every manifest in one go, and tell its output apart by file.

    kubectl carries on past a refused object and names the file in each error, and one process
    takes a second where one per file takes half a minute; an object is accepted when kubectl
    reports it created (or unchanged), refused when an error names its file.
    """
    files = [arg for m in manifests for arg in ("-f", str(m.path))]
    result = kubectl("apply", "-n", namespace, *files, check=False)
    errors = re.split(r"(?m)^(?=Error from server|error: )", result.stderr)
    done = result.stdout.splitlines()
    found = {}
    for manifest in manifests:
        refusal = "".join(e for e in errors if f'"{manifest.path}"' in e)
        prefix = f"{manifest.kind.lower()}.{API_GROUP}/{manifest.name} "
        line = next((d for d in done if d.startswith(prefix)), None)
        if refusal or line is None:
            found[manifest.path] = Applied(False, refusal or result.stderr)
        else:
            found[manifest.path] = Applied(True, line)
    return found
