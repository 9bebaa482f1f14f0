"""Service: keep one Deployment per capacity provider (REPLICA) or a DaemonSet (DAEMON), and the
objects attached to the service (Services, HorizontalPodAutoscaler, PodDisruptionBudget), in the
state the ECS service describes, and report back in ECS terms.

``taskDefinition: family`` follows the latest ACTIVE revision (a new revision rolls the
service: the GitOps-friendly reading); ``family:N`` pins it. A capacity provider strategy
splits the tasks as ECS does (base first, then by weight) over one workload per provider.
After the deployment circuit breaker rolled a deployment back, the last completed revision is
rendered until the spec changes (status/rollout.py decides which revision runs).

Every child is the Service's own (a controller reference to it) or left alone: a name already
taken by an object the operator did not create for this Service (an admin's Deployment, a
user's core Service, an account not marked as ours) is reported as a ``NameConflict``, and
what would depend on it does not run (no workload runs under another's ServiceAccount). A
child the API server refuses to write (the admin's RBAC, a quota, an admission policy) is
reported as ``WriteRefused``; the others are written all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceSpec
from ecs_operator.api.parse import parse_service
from ecs_operator.kube.apply import NameConflict, Unwritten, WriteRefused
from ecs_operator.kube.client import Resource
from ecs_operator.kube.owners import child_of, controlled_by
from ecs_operator.kube.resources import (
    DAEMON_SET,
    DEPLOYMENT,
    ECS_SERVICE,
    HORIZONTAL_POD_AUTOSCALER,
    KUBE_SERVICE,
    POD,
    POD_DISRUPTION_BUDGET,
    resource_of,
)
from ecs_operator.kube.store import matches
from ecs_operator.plan.service import (
    CAPACITY_MEMBERS,
    ServicePlan,
    plan_service,
    requested_rollout,
    scale_selector,
)
from ecs_operator.render import keys
from ecs_operator.status.cluster import cluster_name_of
from ecs_operator.status.conditions import merge, override
from ecs_operator.status.rollout import Rollout, running_task_definition
from ecs_operator.status.service import deleted, service_status, stopped_event
from ecs_operator.status.service_tasks import SERVICE_SCHEDULER, STOPPED_TASKS, with_stopped
from ecs_operator.status.workloads import task_summary

from . import daemon_failures, identities, prepare
from .common import (
    findings_condition,
    report_findings,
    report_unwritten,
    unwritten_outcome,
    write_status,
)
from .context import Context
from .indexes import SERVICE_PODS
from .prepare import Prepared
from .queue import OK, Key, Kind, Outcome, Result
from .references import Resolved, Unresolved, claim_service_name, resolve_task_definition

log = logging.getLogger("ecs_operator.service")

#: every kind of object a service owns and removes when it no longer renders it
OWNED = (DEPLOYMENT, DAEMON_SET, KUBE_SERVICE, HORIZONTAL_POD_AUTOSCALER, POD_DISRUPTION_BUDGET)


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    """Read, render, write (what differs), report."""
    found = await prepare.read(ctx, ECS_SERVICE, namespace, name, parse_service)
    if isinstance(found, Outcome):
        return found
    ready = await prepare.resolve(ctx, ECS_SERVICE, found, claim=claim_service_name)
    if isinstance(ready, Outcome):
        return ready
    raw_spec = found.body.get("spec") or {}
    rollout = requested_rollout(found.spec, raw_spec, ready.task_definition.ref)
    running = _running(ctx, namespace, found.previous, rollout, ready.task_definition)
    try:
        desired = plan_service(found.spec, prepare.plan_context(ctx, ready, running))
    except EcsValidationError as error:  # the service and its task definition do not fit
        return await prepare.invalid(ctx, ECS_SERVICE, found.body, error)
    if desired.refusal is not None:
        # what runs is left as it is: a refused deployment (or a revoked allowance) starts
        # nothing new, as ECS keeps the tasks of a deployment it could not replace
        problem = Unresolved(desired.refusal.reason, desired.refusal.message, retry=False)
        return await prepare.unresolved(ctx, ECS_SERVICE, found.body, problem, Result.REFUSED)
    workloads, unwritten = await _write(ctx, found.body, desired)
    status = await _report(ctx, ready, rollout, running, desired, workloads, unwritten)
    if (unwritten_later := unwritten_outcome(unwritten)) is not None:
        return unwritten_later
    if running_task_definition(status, rollout) != running.ref:
        # the circuit breaker just rolled back: render the revision it chose (a status
        # change of our own wakes nothing by itself)
        return Outcome(Result.ROLLBACK, retry=True, after=0.0)
    return OK


async def _write(
    ctx: Context, owner: dict[str, Any], desired: ServicePlan
) -> tuple[list[dict[str, Any]], list[Unwritten]]:
    """Make the service's children match ``desired`` and remove those it no longer renders;
    the workloads as they are now, and why any child is not written."""
    # the workloads and the objects attached to them are independent writes: one round trip
    (workloads, unwritten), *attached_unwritten = await asyncio.gather(
        _ensure_workloads(ctx, desired, owner),
        *(_ensure_attached(ctx, obj, owner) for obj in desired.attached),
    )
    unwritten += [problem for problem in attached_unwritten if problem is not None]
    keep = {(resource_of(o), o["metadata"]["name"]) for o in [*workloads, *desired.attached]}
    await _remove_stale(ctx, owner, keep)
    return workloads, unwritten


async def _report(
    ctx: Context,
    ready: Prepared[ServiceSpec],
    rollout: Rollout,
    running: Resolved,
    desired: ServicePlan,
    workloads: list[dict[str, Any]],
    unwritten: list[Unwritten],
) -> dict[str, Any]:
    """The service's status from its workloads and pods, written when it changed, with its ECS
    service events; returns the status."""
    spec, body, previous = ready.read.spec, ready.read.body, ready.read.previous
    key = Key(Kind.SERVICE, ready.options.namespace, body["metadata"]["name"])
    states = await daemon_failures.workload_states(ctx, key, workloads)
    if spec.schedulingStrategy == "DAEMON":
        replicas = sum(state.desired for state in states)
    else:
        replicas = sum(int(w["spec"].get("replicas", 0)) for w in workloads)
    pods = _pods(ctx, ready.options.namespace, desired.status_inputs.pod_selector)
    generation = body["metadata"].get("generation")
    tasks = task_summary(pods, running.ref, ctx.clock(), ctx.settings.timers.start_failure_grace)
    stops = ctx.stops.pending(key)
    tasks = replace(tasks, stopped=_scheduler_stopped(stops, previous))
    view = service_status(
        spec.serviceName,
        replicas,
        running.ref,
        states,
        previous,
        generation,
        rollout=rollout,
        tasks=tasks,
        service_uid=body["metadata"]["uid"],
        deleted=deleted(body),
    )
    reported = {
        **await report_findings(ctx, body, list(desired.findings)),
        **desired.status_inputs.capacity,
    }
    removed = _removed(previous, ("findings", *CAPACITY_MEMBERS), reported)
    conditions = [*view.status["conditions"], findings_condition(list(desired.findings))]
    if unwritten:
        conditions = override(conditions, report_unwritten(ctx, body, unwritten))
    status = {
        **view.status,
        **removed,
        **reported,
        "selector": scale_selector(workloads),
        "clusterArn": cluster_name_of(ready.cluster),
        "conditions": merge(previous.get("conditions"), conditions, generation),
    }
    if stops or STOPPED_TASKS in previous:
        status[STOPPED_TASKS] = with_stopped(previous.get(STOPPED_TASKS), stops)
    for message in view.events:
        ctx.events.record(body, "ServiceEvent", message, warning=message in view.warnings)
    if view.recount_after is not None:
        ctx.queue.add(key, after=view.recount_after)
    unusual = any(stop["stopCode"] != SERVICE_SCHEDULER for stop in stops)
    # the only event a stop adds is the one saying the scheduler stopped tasks
    stops_only = _stops_only(previous, status) and set(view.events) <= {
        stopped_event(spec.serviceName, tasks.stopped)
    }
    settling = not unusual and (_settling(status["conditions"]) or stops_only)
    await write_status(ctx, ECS_SERVICE, body, status, settling=settling)
    ctx.stops.written(key, stops)
    return status


def _scheduler_stopped(stops: Sequence[Mapping[str, Any]], previous: Mapping[str, Any]) -> int:
    """How many of ``stops`` the service scheduler made (scale-in, a rollout's replacements)
    that the written status does not record yet (a pass whose write waited sees them again)."""
    recorded = {str(r.get("taskId")) for r in previous.get(STOPPED_TASKS) or []}
    return sum(
        1
        for stop in stops
        if stop["stopCode"] == SERVICE_SCHEDULER and str(stop["taskId"]) not in recorded
    )


def _stops_only(previous: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Whether the status tells nothing new but stopped tasks, its events aside (then its write
    may wait for the next one, and take the stops that come meanwhile along: a rollout's
    replacements come in bursts). Any other stop (StopTask's, a task that could not start, an
    essential container's exit) is written at once, whatever the status says: it is what
    someone looks at next, and a task seen STOPPED must not answer MISSING while its record
    waits."""
    stops = (STOPPED_TASKS, "events")  # a stop's record, and the event saying it was stopped
    others = {k: v for k, v in status.items() if k not in stops and v is not None}
    return others == {k: v for k, v in previous.items() if k not in stops}


def _removed(
    previous: Mapping[str, Any], members: tuple[str, ...], now: Mapping[str, Any]
) -> dict[str, None]:
    """``None`` for each of ``members`` the previous status has and the new one lacks (the
    findings once all are mapped, the capacity member of the kind no longer in force): a merge
    patch removes a member only when told to."""
    return {k: None for k in members if k in previous and k not in now}


def _settling(conditions: list[dict[str, Any]]) -> bool:
    """Whether the status is on its way to a steady state with nothing wrong (then its write
    may wait for the next one: kube/writer.py)."""
    state = {c["type"]: c["status"] for c in conditions}
    return state.get("Ready") != "True" and state.get("Degraded") != "True"


def _running(
    ctx: Context, namespace: str, previous: dict[str, Any], rollout: Rollout, target: Resolved
) -> Resolved:
    """The revision to render: the spec's, or the one a circuit breaker rolled back to (while
    it still resolves)."""
    ref = running_task_definition(previous, rollout)
    if ref == target.ref:
        return target
    try:
        return resolve_task_definition(ctx.store, namespace, ref, ref)
    except Unresolved:
        log.warning("cannot roll %s/%s back to %s: it does not resolve", namespace, ref, ref)
        return target


async def _ensure_workloads(
    ctx: Context, desired: ServicePlan, owner: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Unwritten]]:
    """The task-role ServiceAccount (one for every part: one task definition) and the workload
    of each part, written where needed; the workloads, and why any is not written.

    Nothing runs under an account that is not ours: when the account's name is taken (or its
    write refused), no workload is written, and those already there stay as they are (they
    are returned, so that nothing is removed and the status still counts their tasks)."""
    uid = owner["metadata"]["uid"]
    try:
        [account] = desired.accounts
        await identities.ensure(ctx, account, owner["metadata"]["namespace"])
    except (NameConflict, WriteRefused) as problem:
        namespace = owner["metadata"]["namespace"]
        stored = [w for r in (DEPLOYMENT, DAEMON_SET) for w in ctx.store.owned(r, namespace, uid)]
        return [w for w in stored if controlled_by(w, uid)], [problem]
    workloads: list[dict[str, Any]] = []
    unwritten: list[Unwritten] = []
    for workload in desired.workloads:
        try:
            workloads.append(await _ensure_owned(ctx, workload, owner))
        except (NameConflict, WriteRefused) as problem:
            unwritten.append(problem)
    return workloads, unwritten


