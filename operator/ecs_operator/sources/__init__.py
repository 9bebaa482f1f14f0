"""What ``ecs-operator convert`` reads: the forms users keep their ECS objects in, each turned
into plain ECS requests (``Item``) before convert validates and renders them.

A form is recognised by its shape, never by a file name: a JSON list of objects, ``aws ecs
describe-services`` / ``describe-clusters`` output (``described.py``), or one object (a task
definition, a service, a run-task request, a create-cluster request, or their ``describe-*``
forms). Each item carries where it was found (a path convert prefixes to every error) and the
notes of what was changed on the way in (stripped read-only members).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..api.errors import Violation
from . import described

Kind = Literal["TaskDefinition", "Service", "Task", "Cluster"]


@dataclass(slots=True)
class Item:
    """One ECS request found in the input: where, its JSON, its kind when the form says it
    (``None``: recognised from its members), and what was done to it on the way in."""

    where: str
    body: Any
    kind: Kind | None = None
    notes: list[str] = field(default_factory=list)


def _at(where: str, inner: str) -> str:
    return Violation(inner, "").under(where).path


def items(data: Any) -> list[Item]:
    """The ECS requests in ``data`` (one object or a list), describe-* output unwrapped."""
    entries = list(enumerate(data)) if isinstance(data, list) else [(None, data)]
    found: list[Item] = []
    for k, entry in entries:
        where = "" if k is None else f"[{k}]"
        wrapped = described.unwrap(entry)
        if wrapped is None:
            body, kind, notes = described.strip(entry)
            found.append(Item(where, body, kind, notes))
            continue
        for inner, body, kind, notes in wrapped:
            found.append(Item(_at(where, inner), body, kind, notes))
    return found
