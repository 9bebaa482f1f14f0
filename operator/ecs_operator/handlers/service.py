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
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceSpec
from ecs_operator.api.parse import parse_service, parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.kube.apply import NameConflict, delete_ours, ensure
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
from ecs_operator.render import keys, request
from ecs_operator.render.attached import render_attached, service_selector
from ecs_operator.render.findings import Report
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.render.request import RenderedWorkload
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

from . import clusters, identities, tenancy
from .common import (
    CONFLICT,
    findings_condition,
    report_conflicts,
    report_findings,
    report_invalid,
    report_unresolved,
    write_status,
)
from .indexes import SERVICE_PODS, ecs_spec
from .node_labels import node_labels
from .queue import OK, Outcome
from .references import Resolved, Unresolved, claim_service_name, resolve_task_definition
from .runtime import runtime

log = logging.getLogger("ecs_operator.service")

#: every kind of object a service owns and removes when it no longer renders it
OWNED = (DEPLOYMENT, DAEMON_SET, KUBE_SERVICE, HORIZONTAL_POD_AUTOSCALER, POD_DISRUPTION_BUDGET)


async def reconcile(namespace: str, name: str) -> Outcome:
    rt = runtime()
    body = rt.store.get(ECS_SERVICE, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return OK
    try:
        spec = parse_service(ecs_spec(body, "Service"))
    except EcsValidationError as error:
        await report_invalid(ECS_SERVICE, body, error)
        return Outcome("invalid")
    previous = body.get("status") or {}
    try:
        if spec.taskDefinition is None:
            raise Unresolved(
                "InvalidReference",
                "taskDefinition: required (the ECS deployment controller)",
                False,
            )
        cluster = await clusters.resolve(namespace, spec.cluster)
        # A strategy the cluster refuses is the user's to fix: say so even while the task
        # definition is still being registered.
        strategy = clusters.strategy_for(cluster, spec.launchType, spec.capacityProviderStrategy)
        target = resolve_task_definition(
            namespace, spec.taskDefinition, previous.get("taskDefinition")
        )
        claim_service_name(namespace, body)
    except Unresolved as problem:
        await report_unresolved(ECS_SERVICE, body, problem)
        return Outcome("waiting", retry=problem.retry)
    rollout = _rollout(spec, body, target)
    resolved = _running(namespace, previous, rollout, target)
    options = request.Options(
        namespace=namespace,
        cluster=clusters.name_of(cluster),
        capacity_providers=clusters.capacity_providers(cluster),
        pod_level_resources=rt.settings.pod_level_resources,
        account_id=rt.settings.account_id,
        node_labels=node_labels(ecs_spec(body, "Service"), resolved.spec),
    )
    annotations = body["metadata"].get("annotations") or {}
    load_balancer_type = annotations.get(keys.ANNOTATION_LOAD_BALANCER_TYPE)
    restart = annotations.get(keys.ANNOTATION_FORCE_NEW_DEPLOYMENT)
    allowed = tenancy.policy_for(namespace)
    attached_report = Report()
    try:
        td = parse_task_definition(resolved.spec)
        parts = [
            render_service(p, td, options, resolved.revision, force_new_deployment=restart)
            for p in _parts(spec, strategy)
        ]
        # One set of attached objects for the whole service, whatever its split (those
        # render_service adds to each part's objects are for `convert`, and not used here).
        attached = render_attached(
            spec,
            parts[0].pod.pod_template,
            namespace,
            name=name,
            load_balancer_type=load_balancer_type,
            allowed_types=allowed.allowed_service_types,
            report=attached_report,
        )
    except EcsValidationError as error:  # the service and its task definition do not fit
        await report_invalid(ECS_SERVICE, body, error)
        return Outcome("invalid")
    findings = [f for r in parts for f in (*r.pod.findings, *r.findings)]
    findings += attached_report.findings
    try:
        # what runs is left as it is: a refused deployment (or a revoked allowance) starts
        # nothing new, as ECS keeps the tasks of a deployment it could not replace
        tenancy.check(allowed, namespace, parts[0].objects[0], findings)
    except Unresolved as problem:
        await report_unresolved(ECS_SERVICE, body, problem)
        return Outcome("refused")
    # the workloads and the objects attached to them are independent writes: one round trip
    (workloads, conflicts), *attached_conflicts = await asyncio.gather(
        _ensure_workloads(spec, strategy, parts, body),
        *(_ensure_attached(obj, body) for obj in attached),
    )
    conflicts += [c for c in attached_conflicts if c is not None]
    await _remove_stale(
        body, {(resource_of(o), o["metadata"]["name"]) for o in workloads + attached}
    )
    desired = sum(int(w["spec"].get("replicas", 0)) for w in workloads if w["kind"] == "Deployment")
    if spec.schedulingStrategy == "DAEMON":
        desired = sum(workload_state(w).desired for w in workloads)
    template = parts[0].pod.pod_template
    pods = _pods(namespace, service_selector(template))
    view = service_status(
        spec.serviceName,
        desired,
        resolved.ref,
        [workload_state(w) for w in workloads],
        previous,
        body["metadata"].get("generation"),
        rollout=rollout,
        tasks=task_summary(pods, resolved.ref),
    )
    generation = body["metadata"].get("generation")
    reported = await report_findings(body, findings)
    if not reported and "findings" in previous:
        reported = {"findings": None}  # a merge patch removes a member only when told to
    conditions = [*view.status["conditions"], findings_condition(findings)]
    if conflicts:
        conditions = override(conditions, report_conflicts(body, conflicts))
    status = {
        **view.status,
        **reported,
        "selector": _selector(workloads),
        "clusterArn": clusters.name_of(cluster),
        "conditions": merge(previous.get("conditions"), conditions, generation),
    }
    for message in view.events:
        rt.events.record(body, "ServiceEvent", message, warning=message in view.warnings)
    await write_status(ECS_SERVICE, body, status)
    if conflicts:
        return CONFLICT
    if running_task_definition(status, rollout) != resolved.ref:
        # the circuit breaker just rolled back: render the revision it chose (a status
        # change of our own wakes nothing by itself)
        return Outcome("rollback", retry=True, after=0.0)
    return OK


def _rollout(spec: ServiceSpec, body: dict[str, Any], target: Resolved) -> Rollout:
    """What the spec asks for, with its circuit breaker sized for its desired count."""
    config = spec.deploymentConfiguration
    breaker = CircuitBreaker.of(
        config.deploymentCircuitBreaker if config else None,
        1 if spec.desiredCount is None else spec.desiredCount,
    )
    return Rollout(target.ref, spec_hash(body.get("spec") or {}), breaker)


def _running(
    namespace: str, previous: dict[str, Any], rollout: Rollout, target: Resolved
) -> Resolved:
    """The revision to render: the spec's, or the one a circuit breaker rolled back to (while
    it still resolves)."""
    ref = running_task_definition(previous, rollout)
    if ref == target.ref:
        return target
    try:
        return resolve_task_definition(namespace, ref, ref)
    except Unresolved:
        log.warning("cannot roll %s/%s back to %s: it does not resolve", namespace, ref, ref)
        return target


async def _ensure_workloads(
    spec: ServiceSpec,
    strategy: list[CapacityProviderStrategyItem] | None,
    parts: list[RenderedWorkload],
    owner: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[NameConflict]]:
    """The task-role ServiceAccount (one for every part: one task definition) and the workload
    of each part, written where needed; the workloads, and the names found taken.

    Nothing runs under an account that is not ours: when the account's name is taken, no
    workload is written, and those already there stay as they are (they are returned, so
    that nothing is removed and the status still counts their tasks)."""
    uid = owner["metadata"]["uid"]
    try:
        await identities.ensure(parts[0].objects[0], owner["metadata"]["namespace"])
    except NameConflict as conflict:
        stored = [w for r in (DEPLOYMENT, DAEMON_SET) for w in runtime().store.owned(r, uid)]
        return [w for w in stored if controlled_by(w, uid)], [conflict]
    workloads, conflicts = [], []
    for part, rendered in zip(_parts(spec, strategy), parts, strict=True):
        workload = rendered.objects[1]
        if strategy and len(strategy) > 1:
            workload = _per_provider(workload, part.capacityProviderStrategy[0].capacityProvider)  # type: ignore[index]
        try:
            workloads.append(await _ensure_owned(workload, owner))
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
    obj: dict[str, Any], owner: dict[str, Any], live: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create ``obj`` as the service's child, or apply it when the service's own differs from
    it (:class:`NameConflict` when another object has its name). Replicas are always rendered
    from desiredCount: an autoscaler scales the ECS Service, not its Deployments."""
    rt = runtime()
    desired = child_of(obj, owner)
    resource = resource_of(desired)
    metadata = desired["metadata"]
    if live is None:
        live = rt.store.get(resource, metadata["namespace"], metadata["name"])
    uid = owner["metadata"]["uid"]
    result = await ensure(rt.client, desired, live, lambda found: controlled_by(found, uid))
    if result is not live:
        rt.store.put(resource, result)
    return result


async def _ensure_attached(obj: dict[str, Any], owner: dict[str, Any]) -> NameConflict | None:
    """Write an attached object unless another object has its name (two ECS services giving
    the same alias, or a user's own Service): that is returned, never taken over. A Service of
    ours that turns headless or back is replaced (its clusterIP cannot change)."""
    rt = runtime()
    resource = resource_of(obj)
    namespace, name = owner["metadata"]["namespace"], obj["metadata"]["name"]
    live = rt.store.get(resource, namespace, name)
    ours = live is not None and controlled_by(live, owner["metadata"]["uid"])
    if live is not None and ours and _headless(live) != _headless(obj):
        await rt.client.delete(resource, namespace, name, {"uid": live["metadata"]["uid"]})
        rt.store.forget(resource, namespace, name)
        live = None
    try:
        await _ensure_owned(obj, owner, live)
    except NameConflict as conflict:
        return conflict
    return None


def _headless(obj: dict[str, Any]) -> bool:
    return obj["kind"] == "Service" and (obj.get("spec") or {}).get("clusterIP") == "None"


async def _remove_stale(owner: dict[str, Any], keep: set[tuple[Resource, str]]) -> None:
    """Delete what the service no longer renders (a provider dropped from the strategy, REPLICA
    <-> DAEMON, a load balancer or alias removed, autoScaling turned off...): only children it
    controls, each on condition that it is still the object of that uid."""
    rt = runtime()
    uid = owner["metadata"]["uid"]
    for resource in OWNED:
        for child in rt.store.owned(resource, uid):
            metadata = child["metadata"]
            if not controlled_by(child, uid) or (resource, metadata["name"]) in keep:
                continue
            if await delete_ours(rt.client, resource, child):
                rt.store.forget(resource, metadata["namespace"], metadata["name"])


def _pods(namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
    """The service's pods: those its selector's labels all match."""
    candidates = runtime().store.indexed(
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
