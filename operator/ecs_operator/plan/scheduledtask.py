"""A ScheduledTask's decisions, pure: which firing is owed now, when the next one is, the Task
a firing creates, and which old Tasks go.

Catch-up: a reconcile owes the latest firing in ``[not before, now]`` that it has not fired
yet, once, however many it missed (the operator was down, the schedule was disabled): after an
outage a schedule runs once, not once per missed firing, as a Kubernetes CronJob with
``concurrencyPolicy: Allow`` does and EventBridge's retry policy would not exceed. Firings
never go back before the object's creation (or startDate, or its last re-enabling), so a new
schedule never runs for times before it existed; a rate() schedule counts from startDate or
the creation's minute, so its first firing is at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ecs_operator import API_GROUP, API_VERSION
from ecs_operator.api.models import ScheduledTaskSpec, timestamp
from ecs_operator.api.schedule import At, last_at_or_before, next_after, parse, zone

from ..render import keys
from ..render.names import dns_label, label_value
from ..status.conditions import rfc3339

#: stopped Tasks a schedule keeps by default (taskHistoryLimit)
DEFAULT_HISTORY_LIMIT = 10


@dataclass(frozen=True)
class Plan:
    """What a reconcile at ``now`` does: fire ``due`` (None: nothing owed), and come back at
    ``following`` (None: the schedule is over, or disabled)."""

    due: datetime | None
    following: datetime | None


def plan(
    spec: ScheduledTaskSpec,
    created: datetime,
    now: datetime,
    last: datetime | None,
    enabled_since: datetime | None,
) -> Plan:
    """The firing owed at ``now`` and the next one. ``last``: the last firing made;
    ``enabled_since``: when the schedule was last enabled again after being disabled."""
    if spec.state == "DISABLED":
        return Plan(None, None)
    expression, tz = parse(spec.scheduleExpression), zone(spec.scheduleExpressionTimezone)
    # EventBridge Scheduler ignores StartDate and EndDate for one-time schedules
    dated = not isinstance(expression, At)
    start = timestamp(spec.startDate) if spec.startDate and dated else None
    end = timestamp(spec.endDate) if spec.endDate and dated else None
    anchor = start or created.replace(second=0, microsecond=0)
    floor = max(d for d in (anchor, created.replace(second=0, microsecond=0), enabled_since) if d)
    if last is not None:
        floor = max(floor, last + timedelta(seconds=1))
    due = last_at_or_before(expression, now, tz, anchor, floor)
    following = next_after(expression, max(now, floor - timedelta(seconds=1)), tz, anchor)
    if end is not None:
        due = due if due is not None and due <= end else None
        following = following if following is not None and following <= end else None
    return Plan(due, following)


def task_name(schedule: str, firing: datetime) -> str:
    """The Task of one firing: the schedule's name and the firing's UTC minute, so a firing
    made twice (a restart before the status was written) is one Task."""
    return dns_label(f"{schedule}-{firing.astimezone(UTC):%Y%m%d%H%M}", 253)


def task_manifest(schedule: str, spec: ScheduledTaskSpec, firing: datetime) -> dict[str, Any]:
    """The Task a firing creates (its owner reference is the caller's to add)."""
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "Task",
        "metadata": {
            "name": task_name(schedule, firing),
            "labels": {
                keys.LABEL_SCHEDULED_TASK: label_value(schedule),
                keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY,
            },
            "annotations": {keys.ANNOTATION_FIRING_TIME: rfc3339(firing)},
        },
        "spec": spec.run_task(schedule),
    }


def to_trim(tasks: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The schedule's Tasks to delete: the stopped ones older than the newest ``limit``
    stopped ones. A Task still running is never deleted (that would stop it)."""
    stopped = [t for t in tasks if (t.get("status") or {}).get("lastStatus") == "STOPPED"]
    stopped.sort(
        key=lambda t: (t["metadata"].get("annotations") or {}).get(keys.ANNOTATION_FIRING_TIME, "")
    )
    return stopped[: max(len(stopped) - limit, 0)]
