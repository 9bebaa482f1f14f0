"""Task (RunTask): ``count`` Pods that run once, with ECS's task lifecycle in the status.

Pods get fixed names (``<task>-<i>``), so a restart of the operator at any point never starts
a task twice. ECS semantics on top of Kubernetes': when an essential container exits, the
whole task stops (the operator ends the pod); ``desiredStatus: STOPPED`` stops it (StopTask).
A stopped task's record stays in the status; its pod is removed after the retention period.

A pod name taken by a pod the Task did not create (or a task-role account that is not the
operator's) is a ``NameConflict``: that pod is left alone, never counted, stopped or deleted as
the task's, and the task starts once the name is free.
"""

from __future__ import annotations

import json
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import TaskSpec
from ecs_operator.api.parse import parse_task, parse_task_definition
from ecs_operator.kube.apply import NameConflict
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.owners import age, child_of, controlled_by
from ecs_operator.kube.resources import ECS_TASK, POD
from ecs_operator.metrics import TASKS
from ecs_operator.render import keys
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.render.task import RenderedTask, render_task
from ecs_operator.status.conditions import merge, override
from ecs_operator.status.task import TaskState, start_refused, task_conditions, task_state

from . import identities, prepare, tenancy
from .common import report_conflicts, report_findings, write_status
from .context import Context
from .prepare import Prepared
from .queue import CONFLICT, OK, Key, Kind, Outcome, Result
from .references import Unresolved

SIMULATION_PREFIX = "sim.ecs-operator.dev/"


def pod_name(task: str, index: int) -> str:
    """The fixed name of a task's ``index``-th pod (a hash keeps long names valid)."""
    return dns_label(f"{task}-{index}", 253)


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    """Read, render, start or stop pods, report."""
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
        rendered = _render(ready)
    except EcsValidationError as error:  # e.g. an override naming no container
        return await prepare.invalid(ctx, ECS_TASK, body, error)
    account, template = rendered.pod.service_account, rendered.pods[0]
    findings = [*rendered.pod.findings, *rendered.findings]
    ids = [pod_name(name, index) for index in range(spec.count or 1)]
    pods, conflicts = _own_pods(ctx, body, ids)
    taken = {conflict.name for conflict in conflicts}
    starting = (
        [] if stop else [t for t in ids if pods[t] is None and t not in records and t not in taken]
    )
    if starting:  # tasks already started run on, whatever the policy says now
        try:
            tenancy.check(tenancy.policy_for(ctx, namespace), namespace, account, findings)
        except Unresolved as problem:
            return await prepare.unresolved(ctx, ECS_TASK, body, problem, Result.REFUSED)
        try:
            await identities.ensure(ctx, account, namespace)
        except NameConflict as conflict:
            conflicts.append(conflict)
            starting = []
    annotations = template["metadata"].get("annotations") or {}
    essential = set(json.loads(annotations.get(keys.ANNOTATION_ESSENTIAL, "[]")))
    states = []
    for task_id, pod in pods.items():
        record = records.get(task_id)
        if task_id in starting:
            try:
                pod, record = await _start(ctx, body, template, task_id)
            except NameConflict as conflict:
                conflicts.append(conflict)
        if pod is None and record is None and not stop:
            continue  # not started: its name or its account is taken
        state = _state(pod, record, essential, stop)
        if (pod is not None and state.stopped) or stop:
            await _stop_pod(ctx, pod)
        states.append(state.to_ecs(task_id) | _timestamps(record, state))
    reported = await report_findings(ctx, body, findings)
    ref = ready.task_definition.ref
    outcome = await _finish(ctx, body, states, previous, ref, reported, conflicts)
    return CONFLICT if conflicts else outcome


def _render(ready: Prepared[TaskSpec]) -> RenderedTask:
    """The task's ServiceAccount and pod template, rendered from its spec and task definition
    revision (pure; :class:`EcsValidationError` when the two do not fit). A task runs on the
    first provider of its strategy."""
    spec, strategy = ready.read.spec, ready.strategy
    run = spec.model_copy(update={"capacityProviderStrategy": strategy[:1]} if strategy else {})
    td = parse_task_definition(ready.task_definition.spec)
    return render_task(run, td, ready.options, revision=ready.task_definition.revision)


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


def _state(
    pod: dict[str, Any] | None, record: dict[str, Any] | None, essential: set[str], stop: bool
) -> TaskState:
    if pod is None and record is not None:
        # The pod is gone (stopped and cleaned up, or deleted): the record is the truth.
        if record["lastStatus"] == "STOPPED":
            return TaskState(
                "STOPPED",
                "STOPPED",
                record.get("containers", []),
                record.get("stopCode"),
                record.get("stoppedReason"),
            )
        return task_state(None, essential, True)
    return task_state(pod, essential, stop)


