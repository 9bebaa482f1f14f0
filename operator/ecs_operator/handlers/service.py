"""Service: keep one Deployment per capacity provider (REPLICA) or a DaemonSet (DAEMON), and the
objects attached to the service (Services, HorizontalPodAutoscaler, PodDisruptionBudget), in the
state the ECS service describes, and report back in ECS terms.

``taskDefinition: family`` follows the latest ACTIVE revision (a new revision rolls the
service: the GitOps-friendly reading); ``family:N`` pins it. A capacity provider strategy
splits the tasks as ECS does (base first, then by weight) over one workload per provider.
After the deployment circuit breaker rolled a deployment back, the last completed revision is
rendered until the spec changes (status/service.py decides which revision runs).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceSpec, parse_service, parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.kube.apply import ensure
from ecs_operator.kube.client import Resource
from ecs_operator.kube.owners import adopt
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
from ecs_operator.render.findings import Finding, Report
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.render.request import RenderedWorkload
from ecs_operator.render.service import render_service
from ecs_operator.render.strategy import split
from ecs_operator.status.conditions import merge
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
    findings_condition,
    report_findings,
    report_invalid,
    report_unresolved,
    write_status,
)
from .indexes import SERVICE_PODS
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
        spec = parse_service(body.get("spec") or {})
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
        pod_level_resources=rt.settings.pod_level_resources,
        account_id=rt.settings.account_id,
    )
    load_balancer_type = (body["metadata"].get("annotations") or {}).get(
        keys.ANNOTATION_LOAD_BALANCER_TYPE
    )
    allowed = tenancy.policy_for(namespace)
    attached_report = Report()
    try:
        td = parse_task_definition(resolved.spec)
        parts = [render_service(p, td, options, resolved.revision) for p in _parts(spec, strategy)]
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
    workloads, *attached_findings = await asyncio.gather(
        _ensure_workloads(spec, strategy, parts, body),
        *(_ensure_attached(obj, body) for obj in attached),
    )
    findings += [f for found in attached_findings for f in found]
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
    status = {
        **view.status,
        **reported,
        "selector": _selector(workloads),
        "clusterArn": clusters.name_of(cluster),
        "conditions": merge(
            previous.get("conditions"),
            [*view.status["conditions"], findings_condition(findings)],
            generation,
        ),
    }
    for message in view.events:
        rt.events.record(body, "ServiceEvent", message)
    await write_status(ECS_SERVICE, body, status)
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
) -> list[dict[str, Any]]:
    """The task-role ServiceAccount and the workload of each part, applied; the workloads."""
    workloads = []
    for part, rendered in zip(_parts(spec, strategy), parts, strict=True):
        account, workload = rendered.objects[0], rendered.objects[1]
        await identities.ensure(account, owner["metadata"]["namespace"])
        if strategy and len(strategy) > 1:
            workload = _per_provider(workload, part.capacityProviderStrategy[0].capacityProvider)  # type: ignore[index]
        workloads.append(await _ensure_owned(workload, owner))
    return workloads


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
    """Apply ``obj`` as the service's child, when it differs from the stored one. Replicas are
    always rendered from desiredCount: an autoscaler scales the ECS Service, not its
    Deployments."""
    rt = runtime()
    desired = adopt(obj, owner)
    resource = resource_of(desired)
    metadata = desired["metadata"]
    if live is None:
        live = rt.store.get(resource, metadata["namespace"], metadata["name"])
    result = await ensure(rt.client, desired, live)
    if result is not live:
        rt.store.put(resource, result)
    return result


async def _ensure_attached(obj: dict[str, Any], owner: dict[str, Any]) -> list[Finding]:
    """Apply an attached object unless another owner has its name (two ECS services giving the
    same alias, or a user's own Service): that is reported, never taken over. A Service that
    turns headless or back is replaced (its clusterIP cannot change)."""
    rt = runtime()
    resource = resource_of(obj)
    namespace, name = owner["metadata"]["namespace"], obj["metadata"]["name"]
    live = rt.store.get(resource, namespace, name)
    if live is None:
        live = await rt.client.get(resource, namespace, name)  # a user's object is not watched
    if live is not None and not _controlled_by(live, owner):
        return [
            Finding(
                f"{obj['kind']}/{name}",
                "unsupported",
                f"a {obj['kind']} named {name} already exists and is not this service's: "
                "left alone",
            )
        ]
    if live is not None and _headless(live) != _headless(obj):
        await rt.client.delete(resource, namespace, name)
        rt.store.forget(resource, namespace, name)
        live = None
    await _ensure_owned(obj, owner, live)
    return []


def _controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(
        ref.get("controller") and ref.get("uid") == owner["metadata"]["uid"]
        for ref in obj["metadata"].get("ownerReferences") or []
    )


def _headless(obj: dict[str, Any]) -> bool:
    return obj["kind"] == "Service" and (obj.get("spec") or {}).get("clusterIP") == "None"


async def _remove_stale(owner: dict[str, Any], keep: set[tuple[Resource, str]]) -> None:
    """Delete what the service no longer renders (a provider dropped from the strategy, REPLICA
    <-> DAEMON, a load balancer or alias removed, autoScaling turned off...)."""
    rt = runtime()
    for resource in OWNED:
        for child in rt.store.owned(resource, owner["metadata"]["uid"]):
            if (resource, child["metadata"]["name"]) not in keep:
                await rt.client.delete(
                    resource, child["metadata"]["namespace"], child["metadata"]["name"]
                )
                rt.store.forget(resource, child["metadata"]["namespace"], child["metadata"]["name"])


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
