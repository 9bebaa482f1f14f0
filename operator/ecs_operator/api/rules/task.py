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

#: What of a Task may change once it has started tasks: ECS has no update of a task, which runs
#: as the RunTask that started it, but StopTask (``desiredStatus``) and TagResource (``tags``).
#: The rest is fixed then, as a Job's pod template is: the API server refuses the change,
#: naming the member (``crdgen``), where the operator would otherwise leave the running tasks
#: as they are and say nothing. Before any task started (a Task refused as invalid, or waiting
#: for its task definition), the spec may still be corrected.
CHANGEABLE_ONCE_STARTED = frozenset({"desiredStatus", "tags"})