async def _ensure_owned(
    ctx: Context, obj: dict[str, Any], owner: dict[str, Any], live: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create ``obj`` as the service's child, or apply it when the service's own differs from
    it (:class:`NameConflict` when another object has its name, :class:`WriteRefused` when the
    API server will not have it). Replicas are always rendered
    from desiredCount: an autoscaler scales the ECS Service, not its Deployments."""
    desired = child_of(obj, owner)
    metadata = desired["metadata"]
    if live is None:
        live = ctx.store.get(resource_of(desired), metadata["namespace"], metadata["name"])
    uid = owner["metadata"]["uid"]
    return await ctx.writer.ensure(desired, live, lambda found: controlled_by(found, uid))


async def _ensure_attached(
    ctx: Context, obj: dict[str, Any], owner: dict[str, Any]
) -> Unwritten | None:
    """Write an attached object unless another object has its name (two ECS services giving
    the same alias, or a user's own Service): that is returned, never taken over, as is the
    API server's refusal. A Service of ours that turns headless or back is replaced (its
    clusterIP cannot change)."""
    resource = resource_of(obj)
    namespace, name = owner["metadata"]["namespace"], obj["metadata"]["name"]
    live = ctx.store.get(resource, namespace, name)
    ours = live is not None and controlled_by(live, owner["metadata"]["uid"])
    if live is not None and ours and _headless(live) != _headless(obj):
        await ctx.writer.delete_ours(resource, live)
        live = None
    try:
        await _ensure_owned(ctx, obj, owner, live)
    except (NameConflict, WriteRefused) as problem:
        return problem
    return None


def _headless(obj: dict[str, Any]) -> bool:
    return obj["kind"] == "Service" and (obj.get("spec") or {}).get("clusterIP") == "None"


async def _remove_stale(
    ctx: Context, owner: dict[str, Any], keep: set[tuple[Resource, str]]
) -> None:
    """Delete what the service no longer renders (a provider dropped from the strategy, REPLICA
    <-> DAEMON, a load balancer or alias removed, autoScaling turned off...): only children it
    controls, each on condition that it is still the object of that uid."""
    uid, namespace = owner["metadata"]["uid"], owner["metadata"]["namespace"]
    for resource in OWNED:
        for child in ctx.store.owned(resource, namespace, uid):
            if controlled_by(child, uid) and (resource, child["metadata"]["name"]) not in keep:
                await ctx.writer.delete_ours(resource, child)


def _pods(ctx: Context, namespace: str, selector: Mapping[str, str]) -> list[dict[str, Any]]:
    """The service's pods: those its selector's labels all match."""
    candidates = ctx.store.indexed(
        POD, SERVICE_PODS, namespace, selector.get(keys.LABEL_SERVICE, "")
    )
    return [pod for pod in candidates if matches(pod["metadata"].get("labels") or {}, selector)]
