"""ScheduledTask (EventBridge Scheduler's CreateSchedule with an ECS target): each firing
creates a Task, so every run has ECS status, ``startedBy`` and a place in ``list-tasks``.

The reconcile decides from the clock (``ctx.clock``) and the status's last firing
(plan/scheduledtask.py), creates the owed firing's Task under a name fixed by the firing's time
(a restart before the status write finds it there, never a second one), trims the oldest
stopped Tasks past the history limit, reports the last and next firing, and comes back at the
next firing (or at the queue's slowest pace, whichever is sooner). A firing's Task that has
started nothing by the next firing is stopped: a firing never runs late. Tasks are owned by
their schedule: deleting it deletes them (garbage collector).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ScheduledTaskSpec, timestamp
from ecs_operator.api.parse import parse_scheduled_task
from ecs_operator.kube.apply import NameConflict, Unwritten, WriteRefused, refusals_reported
from ecs_operator.kube.owners import child_of, controlled_by
from ecs_operator.kube.resources import ECS_TASK, SCHEDULED_TASK
from ecs_operator.plan.scheduledtask import (
    DEFAULT_HISTORY_LIMIT,
    plan,
    task_manifest,
    to_trim,
)
from ecs_operator.plan.task import SIMULATION_PREFIX
from ecs_operator.status.conditions import condition, merge, override, rfc3339

from . import prepare
from .common import report_unwritten, unwritten_outcome, write_status
from .context import Context
from .indexes import ecs_spec
from .queue import OK, Outcome

#: a reconcile wakes this long after a firing's instant, so that it finds it due
WAKE_MARGIN = 0.5


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    """Fire what is owed, trim the history, report, and wake at the next firing."""
    body = ctx.store.get(SCHEDULED_TASK, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return OK
    try:
        spec = parse_scheduled_task(ecs_spec(body, SCHEDULED_TASK.kind), name)
    except EcsValidationError as error:
        return await prepare.invalid(ctx, SCHEDULED_TASK, body, error)
    previous = body.get("status") or {}
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    enabled_since = _enabled_since(spec, previous, now)
    decided = plan(
        spec,
        timestamp(body["metadata"]["creationTimestamp"]),
        now,
        _time(previous.get("lastFiringTime")),
        _time(enabled_since),
    )
    # members that may go: a merge patch removes one only when told to (None)
    status: dict[str, Any] = {
        **previous,
        **{k: None for k in ("nextFiringTime", "enabledSince") if k in previous},
    }
    unwritten: list[Unwritten] = []
    if decided.due is not None:
        try:
            task = await _fire(ctx, body, spec, decided.due)
            status.update(lastFiringTime=rfc3339(decided.due), lastTaskName=task)
            await _give_up_unstarted(ctx, body, task)
        except (NameConflict, WriteRefused) as problem:  # the firing stays owed
            unwritten.append(problem)
    await _trim(ctx, body, spec)
    if decided.following is not None:
        status["nextFiringTime"] = rfc3339(decided.following)
    if enabled_since is not None:
        status["enabledSince"] = enabled_since
    generation = body["metadata"].get("generation")
    conditions = _conditions(spec, decided.following is not None)
    if unwritten:
        conditions = override(conditions, report_unwritten(ctx, body, unwritten))
    status.update(
        state=spec.state or "ENABLED",
        conditions=merge(previous.get("conditions"), conditions, generation),
        observedGeneration=generation,
    )
    await write_status(ctx, SCHEDULED_TASK, body, status)
    held_back = unwritten_outcome(unwritten)
    if held_back is not None:
        return held_back
    if decided.following is None:
        return OK
    wait = (decided.following - now).total_seconds() + WAKE_MARGIN
    return Outcome(retry=True, after=max(wait, WAKE_MARGIN))


def _time(text: str | None) -> datetime | None:
    return None if text is None else timestamp(text)


def _enabled_since(spec: ScheduledTaskSpec, previous: dict[str, Any], now: datetime) -> str | None:
    """When the schedule was enabled again after it was seen disabled: firings missed while
    it was disabled are not owed."""
    if spec.state == "DISABLED":
        return None
    if previous.get("state") == "DISABLED":
        return rfc3339(now)
    since = previous.get("enabledSince")
    return str(since) if since else None


async def _fire(
    ctx: Context, body: dict[str, Any], spec: ScheduledTaskSpec, firing: datetime
) -> str:
    """Create the firing's Task (or find it, created before a restart); its name."""
    task = child_of(task_manifest(body["metadata"]["name"], spec, firing), body)
    simulation = {
        k: v
        for k, v in (body["metadata"].get("annotations") or {}).items()
        if k.startswith(SIMULATION_PREFIX)
    }
    task["metadata"]["annotations"] = {**task["metadata"]["annotations"], **simulation}
    uid = body["metadata"]["uid"]
    with refusals_reported(task):  # a quota of Tasks, the admin's RBAC: said on the schedule
        created = await ctx.writer.claim_name(task, lambda found: controlled_by(found, uid))
    task_name = str(created["metadata"]["name"])
    ctx.events.record(body, "Fired", f"firing at {rfc3339(firing)}: Task {task_name}")
    return task_name


async def _give_up_unstarted(ctx: Context, body: dict[str, Any], fired: str) -> None:
    """Stop (StopTask) each earlier firing's Task that has started nothing by this firing: its
    task definition missing, its override naming no container, its role refused. EventBridge
    Scheduler's RunTask fails such a firing, and it never runs later; kept waiting, every one
    of them started at once when the cause went, and none was ever trimmed (the history
    trims stopped Tasks only)."""
    for task in _fired_tasks(ctx, body):
        unstarted = not (task.get("status") or {}).get("tasks")
        stopping = (task.get("spec") or {}).get("desiredStatus") == "STOPPED"
        if task["metadata"]["name"] != fired and unstarted and not stopping:
            await ctx.writer.merge_patch(ECS_TASK, task, {"spec": {"desiredStatus": "STOPPED"}})


async def _trim(ctx: Context, body: dict[str, Any], spec: ScheduledTaskSpec) -> None:
    """Delete the stopped Tasks past the history limit (running ones finish first)."""
    limit = DEFAULT_HISTORY_LIMIT if spec.taskHistoryLimit is None else spec.taskHistoryLimit
    for task in to_trim(_fired_tasks(ctx, body), limit):
        await ctx.writer.delete_ours(ECS_TASK, task)


def _fired_tasks(ctx: Context, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The schedule's Tasks: those it controls, in its namespace (the store's owner index)."""
    uid = body["metadata"]["uid"]
    owned = ctx.store.owned(ECS_TASK, body["metadata"]["namespace"], uid)
    return [task for task in owned if controlled_by(task, uid)]


def _conditions(spec: ScheduledTaskSpec, scheduled: bool) -> list[dict[str, Any]]:
    if spec.state == "DISABLED":
        ready = condition("Ready", True, "Disabled", "state is DISABLED: no firings")
    elif scheduled:
        ready = condition("Ready", True, "Scheduled", "the next firing is in nextFiringTime")
    else:
        ready = condition("Ready", True, "Completed", "the schedule has no firing left")
    return [condition("Valid", True, "Valid"), ready]
