"""Task (RunTask): ``count`` Pods that run once, with ECS's task lifecycle in the status.

Pods get fixed names (``<task>-<i>``), so a restart of the operator at any point never starts
a task twice. ECS semantics on top of Kubernetes': when an essential container exits, the
whole task stops (the operator ends the pod); ``desiredStatus: STOPPED`` stops it (StopTask),
and the annotation ``ecs-operator.dev/stopped-tasks`` stops the tasks it names alone (StopTask
of one of several);
a container the kubelet keeps failing to start (an image that cannot be pulled) stops it with
``TaskFailedToStart`` rather than leaving it pending for good.
A stopped task's record stays in the status; its pod is removed after the retention period.

A pod name taken by a pod the Task did not create (or a task-role account that is not the
operator's) is a ``NameConflict``: that pod is left alone, never counted, stopped or deleted as
the task's, and the task starts once the name is free. An account whose write the API server
refuses (the admin's RBAC, a quota, an admission policy) is a ``WriteRefused``: no task starts,
and the Task is tried again at the backoff's pace.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.parse import parse_task
from ecs_operator.kube.apply import NameConflict, Unwritten, WriteRefused
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.owners import child_of, controlled_by
from ecs_operator.kube.resources import ECS_TASK, POD
from ecs_operator.metrics import TASKS
from ecs_operator.plan.task import TaskPlan, plan_task, to_start
from ecs_operator.render.keys import ANNOTATION_STOP_REASON, ANNOTATION_STOPPING_SINCE
from ecs_operator.status.conditions import now
from ecs_operator.status.containers import seconds_finished
from ecs_operator.status.start_failures import StartFailure, start_failure
from ecs_operator.status.task import (
    LIFECYCLE,
    START_HELD,
    current_state,
    start_refused,
    stopped_alone,
    task_state,
    timestamps,
)
from ecs_operator.status.task_status import stopped_events, task_status, unplaced

from . import identities, prepare
from .common import report_findings, report_unwritten, unwritten_outcome, write_status
from .context import Context
from .queue import OK, Key, Kind, Outcome, Result
from .references import Unresolved

#: a running task's pod is stopped by cutting its active deadline to this (the least allowed)
STOP_DEADLINE_SECONDS = 1
#: how long past its grace period a node may take to stop the pod before it is deleted
STOP_MARGIN_SECONDS = 15.0
#: how soon a pod whose retention is over is looked at again when its task's STOPPED record
#: is not written yet (this pass writes it; the operator's own status writes wake nothing)
RECORD_WAIT_SECONDS = 1.0
#: Kubernetes' grace period when a pod sets none
DEFAULT_GRACE_SECONDS = 30
#: the Warning Event of a task no node can take (status/task_status.unplaced)
PLACEMENT_FAILED = "PlacementFailed"
#: the Warning Event of a task whose pod the API server refused for now (a full quota)
TASK_START_HELD = "TaskStartHeld"


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    """Read, plan, start or stop pods, report."""
    found = await prepare.read(ctx, ECS_TASK, namespace, name, parse_task)
    if isinstance(found, Outcome):
        return found
    body, spec, previous = found.body, found.spec, found.previous
    stop = spec.desiredStatus == "STOPPED"
    records = {t["taskId"]: t for t in previous.get("tasks") or []}
    if stop and not records:
        return await _finish(ctx, body, [], previous)
    ready = await prepare.resolve(ctx, ECS_TASK, found)
    if isinstance(ready, Outcome):
        return ready
    try:
        plan = plan_task(spec, prepare.plan_context(ctx, ready))
    except EcsValidationError as error:  # e.g. an override naming no container
        return await prepare.invalid(ctx, ECS_TASK, body, error)
    planned = {pod["metadata"]["name"]: pod for pod in plan.pods}
    pods, conflicts = _own_pods(ctx, body, list(planned))
    taken = {conflict.name for conflict in conflicts}
    unwritten: list[Unwritten] = list(conflicts)
    alone = stopped_alone(body)  # StopTask of one task of several
    started = {t for t, record in records.items() if not record.get(START_HELD)}
    starting = to_start(planned, pods, started, taken | alone.keys(), stop)
    if starting:
        may = await _may_start(ctx, body, plan, unwritten)
        if isinstance(may, Outcome):
            return may
        starting = starting if may else []
    essential, at = plan.status_inputs.essential, now()
    unrecorded = [planned[t] for t in starting if t not in records]  # a held one is recorded
    if unrecorded:
        body = await _record_before_starting(ctx, body, unrecorded, essential, at)
        previous = body.get("status") or {}
        records = {t["taskId"]: t for t in previous.get("tasks") or []}
    reason = (body["metadata"].get("annotations") or {}).get(ANNOTATION_STOP_REASON)
    states: list[dict[str, Any]] = []
    held: dict[str, str] = {}
    for task_id, pod in pods.items():
        record = records.get(task_id)
        if task_id in starting:
            # a quota with no room for one pod has none for the next: one refused create a try
            why = next(iter(held.values()), None)
            try:
                if why is None:
                    pod, record = await _start(ctx, body, planned[task_id])
            except NameConflict as conflict:
                unwritten.append(conflict)
            except ApiError as error:  # a full quota: the others' records are written all the same
                why = error.message
            if why is not None:  # PROVISIONING, its record kept, tried again at the next pass
                held[task_id] = why
                record = {**(record or {}), START_HELD: why}
        stopping = stop or task_id in alone
        if pod is None and record is None and not stopping:
            continue  # not started: its name or its account is taken, or its pod was refused
        failure = _start_failure(ctx, body, pod)
        why = reason if stop else alone.get(task_id)
        state = current_state(pod, record, essential, stopping, why, failure)
        if (pod is not None and state.stopped) or stopping:
            await _stop_pod(ctx, pod, recorded=stopping or _recorded_stopped(record))
        states.append(state.to_ecs(task_id) | timestamps(record, state, at, pod))
    reported = await report_findings(ctx, body, list(plan.findings))
    ref = plan.status_inputs.task_definition
    waiting = unplaced(pods.values()) or _held_back(held) or None
    if waiting:
        ctx.events.record(
            body, TASK_START_HELD if held else PLACEMENT_FAILED, waiting, warning=True
        )
    outcome = await _finish(ctx, body, states, previous, ref, reported, unwritten, waiting)
    if held:  # tried again at the backoff's pace: nothing wakes it when the quota frees up
        return Outcome(Result.WAITING, retry=True)
    return unwritten_outcome(unwritten) or outcome


def _held_back(held: dict[str, str]) -> str:
    """Why tasks wait for the API server (a full quota): the first refusal, in its words."""
    if not held:
        return ""
    first, why = next(iter(held.items()))
    more = f"; {len(held) - 1} more of its tasks wait for room" if len(held) > 1 else ""
    return f"the API server refused task {first}'s pod: {why}{more}"


async def _may_start(
    ctx: Context, body: dict[str, Any], plan: TaskPlan, unwritten: list[Unwritten]
) -> Outcome | bool:
    """Whether this pass may start tasks. The tenancy policy's refusal ends the pass (the
    tasks already started run on, whatever the policy says now); a task-role account that
    cannot be written holds the starts back, said in ``unwritten``."""
    if plan.refusal is not None:
        problem = Unresolved(plan.refusal.reason, plan.refusal.message, retry=False)
        return await prepare.unresolved(ctx, ECS_TASK, body, problem, Result.REFUSED)
    [account] = plan.accounts
    try:
        await identities.ensure(ctx, account, body["metadata"]["namespace"])
    except (NameConflict, WriteRefused) as problem:
        unwritten.append(problem)
        return False
    return True


async def _record_before_starting(
    ctx: Context,
    body: dict[str, Any],
    pods: list[dict[str, Any]],
    essential: Collection[str],
    at: str,
) -> dict[str, Any]:
    """The tasks about to start recorded in the status before their pods are created (as
    planned: PROVISIONING); returns the body. A pod that goes before this pass's status write
    (the operator killed meanwhile, the pod evicted while it was away) is then a task that
    stopped, never one to start a second time."""
    previous = body.get("status") or {}
    records = [
        (state := task_state(pod, essential, False)).to_ecs(pod["metadata"]["name"])
        | timestamps(None, state, at, pod)
        for pod in pods
    ]
    tasks = [*(previous.get("tasks") or []), *records]
    return await write_status(ctx, ECS_TASK, body, {**previous, "tasks": tasks})


def _recorded_stopped(record: dict[str, Any] | None) -> bool:
    """Whether the written status already holds the task as STOPPED (``record``, its record
    there): only then may the pod of a task that stopped by itself go, or a failed status write
    would leave neither pod nor record of a task that ran, and the next pass would start it
    again (one being stopped is never started again)."""
    return record is not None and record.get("lastStatus") == "STOPPED"


def _own_pods(
    ctx: Context, body: dict[str, Any], ids: list[str]
) -> tuple[dict[str, dict[str, Any] | None], list[NameConflict]]:
    """The task's stored pods by id (None for those not there), and the ids whose name a pod
    the task did not create holds: that pod is none of the task's business."""
    store, uid = ctx.store, body["metadata"]["uid"]
    pods: dict[str, dict[str, Any] | None] = {}
    conflicts = []
    for task_id in ids:
        pod = store.get(POD, body["metadata"]["namespace"], task_id)
        if pod is not None and not controlled_by(pod, uid):
            conflicts.append(NameConflict(pod))
            pod = None
        pods[task_id] = pod
    return pods, conflicts


