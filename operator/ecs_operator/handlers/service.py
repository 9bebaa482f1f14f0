"""Service: keep one Deployment per capacity provider (REPLICA) or a DaemonSet (DAEMON) in the
state the ECS service describes, and report back in ECS terms.

``taskDefinition: family`` follows the latest ACTIVE revision (a new revision rolls the
service: the GitOps-friendly reading); ``family:N`` pins it. A capacity provider strategy
splits the tasks as ECS does (base first, then by weight) over one workload per provider.
"""

from __future__ import annotations

import logging
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceSpec, parse_service, parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.kube.apply import ensure
from ecs_operator.kube.resources import DAEMON_SET, DEPLOYMENT, ECS_SERVICE
from ecs_operator.render import keys, request
from ecs_operator.render.findings import Finding
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.render.service import render_service
from ecs_operator.render.strategy import split
from ecs_operator.status.conditions import merge
from ecs_operator.status.service import service_status
from ecs_operator.status.workloads import workload_state

from . import clusters, identities
from .common import (
    findings_condition,
    report_findings,
    report_invalid,
    report_unresolved,
    write_status,
)
from .queue import OK, Outcome
from .references import Unresolved, resolve_task_definition
from .runtime import runtime

log = logging.getLogger("ecs_operator.service")


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
        strategy = clusters.strategy_for(cluster, spec.launchType, spec.capacityProviderStrategy)
        resolved = resolve_task_definition(
            namespace, spec.taskDefinition, previous.get("taskDefinition")
        )
    except Unresolved as problem:
        await report_unresolved(ECS_SERVICE, body, problem)
        return Outcome("waiting", retry=problem.retry)
    options = request.Options(
        namespace=namespace,
        cluster=clusters.name_of(cluster),
        pod_level_resources=rt.settings.pod_level_resources,
        account_id=rt.settings.account_id,
    )
    try:
        td = parse_task_definition(resolved.spec)
        parts = [render_service(p, td, options, resolved.revision) for p in _parts(spec, strategy)]
    except EcsValidationError as error:  # the service and its task definition do not fit
        await report_invalid(ECS_SERVICE, body, error)
        return Outcome("invalid")
    workloads = []
    findings: list[Finding] = []
    for part, rendered in zip(_parts(spec, strategy), parts, strict=True):
        findings += [*rendered.pod.findings, *rendered.findings]
        account, workload = rendered.objects[0], rendered.objects[1]
        await identities.ensure(account, body)
        if strategy and len(strategy) > 1:
            workload = _per_provider(workload, part.capacityProviderStrategy[0].capacityProvider)  # type: ignore[index]
        workloads.append(await _ensure_owned(workload, body))
    await _remove_stale(body, {w["metadata"]["name"] for w in workloads})
    desired = sum(int(w["spec"].get("replicas", 0)) for w in workloads if w["kind"] == "Deployment")
    if spec.schedulingStrategy == "DAEMON":
        desired = sum(workload_state(w).desired for w in workloads)
    view = service_status(
        spec.serviceName,
        desired,
        resolved.ref,
        [workload_state(w) for w in workloads],
        previous,
        body["metadata"].get("generation"),
    )
    generation = body["metadata"].get("generation")
    status = {
        **view.status,
        **await report_findings(body, findings),
        "selector": _selector(workloads),
        "clusterArn": clusters.name_of(cluster),
        "conditions": merge(
            previous.get("conditions"),
            [*view.status["conditions"], findings_condition(findings)],
            generation,
        ),
    }
    for message in view.events:
        await rt.events.record(body, "ServiceEvent", message)
    await write_status(ECS_SERVICE, body, status)
    return OK


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


async def _ensure_owned(workload: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    from ecs_operator.kube.owners import adopt

    rt = runtime()
    desired = adopt(workload, owner)
    resource = DAEMON_SET if desired["kind"] == "DaemonSet" else DEPLOYMENT
    live = rt.store.get(resource, desired["metadata"]["namespace"], desired["metadata"]["name"])
    if live is not None and desired["kind"] == "Deployment" and _scaled_by_autoscaler(owner):
        desired["spec"].pop("replicas", None)
    result = await ensure(rt.client, desired, live)
    if result is not live:
        rt.store.put(resource, result)
    return result


def _scaled_by_autoscaler(owner: dict[str, Any]) -> bool:
    return bool((owner.get("spec") or {}).get("autoScaling"))


async def _remove_stale(owner: dict[str, Any], keep: set[str]) -> None:
    """Delete workloads the service no longer needs (a provider dropped from the strategy,
    REPLICA <-> DAEMON)."""
    rt = runtime()
    for resource in (DEPLOYMENT, DAEMON_SET):
        for child in rt.store.owned(resource, owner["metadata"]["uid"]):
            if child["metadata"]["name"] not in keep:
                await rt.client.delete(
                    resource, child["metadata"]["namespace"], child["metadata"]["name"]
                )
                rt.store.forget(resource, child["metadata"]["namespace"], child["metadata"]["name"])


def _selector(workloads: list[dict[str, Any]]) -> str:
    """The label selector of all the service's pods (the scale subresource's selector, so an
    HPA can find them)."""
    if not workloads:
        return ""
    common = dict(workloads[0]["spec"]["selector"]["matchLabels"])
    common.pop(keys.LABEL_CAPACITY_PROVIDER, None)
    return ",".join(f"{k}={v}" for k, v in sorted(common.items()))
