"""The rules of a Task (RunTask): the placement rules it shares with a Service, and the size of
its overrides."""

from __future__ import annotations

import json

from ..errors import Violation
from ..models import TaskSpec
from .common import Registry, Rule
from .placement import PLACEMENT_RULES
from .tags import TAG_RULES

_registry = Registry[TaskSpec]()
_registry.include(PLACEMENT_RULES)

OVERRIDES_SIZE = "overrides may be at most 8192 characters of JSON"


@_registry.rule()
def overrides_size(task: TaskSpec) -> list[Violation]:
    """ECS caps the size of a RunTask's overrides. [model doc] RunTaskRequest.overrides: "up to
    8192 characters" of JSON (7.12)."""
    if task.overrides is None:
        return []
    if len(json.dumps(task.overrides.to_ecs(), separators=(",", ":"))) <= 8192:
        return []
    return [Violation("overrides", OVERRIDES_SIZE)]


_registry.include(TAG_RULES)

TASK_RULES: tuple[Rule[TaskSpec], ...] = _registry.rules