async def _start(
    ctx: Context, owner: dict[str, Any], template: dict[str, Any], name: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Create the task's pod: the pod, or the record of a task that failed to start because the
    API server refused its pod (Pod Security admission refusing a privileged task...)."""
    metadata = {k: v for k, v in template["metadata"].items() if k != "generateName"}
    metadata["name"] = name
    metadata["labels"] = {**metadata.get("labels", {}), keys.LABEL_TASK: label_value(name)}
    simulation = {
        k: v
        for k, v in (owner["metadata"].get("annotations") or {}).items()
        if k.startswith(SIMULATION_PREFIX)
    }
    metadata["annotations"] = {**metadata.get("annotations", {}), **simulation}
    pod = child_of({**template, "metadata": metadata}, owner)
    uid = owner["metadata"]["uid"]
    try:
        created = await ctx.writer.claim_name(pod, lambda found: controlled_by(found, uid))
    except ApiError as error:
        refused = start_refused(error.status, error.message)
        if refused is None:
            raise
        return None, refused.to_ecs(name)
    return created, None


async def _stop_pod(ctx: Context, pod: dict[str, Any] | None) -> None:
    """End a pod whose task stopped (essential exit, StopTask), or that outlived retention."""
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return
    retention = ctx.settings.task_retention_seconds
    finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    if finished and age(pod, ctx.clock()) < retention:
        key = Key(Kind.TASK, pod["metadata"]["namespace"], _owner_name(pod))
        ctx.queue.add(key, after=retention)
        return
    await ctx.writer.delete_ours(POD, pod)  # refused: the name is another pod's by now


def _owner_name(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["ownerReferences"][0]["name"])


def _timestamps(record: dict[str, Any] | None, state: TaskState) -> dict[str, Any]:
    from ecs_operator.status.conditions import now

    stamps = {
        k: v for k, v in (record or {}).items() if k in ("createdAt", "startedAt", "stoppedAt")
    }
    stamps.setdefault("createdAt", now())
    if state.last_status == "RUNNING":
        stamps.setdefault("startedAt", now())
    if state.stopped:
        stamps.setdefault("stoppedAt", now())
    return stamps


def _overall(states: list[dict[str, Any]], stop: bool, waiting: bool) -> tuple[str, str]:
    """The whole task's last and desired status; ``waiting``: some pod of it is not started
    yet (its name is taken), so it is still PROVISIONING."""
    if waiting and not stop:
        states = [*states, {"lastStatus": "PROVISIONING", "desiredStatus": "RUNNING"}]
    order = ["PROVISIONING", "PENDING", "RUNNING", "DEPROVISIONING", "STOPPED"]
    if not states:
        return "STOPPED", "STOPPED"
    last = min((s["lastStatus"] for s in states), key=order.index)
    desired = (
        "STOPPED" if stop or all(s["desiredStatus"] == "STOPPED" for s in states) else "RUNNING"
    )
    return last, desired


async def _finish(
    ctx: Context,
    body: dict[str, Any],
    states: list[dict[str, Any]],
    previous: dict[str, Any],
    ref: str | None = None,
    extra: dict[str, Any] | None = None,
    conflicts: list[NameConflict] | None = None,
) -> Outcome:
    stop = (body.get("spec") or {}).get("desiredStatus") == "STOPPED"
    last, desired = _overall(states, stop, bool(conflicts))
    for state in states:
        before: dict[str, Any] = next(
            (t for t in previous.get("tasks") or [] if t["taskId"] == state["taskId"]), {}
        )
        if state["lastStatus"] == "STOPPED" and before.get("lastStatus") != "STOPPED":
            ctx.events.record(
                body,
                "TaskStopped",
                f"task {state['taskId']} stopped: "
                f"{state.get('stopCode', '')} {state.get('stoppedReason', '')}".strip(),
                warning=state.get("stopCode") != "EssentialContainerExited"
                or any(c.get("exitCode") not in (0, None) for c in state.get("containers", [])),
            )
    generation = body["metadata"].get("generation")
    conditions = task_conditions(last, states)
    if conflicts:
        conditions = override(conditions, report_conflicts(ctx, body, conflicts))
    conditions = merge(
        previous.get("conditions"),
        conditions,
        generation,
    )
    status = {
        **previous,
        "lastStatus": last,
        "desiredStatus": desired,
        "tasks": states,
        "conditions": conditions,
        "observedGeneration": generation,
    }
    if ref:
        status["taskDefinition"] = ref
    status.update(extra or {})
    await write_status(ctx, ECS_TASK, body, status)
    _count_tasks(ctx)
    return OK


def _count_tasks(ctx: Context) -> None:
    counts: dict[str, int] = {}
    for task in ctx.store.all(ECS_TASK):
        for state in (task.get("status") or {}).get("tasks") or []:
            counts[state["lastStatus"]] = counts.get(state["lastStatus"], 0) + 1
    for status in ("PROVISIONING", "PENDING", "RUNNING", "DEPROVISIONING", "STOPPED"):
        TASKS.labels(last_status=status).set(counts.get(status, 0))
