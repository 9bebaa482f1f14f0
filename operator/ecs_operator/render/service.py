"""A CreateService request for one capacity provider (or none) and its task definition to a
Deployment (REPLICA) or DaemonSet (DAEMON), with the ServiceAccount of the task role.

The service as a whole (its split over several capacity providers, the objects attached to it
once: attached.py) is planned in plan/service.py, which also reports, once for the request, the
members that Kubernetes cannot carry (VPC Lattice, alarms, blue/green...:
:func:`report_unrendered`), never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api.rules.common import is_essential
from ..api.shapes import CreateServiceRequest, RegisterTaskDefinitionRequest
from . import awsvpc, keys, metadata, request, workloads
from .context import Rendered
from .findings import Finding, FindingKind, ObjectRef, Report
from .names import dns_label
from .pod import render_pod_template

#: ECS waits this long after a task without health checks starts before counting it healthy
NO_HEALTH_CHECK_READY_SECONDS = 40

#: networkConfiguration is reported member by member (awsvpc.py); load balancers, Cloud Map and
#: Service Connect are Services (endpoints.py); the circuit breaker is the operator's
#: (status/service.py)
REPORTED: dict[str, tuple[FindingKind, str]] = {
    **{k: v for k, v in request.COMMON_REPORTED.items() if k != "networkConfiguration"},
    "vpcLatticeConfigurations": ("unsupported", "VPC Lattice is not rendered"),
    "gatewayConnectors": ("unsupported", "gateway connectors are not rendered"),
    "deploymentConfiguration.alarms": ("unsupported", "CloudWatch alarms are not watched"),
    "deploymentConfiguration.lifecycleHooks": ("unsupported", "deployment hooks are not run"),
    "deploymentConfiguration.bakeTimeInMinutes": ("unsupported", "blue/green is not rendered"),
    "deploymentConfiguration.linearConfiguration": ("unsupported", "linear is not rendered"),
    "deploymentConfiguration.canaryConfiguration": ("unsupported", "canary is not rendered"),
    "deploymentConfiguration.earlySuccessCriteria": (
        "unsupported",
        "early success is not rendered",
    ),
    "availabilityZoneRebalancing": ("ignored", "the scheduler does not move running pods"),
    "role": ("ignored", "no load balancer is called"),
    "clientToken": (
        "ignored",
        "a Service object is created once, by its name; the ECS API's CreateService honours it",
    ),
    "monitoring": ("ignored", "metrics come from the cluster's monitoring"),
}


@dataclass(frozen=True, slots=True)
class RenderedService:
    """A service's workload for one capacity provider (or none): the Deployment or DaemonSet,
    the task definition's rendering (pod template, task-role ServiceAccount, findings about
    the task definition) and the report about the request."""

    workload: dict[str, Any]
    pod: Rendered
    findings: tuple[Finding, ...]
    references: tuple[ObjectRef, ...] = ()


def _delay_liveness(template: dict[str, Any], seconds: int, report: Report) -> None:
    """``healthCheckGracePeriodSeconds``: container health is not acted on for that long. The
    liveness probe starts after it, and a startup probe (a ``startPeriod``), which kills the
    container too once it fails enough, allows failures for as long: failing checks kill a
    container only once the grace and then its retries have passed, as in ECS."""
    spec = template["spec"]
    probed = [
        c for c in [*spec.get("initContainers", ()), *spec["containers"]] if "livenessProbe" in c
    ]
    for container in probed:
        probe = container["livenessProbe"]
        probe["initialDelaySeconds"] = max(seconds, probe.get("initialDelaySeconds", 0))
        startup = container.get("startupProbe")
        if startup is not None:
            killed = (
                probe["initialDelaySeconds"] + probe["periodSeconds"] * probe["failureThreshold"]
            )
            needed = -(-(killed - startup["initialDelaySeconds"]) // startup["periodSeconds"])
            startup["failureThreshold"] = max(startup["failureThreshold"], needed)
    if not probed:
        report.ignored("healthCheckGracePeriodSeconds", "no essential container has a health check")


def _no_health_checks(td: RegisterTaskDefinitionRequest) -> bool:
    return not any(cd.healthCheck for cd in td.containerDefinitions if is_essential(cd))


def report_unrendered(svc: CreateServiceRequest, report: Report) -> None:
    """The members of the request as a whole that no object carries (reported once per
    service, however many workloads it is split into)."""
    controller = svc.deploymentController
    if controller is not None and controller.type != "ECS":
        report.unsupported("deploymentController", f"{controller.type} deployments")
    config = svc.deploymentConfiguration
    if config is not None and config.strategy not in (None, "ROLLING"):
        report.unsupported("deploymentConfiguration.strategy", "only rolling updates")
    request.report_members(svc, REPORTED, report)


def render_service(
    svc: CreateServiceRequest,
    td: RegisterTaskDefinitionRequest,
    options: request.Options,
    revision: int | None = None,
    *,
    force_new_deployment: str | None = None,
) -> RenderedService:
    """The workload of ``svc`` running ``td`` (``svc`` names one capacity provider at most:
    plan/service.py splits a strategy of several); ``force_new_deployment`` is the ECS
    Service's ``ecs-operator.dev/force-new-deployment`` annotation."""
    report = Report()
    ctx = request.context(svc, td, options, revision, report)
    rendered = render_pod_template(td, ctx)
    template = rendered.pod_template
    if force_new_deployment:
        template["metadata"].setdefault("annotations", {})[keys.ANNOTATION_FORCE_NEW_DEPLOYMENT] = (
            force_new_deployment
        )
    template["metadata"]["labels"].update(awsvpc.security_group_labels(svc))
    awsvpc.report_awsvpc(svc, report)
    if svc.healthCheckGracePeriodSeconds:
        _delay_liveness(template, svc.healthCheckGracePeriodSeconds, report)
    annotations = {
        keys.ANNOTATION_SERVICE: svc.serviceName,
        **request.request_annotations(svc, ctx.cluster),
    }
    meta = workloads.Meta(
        dns_label(svc.serviceName),
        options.namespace,
        dict(template["metadata"]["labels"]),
        annotations,
    )
    selector = metadata.selector_labels(td.family, ctx)
    config = svc.deploymentConfiguration
    max_percent = config.maximumPercent if config else None
    min_healthy = config.minimumHealthyPercent if config else None
    if svc.schedulingStrategy == "DAEMON":
        if svc.desiredCount is not None:
            report.ignored("desiredCount", "a daemon runs one task per node")
        if ctx.placement.is_fargate:
            report.unsupported("schedulingStrategy", "DAEMON runs on EC2 capacity only")
        update = workloads.daemon_update(max_percent, min_healthy, report)
        workload = workloads.daemon_set(meta, template, selector, update)
    else:
        replicas = 1 if svc.desiredCount is None else svc.desiredCount
        strategy = workloads.rolling_update(replicas, max_percent, min_healthy, report)
        ready = NO_HEALTH_CHECK_READY_SECONDS if _no_health_checks(td) else 0
        workload = workloads.deployment(meta, template, selector, replicas, strategy, ready)
    return RenderedService(
        workload=workload,
        pod=rendered,
        findings=tuple(report.findings),
        references=tuple(report.references),
    )
