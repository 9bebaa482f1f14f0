"""A stopped task's record as the status keeps it, and as ECS describes it: the operator's own
member (the exit code that stopped the task) left out, and the words of records an earlier
version wrote read in ECS's (upgrades and rollbacks: docs/design/2026-12-05-task-records.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .containers import OUT_OF_MEMORY, PLAIN_EXITS
from .task import ESSENTIAL_EXIT_CODE, ESSENTIAL_EXITED, START_HELD, STOP_REASONS

#: how records written before ECS's exact words (and a rollback to such a version) said the
#: exit code that stopped a task: at the end of its stopped reason
_OLDER_EXIT = re.compile(r": \S+ exited with code (-?\d+)$")
#: the exit codes of a container killed, by SIGKILL or SIGTERM: the others' ends when the
#: essential one's stopped a task
KILLED = (137, 143)


def ecs_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A task's record as ECS describes the task: without the operator's own members, and in
    ECS's words where an earlier version wrote its own (the exit code after the stopped reason,
    the kubelet's reason of a plain exit)."""
    shown = {k: v for k, v in record.items() if k not in (ESSENTIAL_EXIT_CODE, START_HELD)}
    if shown.get("stopCode") == ESSENTIAL_EXITED:
        shown["stoppedReason"] = STOP_REASONS[ESSENTIAL_EXITED]
    if "containers" in shown:
        shown["containers"] = [
            {k: v for k, v in c.items() if not (k == "reason" and v in PLAIN_EXITS)}
            for c in shown["containers"]
        ]
    return shown


def essential_exit_code(record: Mapping[str, Any]) -> int:
    """The exit code that stopped a task its essential container stopped, from its record:
    the member this version keeps, else the end of the stopped reason an earlier one wrote,
    else (a record an earlier version rewrote without either: a rollback) the first exit of
    its containers that is not a kill, or an OOM kill's."""
    if ESSENTIAL_EXIT_CODE in record:
        return int(record[ESSENTIAL_EXIT_CODE])
    older = _OLDER_EXIT.search(str(record.get("stoppedReason") or ""))
    if older:
        return int(older[1])
    for container in record.get("containers") or []:
        code = container.get("exitCode")
        if code and (code not in KILLED or container.get("reason") == OUT_OF_MEMORY):
            return int(code)
    return 0
