"""Fixtures of the unit tests: botocore's ECS examples, the example manifests, an offline
stand-in for the API server's CRD validation, and the operator's store for the handler helpers
that read it.

``OfflineApiServer`` checks a custom resource against our generated CRD schema the way
kube-apiserver does (OpenAPI value validation, list-map keys, unknown fields as with field
validation Strict, and the CEL rules, evaluated with cel-python) and words its errors as the
API server does. It is an approximation: the integration tests apply the same manifests to a
real kube-apiserver, which also checks CEL cost and compiles the rules with Kubernetes' own
CEL libraries.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import celpy
import pytest
import re2
import yaml

from ecs_operator.crdgen import all_crds
from ecs_operator.handlers.indexes import INDEXES, PROJECTIONS
from ecs_operator.kube.store import Store

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "tests/integration/manifests"
EXAMPLES_FILE = Path(botocore.__file__).parent / "data/ecs/2014-11-13/examples-1.json"

Json = Any
#: Schema errors after which kube-apiserver skips the CEL rules, and what it says then.
_BLOCKING = (
    "Unsupported value",
    "Required value",
    "Too long",
    "Too many",
    "must be of type",
    "unknown field",
)
_NOT_CHECKED = (
    "<nil>: Invalid value: null: some validation rules were not checked because the object was "
    "invalid; correct the existing errors to complete validation"
)
_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def json_type(value: Json) -> str:
    """The JSON type name of a value, as the API server's messages name it."""
    if isinstance(value, bool):
        return "boolean"
    for name, kind in _JSON_TYPES.items():
        if name != "number" and isinstance(value, kind):
            return name
    return "number" if isinstance(value, float) else "null"


