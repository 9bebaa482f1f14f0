"""Service: keep one Deployment per capacity provider (REPLICA) or a DaemonSet (DAEMON), and the
objects attached to the service (Services, HorizontalPodAutoscaler, PodDisruptionBudget), in the
state the ECS service describes, and report back in ECS terms.

``taskDefinition: family`` follows the latest ACTIVE revision (a new revision rolls the
service: the GitOps-friendly reading); ``family:N`` pins it. A capacity provider strategy
splits the tasks as ECS does (base first, then by weight) over one workload per provider.
After the deployment circuit breaker rolled a deployment back, the last completed revision is
rendered until the spec changes (status/service.py decides which revision runs).

Every child is the Service's own (a controller reference to it) or left alone: a name already
taken by an object the operator did not create for this Service (an admin's Deployment, a
user's core Service, an account not marked as ours) is reported as a ``NameConflict``, and
what would depend on it does not run (no workload runs under another's ServiceAccount).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceSpec
from ecs_operator.api.parse import parse_service, parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.kube.apply import NameConflict
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
from ecs_operator.policy import Policy
from ecs_operator.render import keys
from ecs_operator.render.attached import render_attached, service_selector
from ecs_operator.render.findings import Finding, Report
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.render.service import render_service
from ecs_operator.render.strategy import split
from ecs_operator.status.conditions import merge, override
from ecs_operator.status.service import (
    CircuitBreaker,
    Rollout,
    running_task_definition,
    service_status,
    spec_hash,
)
from ecs_operator.status.workloads import task_summary, workload_state

from . import identities, prepare, target_cluster, tenancy
from .common import (
    findings_condition,
    report_conflicts,
    report_findings,
    write_status,
)
from .context import Context
from .indexes import SERVICE_PODS
from .prepare import Prepared
from .queue import CONFLICT, OK, Outcome, Result
from .references import Resolved, Unresolved, claim_service_name, resolve_task_definition

log = logging.getLogger("ecs_operator.service")

#: every kind of object a service owns and removes when it no longer renders it
OWNED = (DEPLOYMENT, DAEMON_SET, KUBE_SERVICE, HORIZONTAL_POD_AUTOSCALER, POD_DISRUPTION_BUDGET)


@dataclass(frozen=True)
class Desired:
    """What the service should have: the task-role ServiceAccount, a workload per capacity
    provider (or the one DaemonSet), the objects attached to the service, the findings, and the
    labels that select its pods."""

    account: dict[str, Any]
    workloads: list[dict[str, Any]]
    attached: list[dict[str, Any]]
    findings: list[Finding]
    selector: dict[str, str]


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    """Read, render, write (what differs), report."""
    found = await prepare.read(ctx, ECS_SERVICE, namespace, name, parse_service)
    if isinstance(found, Outcome):
        return found
    ready = await prepare.resolve(ctx, ECS_SERVICE, found, claim=claim_service_name)
    if isinstance(ready, Outcome):
        return ready
    rollout = _rollout(found.spec, found.body, ready.task_definition)
    running = _running(ctx, namespace, found.previous, rollout, ready.task_definition)
    allowed = tenancy.policy_for(ctx, namespace)
    try:
        desired = _render(ready, running, allowed)
    except EcsValidationError as error:  # the service and its task definition do not fit
        return await prepare.invalid(ctx, ECS_SERVICE, found.body, error)
    try:
        # what runs is left as it is: a refused deployment (or a revoked allowance) starts
        # nothing new, as ECS keeps the tasks of a deployment it could not replace
        tenancy.check(allowed, namespace, desired.account, desired.findings)
    except Unresolved as problem:
        return await prepare.unresolved(ctx, ECS_SERVICE, found.body, problem, Result.REFUSED)
    workloads, conflicts = await _write(ctx, found.body, desired)
    status = await _report(ctx, ready, rollout, running, desired, workloads, conflicts)
    if conflicts:
        return CONFLICT
    if running_task_definition(status, rollout) != running.ref:
        # the circuit breaker just rolled back: render the revision it chose (a status
        # change of our own wakes nothing by itself)
        return Outcome(Result.ROLLBACK, retry=True, after=0.0)
    return OK


def _render(ready: Prepared[ServiceSpec], running: Resolved, allowed: Policy) -> Desired:
    """The service's objects, rendered from its spec and the task definition revision it runs
    (pure; :class:`EcsValidationError` when the two do not fit)."""
    spec, body = ready.read.spec, ready.read.body
    annotations = body["metadata"].get("annotations") or {}
    restart = annotations.get(keys.ANNOTATION_FORCE_NEW_DEPLOYMENT)
    td = parse_task_definition(running.spec)
    requests = _parts(spec, ready.strategy)
    parts = [
        render_service(p, td, ready.options, running.revision, force_new_deployment=restart)
        for p in requests
    ]
    workloads = [part.objects[1] for part in parts]
    if ready.strategy and len(ready.strategy) > 1:
        workloads = [
            _per_provider(workload, request.capacityProviderStrategy[0].capacityProvider)  # type: ignore[index]
            for workload, request in zip(workloads, requests, strict=True)
        ]
    template = parts[0].pod.pod_template
    report = Report()
    # One set of attached objects for the whole service, whatever its split (those
    # render_service adds to each part's objects are for `convert`, and not used here).
    attached = render_attached(
        spec,
        template,
        ready.options.namespace,
        name=body["metadata"]["name"],
        load_balancer_type=annotations.get(keys.ANNOTATION_LOAD_BALANCER_TYPE),
        allowed_types=allowed.allowed_service_types,
        report=report,
    )
    findings = [f for r in parts for f in (*r.pod.findings, *r.findings)] + report.findings
    return Desired(parts[0].objects[0], workloads, attached, findings, service_selector(template))


async def _write(
    ctx: Context, owner: dict[str, Any], desired: Desired
) -> tuple[list[dict[str, Any]], list[NameConflict]]:
    """Make the service's children match ``desired`` and remove those it no longer renders;
    the workloads as they are now, and the names found taken."""
    # the workloads and the objects attached to them are independent writes: one round trip
    (workloads, conflicts), *attached_conflicts = await asyncio.gather(
        _ensure_workloads(ctx, desired, owner),
        *(_ensure_attached(ctx, obj, owner) for obj in desired.attached),
    )
    conflicts += [c for c in attached_conflicts if c is not None]
    keep = {(resource_of(o), o["metadata"]["name"]) for o in workloads + desired.attached}
    await _remove_stale(ctx, owner, keep)
    return workloads, conflicts


async def _report(
    ctx: Context,
    ready: Prepared[ServiceSpec],
    rollout: Rollout,
    running: Resolved,
    desired: Desired,
    workloads: list[dict[str, Any]],
    conflicts: list[NameConflict],
) -> dict[str, Any]:
    """The service's status from its workloads and pods, written when it changed, with its ECS
    service events; returns the status."""
    spec, body, previous = ready.read.spec, ready.read.body, ready.read.previous
    if spec.schedulingStrategy == "DAEMON":
        replicas = sum(workload_state(w).desired for w in workloads)
    else:
        replicas = sum(int(w["spec"].get("replicas", 0)) for w in workloads)
    pods = _pods(ctx, ready.options.namespace, desired.selector)
    generation = body["metadata"].get("generation")
    view = service_status(
        spec.serviceName,
        replicas,
        running.ref,
        [workload_state(w) for w in workloads],
        previous,
        generation,
        rollout=rollout,
        tasks=task_summary(pods, running.ref),
    )
    reported = await report_findings(ctx, body, desired.findings)
    if not reported and "findings" in previous:
        reported = {"findings": None}  # a merge patch removes a member only when told to
    conditions = [*view.status["conditions"], findings_condition(desired.findings)]
    if conflicts:
        conditions = override(conditions, report_conflicts(ctx, body, conflicts))
    status = {
        **view.status,
        **reported,
        "selector": _selector(workloads),
        "clusterArn": target_cluster.name_of(ready.cluster),
        "conditions": merge(previous.get("conditions"), conditions, generation),
    }
    for message in view.events:
        ctx.events.record(body, "ServiceEvent", message, warning=message in view.warnings)
    await write_status(ctx, ECS_SERVICE, body, status, settling=_settling(status["conditions"]))
    return status


def _settling(conditions: list[dict[str, Any]]) -> bool:
    """Whether the status is on its way to a steady state with nothing wrong (then its write
    may wait for the next one: kube/writer.py)."""
    state = {c["type"]: c["status"] for c in conditions}
    return state.get("Ready") != "True" and state.get("Degraded") != "True"


def _rollout(spec: ServiceSpec, body: dict[str, Any], target: Resolved) -> Rollout:
    """What the spec asks for, with its circuit breaker sized for its desired count."""
    config = spec.deploymentConfiguration
    breaker = CircuitBreaker.of(
        config.deploymentCircuitBreaker if config else None,
        1 if spec.desiredCount is None else spec.desiredCount,
    )
    return Rollout(target.ref, spec_hash(body.get("spec") or {}), breaker)


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
    ctx: Context, desired: Desired, owner: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[NameConflict]]:
    """The task-role ServiceAccount (one for every part: one task definition) and the workload
    of each part, written where needed; the workloads, and the names found taken.

    Nothing runs under an account that is not ours: when the account's name is taken, no
    workload is written, and those already there stay as they are (they are returned, so
    that nothing is removed and the status still counts their tasks)."""
    uid = owner["metadata"]["uid"]
    try:
        await identities.ensure(ctx, desired.account, owner["metadata"]["namespace"])
    except NameConflict as conflict:
        stored = [w for r in (DEPLOYMENT, DAEMON_SET) for w in ctx.store.owned(r, uid)]
        return [w for w in stored if controlled_by(w, uid)], [conflict]
    workloads, conflicts = [], []
    for workload in desired.workloads:
        try:
            workloads.append(await _ensure_owned(ctx, workload, owner))
        except NameConflict as conflict:
            conflicts.append(conflict)
    return workloads, conflicts


def _parts(
    spec: ServiceSpec, strategy: list[CapacityProviderStrategyItem] | None
) -> list[ServiceSpec]:
    """The service as one request per capacity provider (just itself without a split)."""
    if spec.schedulingStrategy == "DAEMON" or not strategy or len(strategy) == 1:
        update: dict[str, Any] = {"capacityProviderStrategy": strategy} if strategy else {}
        return [spec.model_copy(update=update)]
    counts = split(strategy, 1 if spec.desiredCount is None else spec.desiredCount)
    return [
        spec.model_copy(update={"capacityProviderStrategy": [item], "desiredCount": count})
        for item, (_, count) in zip(strategy, counts, strict=True)
    ]


def _per_provider(workload: dict[str, Any], provider: str) -> dict[str, Any]:
    """A provider's own Deployment: its name and selector include the provider, so the
    per-provider Deployments never fight over pods."""
    name = dns_label(f"{workload['metadata']['name']}-{provider}".lower())
    metadata = {**workload["metadata"], "name": name}
    spec = dict(workload["spec"])
    spec["selector"] = {
        "matchLabels": {
            **spec["selector"]["matchLabels"],
            keys.LABEL_CAPACITY_PROVIDER: label_value(provider),
        }
    }
    return {**workload, "metadata": metadata, "spec": spec}


async def _ensure_owned(
    ctx: Context, obj: dict[str, Any], owner: dict[str, Any], live: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create ``obj`` as the service's child, or apply it when the service's own differs from
    it (:class:`NameConflict` when another object has its name). Replicas are always rendered
    from desiredCount: an autoscaler scales the ECS Service, not its Deployments."""
    desired = child_of(obj, owner)
    metadata = desired["metadata"]
    if live is None:
        live = ctx.store.get(resource_of(desired), metadata["namespace"], metadata["name"])
    uid = owner["metadata"]["uid"]
    return await ctx.writer.ensure(desired, live, lambda found: controlled_by(found, uid))


