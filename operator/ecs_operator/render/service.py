"""A CreateService request and its task definition to a Deployment (REPLICA) or DaemonSet
(DAEMON), with the ServiceAccount of the task role and the objects attached to the service
(attached.py: Services for load balancers, Cloud Map and Service Connect, a
HorizontalPodAutoscaler, a PodDisruptionBudget).

Members of the request that Kubernetes cannot carry (VPC Lattice, alarms, blue/green...) are
reported, never dropped silently.
"""

from __future__ import annotations

from typing import Any

from ..api.shapes import CreateServiceRequest, RegisterTaskDefinitionRequest
from . import awsvpc, keys, lifecycle, metadata, request, workloads
from .attached import render_attached
from .findings import FindingKind, Report
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
    "clientToken": ("ignored", "Kubernetes objects are idempotent by name"),
    "monitoring": ("ignored", "metrics come from the cluster's monitoring"),
}


def _delay_liveness(template: dict[str, Any], seconds: int, report: Report) -> None:
    """``healthCheckGracePeriodSeconds``: container health is not acted on for that long."""
    spec = template["spec"]
    probed = [
        c for c in [*spec.get("initContainers", ()), *spec["containers"]] if "livenessProbe" in c
    ]
    for container in probed:
        container["livenessProbe"]["initialDelaySeconds"] = seconds
    if not probed:
        report.ignored("healthCheckGracePeriodSeconds", "no container has a health check")


def _no_health_checks(td: RegisterTaskDefinitionRequest) -> bool:
    return not any(cd.healthCheck for cd in td.containerDefinitions if lifecycle.is_essential(cd))


def _special_cases(svc: CreateServiceRequest, report: Report) -> None:
    controller = svc.deploymentController
    if controller is not None and controller.type != "ECS":
        report.unsupported("deploymentController", f"{controller.type} deployments")
    config = svc.deploymentConfiguration
    if config is not None and config.strategy not in (None, "ROLLING"):
        report.unsupported("deploymentConfiguration.strategy", "only rolling updates")


def render_service(
    svc: CreateServiceRequest,
    td: RegisterTaskDefinitionRequest,
    options: request.Options,
    revision: int | None = None,
    *,
    name: str | None = None,
    load_balancer_type: str | None = None,
    force_new_deployment: str | None = None,
) -> request.RenderedWorkload:
    """The objects of ``svc`` running ``td``: ServiceAccount, workload, then the attached
    objects. ``name`` is the ECS Service object's name, ``load_balancer_type`` its
    ``ecs-operator.dev/load-balancer-type`` annotation (see attached.py) and
    ``force_new_deployment`` its ``ecs-operator.dev/force-new-deployment`` one."""
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
    attached = render_attached(
        svc,
        template,
        options.namespace,
        name=name,
        load_balancer_type=load_balancer_type,
        report=report,
    )
    _special_cases(svc, report)
    request.report_members(svc, REPORTED, report)
    return request.RenderedWorkload(
        objects=(rendered.service_account, workload, *attached),
        pod=rendered,
        findings=tuple(report.findings),
        references=tuple(report.references),
    )
