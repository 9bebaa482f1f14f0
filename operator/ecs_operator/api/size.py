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