async def _ensure_attached(
    ctx: Context, obj: dict[str, Any], owner: dict[str, Any]
) -> NameConflict | None:
    """Write an attached object unless another object has its name (two ECS services giving
    the same alias, or a user's own Service): that is returned, never taken over. A Service of
    ours that turns headless or back is replaced (its clusterIP cannot change)."""
    resource = resource_of(obj)
    namespace, name = owner["metadata"]["namespace"], obj["metadata"]["name"]
    live = ctx.store.get(resource, namespace, name)
    ours = live is not None and controlled_by(live, owner["metadata"]["uid"])
    if live is not None and ours and _headless(live) != _headless(obj):
        await ctx.writer.delete_ours(resource, live)
        live = None
    try:
        await _ensure_owned(ctx, obj, owner, live)
    except NameConflict as conflict:
        return conflict
    return None


def _headless(obj: dict[str, Any]) -> bool:
    return obj["kind"] == "Service" and (obj.get("spec") or {}).get("clusterIP") == "None"


async def _remove_stale(
    ctx: Context, owner: dict[str, Any], keep: set[tuple[Resource, str]]
) -> None:
    """Delete what the service no longer renders (a provider dropped from the strategy, REPLICA
    <-> DAEMON, a load balancer or alias removed, autoScaling turned off...): only children it
    controls, each on condition that it is still the object of that uid."""
    uid = owner["metadata"]["uid"]
    for resource in OWNED:
        for child in ctx.store.owned(resource, uid):
            if controlled_by(child, uid) and (resource, child["metadata"]["name"]) not in keep:
                await ctx.writer.delete_ours(resource, child)


def _pods(ctx: Context, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
    """The service's pods: those its selector's labels all match."""
    candidates = ctx.store.indexed(
        POD, SERVICE_PODS, namespace, selector.get(keys.LABEL_SERVICE, "")
    )
    return [pod for pod in candidates if matches(pod["metadata"].get("labels") or {}, selector)]


def _selector(workloads: list[dict[str, Any]]) -> str:
    """The label selector of all the service's pods (the scale subresource's selector, so an
    HPA can find them)."""
    if not workloads:
        return ""
    common = dict(workloads[0]["spec"]["selector"]["matchLabels"])
    common.pop(keys.LABEL_CAPACITY_PROVIDER, None)
    return ",".join(f"{k}={v}" for k, v in sorted(common.items()))
