"""How large a task definition may be: 64 KiB of JSON, as ECS enforces.

RegisterTaskDefinition refuses a task definition whose JSON is over 64 KiB [memory: Amazon ECS
service quotas, "Task definition size", 64 KiB, not adjustable]. The API server has no way to
measure a whole object (CEL has no JSON-size function, and the schema's per-field bounds add up
to far more), so the operator measures it, before anything else: a spec over the limit is
refused without being parsed, and the store keeps no more of it than its size
(``handlers/indexes.py``). Measured as ECS receives a request: the spec as the user wrote it,
as compact JSON (no spaces), in UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import Violation

TASK_DEFINITION_MAX_BYTES = 64 * 1024


def json_bytes(value: Any) -> bytes:
    """``value`` as compact JSON in UTF-8: what the size limit measures."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def too_large(size: int) -> str:
    """The message for a task definition of ``size`` bytes over the limit."""
    return (
        f"the task definition is {size} bytes of JSON; ECS allows at most "
        f"{TASK_DEFINITION_MAX_BYTES} (64 KiB) per task definition"
    )


def task_definition_size(size: int) -> list[Violation]:
    """The violation of a task definition of ``size`` bytes of JSON, if it is one."""
    return [Violation("", too_large(size))] if size > TASK_DEFINITION_MAX_BYTES else []


#: the most JSON a Service, Task or Cluster spec may have. ECS documents no size for those
#: requests (real ones are a few KiB); without a bound, the schema's per-field bounds would let
#: one tenant's Services take the operator's memory (each held for the life of the process) past
#: its limit, so the task definition's 64 KiB applies to them too.
OBJECT_MAX_BYTES = TASK_DEFINITION_MAX_BYTES


def object_size(size: int, kind: str) -> list[Violation]:
    """The violation of a ``kind`` spec of ``size`` bytes of JSON, if it is one."""
    if kind == "TaskDefinition":
        return task_definition_size(size)
    if size <= OBJECT_MAX_BYTES:
        return []
    return [
        Violation(
            "",
            f"the {kind} is {size} bytes of JSON; ecs-operator allows at most "
            f"{OBJECT_MAX_BYTES} (64 KiB, ECS's task definition limit) per ECS object",
        )
    ]