def _has_type(value: Json, schema: dict[str, Any]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return json_type(value) in ("integer", "string")
    expected = schema["type"]
    return json_type(value) == expected or (expected == "number" and json_type(value) == "integer")


class OfflineApiServer:
    """Validates custom resources against the CRDs of ``all_crds()``; see the module doc."""

    def __init__(self, crds: list[dict[str, Any]]) -> None:
        self.schemas = {
            crd["spec"]["names"]["kind"]: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            for crd in crds
        }
        self.cel = celpy.Environment()
        self._programs: dict[str, celpy.Runner] = {}

    def program(self, rule: str) -> celpy.Runner:
        """The compiled CEL rule (compiling checks its syntax)."""
        if rule not in self._programs:
            self._programs[rule] = self.cel.program(self.cel.compile(rule))
        return self._programs[rule]

    def errors(self, manifest: dict[str, Any]) -> list[str]:
        """The API server's complaints about ``manifest``'s spec (empty when it is accepted).

        As kube-apiserver does, the CEL rules run only when the schema check found no
        "blocking" error (a wrong type, a missing member, an unsupported value, too long or too
        many), since the rules assume a well-formed object.
        """
        spec, schema = manifest.get("spec"), self.schemas[manifest["kind"]]["properties"]["spec"]
        errors = self._walk(spec, schema, "spec", cel=False)
        if any(blocking in e for e in errors for blocking in _BLOCKING):
            return [*errors, _NOT_CHECKED]
        return errors + self._walk(spec, schema, "spec", cel=True)

    def _walk(self, value: Json, schema: dict[str, Any], path: str, cel: bool) -> list[str]:
        """Schema errors (``cel=False``) or CEL rule failures (``cel=True``) below ``path``."""
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return []
        if not _has_type(value, schema):
            kind, expected = json_type(value), schema.get("type", "integer,string")
            return [
                f'{path}: Invalid value: "{kind}": {path} in body must be of type {expected}: '
                f'"{kind}"'
            ]
        errors = (
            self._cel_errors(value, schema, path) if cel else _value_errors(value, schema, path)
        )
        if isinstance(value, dict):
            errors += self._object_errors(value, schema, path, cel)
        if isinstance(value, list):
            errors += self._list_errors(value, schema, path, cel)
        return errors

    def _object_errors(
        self, value: dict[str, Json], schema: dict[str, Any], path: str, cel: bool
    ) -> list[str]:
        required = [] if cel else schema.get("required", [])
        errors = [f"{path}.{name}: Required value" for name in required if name not in value]
        properties = schema.get("properties", {})
        values_schema = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                errors += self._walk(item, properties[key], f"{path}.{key}", cel)
            elif values_schema is not None:
                errors += self._walk(item, values_schema, f"{path}[{key}]", cel)
            elif not cel:
                errors.append(f'unknown field "{path}.{key}"')
        return errors

    def _list_errors(
        self, value: list[Json], schema: dict[str, Any], path: str, cel: bool
    ) -> list[str]:
        errors = []
        for index, item in enumerate(value):
            errors += self._walk(item, schema["items"], f"{path}[{index}]", cel)
        if cel or schema.get("x-kubernetes-list-type") != "map":
            return errors
        keys, seen = schema["x-kubernetes-list-map-keys"], set()
        for index, item in enumerate(value):
            key = json.dumps({k: item.get(k) for k in keys}, separators=(",", ":"))
            if key in seen:
                errors.append(f"{path}[{index}]: Duplicate value: {key}")
            seen.add(key)
        return errors

    def _cel_errors(self, value: Json, schema: dict[str, Any], path: str) -> list[str]:
        errors = []
        for validation in schema.get("x-kubernetes-validations", []):
            activation = {"self": celpy.json_to_cel(value)}
            result = self.program(validation["rule"]).evaluate(activation)
            if not isinstance(result, celpy.celtypes.BoolType):
                raise AssertionError(f"{path}: CEL {validation['rule']!r} gave {result!r}")
            if not result:
                where = path + validation.get("fieldPath", "")
                errors.append(f"{where}: Invalid value: {self._message(validation, activation)}")
        return errors

    def _message(self, validation: dict[str, Any], activation: dict[str, Any]) -> str:
        """The refusal's words: its ``messageExpression``'s value, else its ``message``."""
        expression = validation.get("messageExpression")
        if expression is None:
            return str(validation["message"])
        return str(self.program(expression).evaluate(activation))


def _value_errors(value: Json, schema: dict[str, Any], path: str) -> list[str]:
    """Enum, bounds, lengths and pattern, worded as kube-apiserver words them."""
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(
            f"{path}: Unsupported value: {json.dumps(value)}: supported values: {supported}"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        errors += _bound_errors(value, schema, path)
    if isinstance(value, str):
        errors += _string_errors(value, schema, path)
    if isinstance(value, list) and len(value) > schema.get("maxItems", len(value)):
        most = schema["maxItems"]
        errors.append(f"{path}: Too many: {len(value)}: must have at most {most} {_items(most)}")
    if isinstance(value, list) and len(value) < schema.get("minItems", 0):
        errors.append(
            f"{path}: Invalid value: {len(value)}: {path} in body should have at least "
            f"{schema['minItems']} items"
        )
    return errors


def _items(count: int) -> str:
    return "item" if count == 1 else "items"


def _bound_errors(value: float, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if "minimum" in schema:
        strict = schema.get("exclusiveMinimum", False)
        if value < schema["minimum"] or (strict and value == schema["minimum"]):
            than = "greater than" if strict else "greater than or equal to"
            errors.append(
                f"{path}: Invalid value: {value}: {path} in body should be {than} "
                f"{schema['minimum']}"
            )
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(
            f"{path}: Invalid value: {value}: {path} in body should be less than or "
            f"equal to {schema['maximum']}"
        )
    return errors


def _string_errors(value: str, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if len(value) > schema.get("maxLength", len(value)):
        errors.append(f"{path}: Too long: may not be more than {schema['maxLength']} bytes")
    if len(value) < schema.get("minLength", 0):
        errors.append(
            f'{path}: Invalid value: "{value}": {path} in body should be at least '
            f"{schema['minLength']} chars long"
        )
    if "pattern" in schema and not re2.search(schema["pattern"], value):
        errors.append(
            f"{path}: Invalid value: \"{value}\": {path} in body should match '{schema['pattern']}'"
        )
    return errors


@pytest.fixture(scope="session")
def apiserver() -> OfflineApiServer:
    """The offline API server, loaded with the generated CRDs."""
    return OfflineApiServer(all_crds())


@pytest.fixture(scope="session")
def botocore_examples() -> dict[str, list[dict[str, Any]]]:
    """botocore's ECS examples-1.json: operation -> examples (each with id, input, output)."""
    examples: dict[str, list[dict[str, Any]]] = json.loads(EXAMPLES_FILE.read_text())["examples"]
    return examples


@dataclass(frozen=True)
class Manifest:
    """An example manifest under tests/integration/manifests, with its header comments."""

    path: Path
    body: dict[str, Any]
    expect: str | None

    @classmethod
    def load(cls, path: Path) -> Manifest:
        text = path.read_text()
        expect = re.search(r"^# expect: (.+)$", text, re.MULTILINE)
        return cls(path, yaml.safe_load(text), expect.group(1).strip() if expect else None)


def manifests(kind: str) -> list[Manifest]:
    """The manifests of ``valid`` or ``invalid``, sorted by file name."""
    return [Manifest.load(p) for p in sorted((MANIFESTS / kind).glob("*.yaml"))]


@pytest.fixture(scope="session")
def invalid_manifests() -> list[Manifest]:
    """Every manifest under tests/integration/manifests/invalid."""
    return manifests("invalid")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test taking ``valid_manifest`` / ``invalid_manifest`` once per such file."""
    for kind in ("valid", "invalid"):
        argument = f"{kind}_manifest"
        if argument in metafunc.fixturenames:
            found = manifests(kind)
            ids = [os.path.splitext(m.path.name)[0] for m in found]
            metafunc.parametrize(argument, found, ids=ids)


@pytest.fixture
def store() -> Store:
    """The operator's store, with its indexes (for the handler helpers that read it)."""
    return Store(INDEXES, PROJECTIONS)
