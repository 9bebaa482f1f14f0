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
from ecs_operator.api.parse import parse_task, parse_task_definition
from ecs_operator.kube.apply import NameConflict, claim_name, delete_ours
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.owners import age, child_of, controlled_by
from ecs_operator.kube.resources import ECS_TASK, POD
from ecs_operator.metrics import TASKS
from ecs_operator.render import keys, request
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.render.task import render_task
from ecs_operator.status.conditions import merge, override
from ecs_operator.status.task import TaskState, start_refused, task_conditions, task_state

from . import clusters, identities, tenancy
from .common import (
    CONFLICT,
    report_conflicts,
    report_findings,
    report_invalid,
    report_unresolved,
    write_status,
)
from .indexes import ecs_spec
from .node_labels import node_labels
from .queue import OK, Outcome
from .references import Unresolved, resolve_task_definition
from .runtime import runtime

SIMULATION_PREFIX = "sim.ecs-operator.dev/"


def pod_name(task: str, index: int) -> str:
    """The fixed name of a task's ``index``-th pod (a hash keeps long names valid)."""
    return dns_label(f"{task}-{index}", 253)


async def reconcile(namespace: str, name: str) -> Outcome:
    rt = runtime()
    body = rt.store.get(ECS_TASK, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return OK
    try:
        spec = parse_task(ecs_spec(body, "Task"))
    except EcsValidationError as error:
        await report_invalid(ECS_TASK, body, error)
        return Outcome("invalid")
    previous = body.get("status") or {}
    stop = spec.desiredStatus == "STOPPED"
    records = {t["taskId"]: t for t in previous.get("tasks") or []}
    if stop and not records:
        return await _finish(body, [], previous)
    try:
        cluster = await clusters.resolve(namespace, spec.cluster)
        strategy = clusters.strategy_for(cluster, spec.launchType, spec.capacityProviderStrategy)
        resolved = resolve_task_definition(
            namespace, spec.taskDefinition, previous.get("taskDefinition")
        )
    except Unresolved as problem:
        await report_unresolved(ECS_TASK, body, problem)
        return Outcome("waiting", retry=problem.retry)
    run = spec.model_copy(update={"capacityProviderStrategy": strategy[:1]} if strategy else {})
    options = request.Options(
        namespace=namespace,
        cluster=clusters.name_of(cluster),
        capacity_providers=clusters.capacity_providers(cluster),
        pod_level_resources=rt.settings.pod_level_resources,
        account_id=rt.settings.account_id,
        node_labels=node_labels(ecs_spec(body, "Task"), resolved.spec),
    )
    try:
        td = parse_task_definition(resolved.spec)
        rendered = render_task(run, td, options, revision=resolved.revision)
    except EcsValidationError as error:  # e.g. an override naming no container
        await report_invalid(ECS_TASK, body, error)
        return Outcome("invalid")
    account, template = rendered.objects[0], rendered.objects[1]
    findings = [*rendered.pod.findings, *rendered.findings]
    annotations = template["metadata"].get("annotations") or {}
    essential = set(json.loads(annotations.get(keys.ANNOTATION_ESSENTIAL, "[]")))
    ids = [pod_name(name, index) for index in range(spec.count or 1)]
    pods, conflicts = _own_pods(body, ids)
    taken = {conflict.name for conflict in conflicts}
    starting = (
        [] if stop else [t for t in ids if pods[t] is None and t not in records and t not in taken]
    )
    if starting:  # tasks already started run on, whatever the policy says now
        try:
            tenancy.check(tenancy.policy_for(namespace), namespace, account, findings)
        except Unresolved as problem:
            await report_unresolved(ECS_TASK, body, problem)
            return Outcome("refused")
        try:
            await identities.ensure(account, namespace)
        except NameConflict as conflict:
            conflicts.append(conflict)
            starting = []
    states = []
    for task_id, pod in pods.items():
        record = records.get(task_id)
        if task_id in starting:
            try:
                pod, record = await _start(body, template, task_id)
            except NameConflict as conflict:
                conflicts.append(conflict)
        if pod is None and record is None and not stop:
            continue  # not started: its name or its account is taken
        state = _state(pod, record, essential, stop)
        if (pod is not None and state.stopped) or stop:
            await _stop_pod(pod, state)
        states.append(state.to_ecs(task_id) | _timestamps(record, state))
    found = await report_findings(body, findings)
    outcome = await _finish(body, states, previous, resolved.ref, found, conflicts)
    return CONFLICT if conflicts else outcome


def _own_pods(
    body: dict[str, Any], ids: list[str]
) -> tuple[dict[str, dict[str, Any] | None], list[NameConflict]]:
    """The task's stored pods by id (None for those not there), and the ids whose name a pod
    the task did not create holds: that pod is none of the task's business."""
    store, uid = runtime().store, body["metadata"]["uid"]
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
    owner: dict[str, Any], template: dict[str, Any], name: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Create the task's pod: the pod, or the record of a task that failed to start because the
    API server refused its pod (Pod Security admission refusing a privileged task...)."""
    rt = runtime()
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
        created = await claim_name(rt.client, pod, lambda found: controlled_by(found, uid))
    except ApiError as error:
        refused = start_refused(error.status, error.message)
        if refused is None:
            raise
        return None, refused.to_ecs(name)
    rt.store.put(POD, created)
    return created, None


async def _stop_pod(pod: dict[str, Any] | None, state: TaskState) -> None:
    """End a pod whose task stopped (essential exit, StopTask), or that outlived retention."""
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return
    rt = runtime()
    finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    if finished and age(pod) < rt.settings.task_retention_seconds:
        rt.queue.add(
            "Task",
            pod["metadata"]["namespace"],
            _owner_name(pod),
            after=rt.settings.task_retention_seconds,
        )
        return
    await delete_ours(rt.client, POD, pod)  # refused: the name is another pod's by now
    del state


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
    body: dict[str, Any],
    states: list[dict[str, Any]],
    previous: dict[str, Any],
    ref: str | None = None,
    extra: dict[str, Any] | None = None,
    conflicts: list[NameConflict] | None = None,
) -> Outcome:
    rt = runtime()
    stop = (body.get("spec") or {}).get("desiredStatus") == "STOPPED"
    last, desired = _overall(states, stop, bool(conflicts))
    for state in states:
        before: dict[str, Any] = next(
            (t for t in previous.get("tasks") or [] if t["taskId"] == state["taskId"]), {}
        )
        if state["lastStatus"] == "STOPPED" and before.get("lastStatus") != "STOPPED":
            rt.events.record(
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
        conditions = override(conditions, report_conflicts(body, conflicts))
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
    await write_status(ECS_TASK, body, status)
    _count_tasks()
    return OK


def _count_tasks() -> None:
    counts: dict[str, int] = {}
    for task in runtime().store.all(ECS_TASK):
        for state in (task.get("status") or {}).get("tasks") or []:
            counts[state["lastStatus"]] = counts.get(state["lastStatus"], 0) + 1
    for status in ("PROVISIONING", "PENDING", "RUNNING", "DEPROVISIONING", "STOPPED"):
        TASKS.labels(last_status=status).set(counts.get(status, 0))