async def _start(
    ctx: Context, owner: dict[str, Any], planned: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Create the task's pod as planned: the pod, or the record of a task that failed to start
    because the API server refused its pod (Pod Security admission refusing a privileged
    task...)."""
    pod = child_of(planned, owner)
    uid = owner["metadata"]["uid"]
    try:
        created = await ctx.writer.claim_name(pod, lambda found: controlled_by(found, uid))
    except ApiError as error:
        refused = start_refused(error.status, error.message)
        if refused is None:
            raise
        return None, refused.to_ecs(pod["metadata"]["name"])
    return created, None


def _start_failure(
    ctx: Context, body: dict[str, Any], pod: dict[str, Any] | None
) -> StartFailure | None:
    """A container of ``pod`` the kubelet has failed to start for long enough to stop the
    task; while the grace period runs, the Task is woken at its end."""
    if pod is None:
        return None
    failure = start_failure(pod, ctx.clock(), ctx.settings.timers.start_failure_grace)
    if failure is None or failure.wait == 0:
        return failure
    metadata = body["metadata"]
    ctx.queue.add(Key(Kind.TASK, metadata["namespace"], metadata["name"]), after=failure.wait)
    return None


async def _stop_pod(ctx: Context, pod: dict[str, Any] | None, *, recorded: bool) -> None:
    """End a pod whose task stopped (essential exit, StopTask), or that outlived retention.

    A pod the kubelet runs is stopped, not deleted: its active deadline is cut to the least
    there is, so the kubelet stops its containers as the ECS agent does (SIGTERM, then SIGKILL
    after the pod's grace period, ECS's stopTimeout) and keeps the pod with their exit codes and
    logs, the task's record, until the retention ends. Deleting it lost both on a real node.
    Nor does it go before its task is ``recorded`` STOPPED in the written status."""
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return
    status = pod.get("status") or {}
    finished = status.get("phase") in ("Succeeded", "Failed")
    if not finished and status.get("startTime"):
        left = await _stop_by_deadline(ctx, pod)
        if left > 0:
            ctx.queue.add(
                Key(Kind.TASK, pod["metadata"]["namespace"], _owner_name(pod)), after=left
            )
            return
        # the node did not stop it within its grace period (a virtual kubelet may ignore the
        # deadline): deleted, as a last resort
    retention = ctx.settings.task_retention_seconds
    kept = retention - seconds_finished(pod, ctx.clock()) if finished else 0.0
    if kept > 0 or not recorded:  # counted from the task's stop: its logs stay readable
        key = Key(Kind.TASK, pod["metadata"]["namespace"], _owner_name(pod))
        ctx.queue.add(key, after=max(kept, RECORD_WAIT_SECONDS))
        return
    await ctx.writer.delete_ours(POD, pod)  # refused: the name is another pod's by now


async def _stop_by_deadline(ctx: Context, pod: dict[str, Any]) -> float:
    """Cut the pod's active deadline (once, noting when); the seconds its node has left to stop
    it: the pod's grace period and a margin (the kubelet syncs the pod first)."""
    annotations = pod["metadata"].get("annotations") or {}
    since = annotations.get(ANNOTATION_STOPPING_SINCE)
    now = ctx.clock()
    if since is None or (pod.get("spec") or {}).get("activeDeadlineSeconds") is None:
        patch = {
            "metadata": {
                "uid": pod["metadata"]["uid"],  # a precondition: this very pod
                "annotations": {ANNOTATION_STOPPING_SINCE: str(int(now))},
            },
            "spec": {"activeDeadlineSeconds": STOP_DEADLINE_SECONDS},
        }
        await ctx.writer.merge_patch(POD, pod, patch)
        since = str(int(now))
    grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    try:
        started = float(since)
    except ValueError:
        started = now
    return started + float(grace) + STOP_MARGIN_SECONDS - now


def _owner_name(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["ownerReferences"][0]["name"])


async def _finish(
    ctx: Context,
    body: dict[str, Any],
    states: list[dict[str, Any]],
    previous: dict[str, Any],
    ref: str | None = None,
    extra: dict[str, Any] | None = None,
    unwritten: Sequence[Unwritten] = (),
    waiting: str | None = None,
) -> Outcome:
    stop = (body.get("spec") or {}).get("desiredStatus") == "STOPPED"
    for event in stopped_events(states, previous):
        ctx.events.record(body, "TaskStopped", event.message, warning=event.warning)
    status = task_status(
        previous,
        states,
        body["metadata"].get("generation"),
        stop_requested=stop,
        task_definition=ref,
        problem=report_unwritten(ctx, body, unwritten) if unwritten else (),
        extra=extra,
        waiting=waiting,
    )
    await write_status(ctx, ECS_TASK, body, status)
    _count_tasks(ctx)
    return OK


def _count_tasks(ctx: Context) -> None:
    counts: dict[str, int] = {}
    for task in ctx.store.all(ECS_TASK):
        for state in (task.get("status") or {}).get("tasks") or []:
            counts[state["lastStatus"]] = counts.get(state["lastStatus"], 0) + 1
    for status in LIFECYCLE:
        TASKS.labels(last_status=status).set(counts.get(status, 0))
