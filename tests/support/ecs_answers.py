"""Whether an answer of the ECS API is one ECS could send, by botocore's model of its output
shapes: every member the shape knows, of its type (timestamps as epoch-second numbers, as the
JSON protocol sends them), every enum value one of the shape's, every required member there.

botocore's own parser takes nearly anything, but the Go SDK that Terraform and the ECS
console's successors use does not: a string where a number belongs fails the whole call
("expected Timestamp to be a JSON Number"), and a status outside the enum falls through every
comparison its callers make. ``problems`` names each such place by its path in the answer.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from botocore.model import ServiceModel, Shape
from botocore.session import get_session


@cache
def _ecs() -> ServiceModel:
    return get_session().get_service_model("ecs")


def problems(operation: str, answer: Any) -> list[str]:
    """Where ``answer`` (the JSON an ``operation`` answered, decoded) strays from ECS's output
    shape for it; empty when it does not."""
    shape = _ecs().operation_model(operation).output_shape
    return _problems(shape, answer, operation) if shape is not None else []


def check(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """A botocore ``before-parse`` handler: fails the call whose answer (a 200) strays from
    ECS's output shape. ``client.meta.events.register("before-parse.ecs", check)`` checks
    every answer a client gets; appended to ``botocore.handlers.BUILTIN_HANDLERS`` before any
    client exists, every client's."""
    if response_dict["status_code"] != 200:
        return
    found = problems(operation_model.name, json.loads(response_dict["body"] or b"{}"))
    if found:
        raise AssertionError("the answer is not one ECS could send:\n" + "\n".join(found))


def _problems(shape: Shape, value: Any, path: str) -> list[str]:
    kind = shape.type_name
    if getattr(shape, "is_document_type", False):  # a Smithy document: any JSON value
        return []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a {shape.name} structure"]
        members = shape.members  # type: ignore[attr-defined]
        found = [
            f"{path}.{name}: not a member of {shape.name}" for name in value if name not in members
        ]
        found += [
            f"{path}.{name}: required by {shape.name}, missing"
            for name in shape.required_members  # type: ignore[attr-defined]
            if name not in value
        ]
        for name, item in value.items():
            if name in members:
                found += _problems(members[name], item, f"{path}.{name}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        member = shape.member  # type: ignore[attr-defined]
        return [p for i, item in enumerate(value) for p in _problems(member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a map"]
        entry = shape.value  # type: ignore[attr-defined]
        return [p for key, item in value.items() for p in _problems(entry, item, f"{path}.{key}")]
    return _scalar_problems(shape, value, path)


def _scalar_problems(shape: Shape, value: Any, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a string"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} is not one of {shape.name}'s {shape.enum}"]
        return []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if kind in ("double", "float", "timestamp"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number ({kind})"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    return []
