"""The objects a service has besides its workloads: the Services clients reach it through
(endpoints.py), the HorizontalPodAutoscaler of its ``autoScaling`` (scaling.py) and the
PodDisruptionBudget of its ``minimumHealthyPercent`` (availability.py).

They belong to the ECS service as a whole, not to one capacity provider's workload: they
select its pods by cluster and service only, and are rendered once from the whole request.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..api.models import ServiceSpec
from ..api.shapes import CreateServiceRequest
from . import availability, endpoints, keys, scaling
from .findings import Report
from .names import dns_label
from .workloads import Meta

#: the pod labels the attached objects select by (never the capacity provider or revision)
SELECTOR_KEYS = (keys.LABEL_CLUSTER, keys.LABEL_SERVICE)
#: the pod labels the attached objects carry themselves
LABEL_KEYS = (
    *SELECTOR_KEYS,
    keys.LABEL_APP_INSTANCE,
    keys.LABEL_APP_MANAGED_BY,
    keys.LABEL_APP_PART_OF,
)


def service_selector(template: Mapping[str, Any]) -> dict[str, str]:
    """The labels that select every pod of the service, whatever its provider or revision."""
    labels = template["metadata"]["labels"]
    return {key: labels[key] for key in SELECTOR_KEYS if key in labels}


def render_attached(
    svc: CreateServiceRequest,
    template: Mapping[str, Any],
    namespace: str,
    *,
    name: str | None = None,
    load_balancer_type: str | None = None,
    allowed_types: Collection[str] = endpoints.SERVICE_TYPES,
    disruption_budget: bool = True,
    report: Report,
) -> list[dict[str, Any]]:
    """Services, HPA and PDB of ``svc``, whose tasks run ``template``. ``name`` is the ECS
    Service object's name (what the HPA scales; default: the service name as a DNS label);
    ``load_balancer_type`` the annotation choosing the load balancers' Service type, if it is
    one of ``allowed_types``; ``disruption_budget``: whether the admin allows the PDB."""
    labels = template["metadata"]["labels"]
    annotations = {
        keys.ANNOTATION_SERVICE: svc.serviceName,
        keys.ANNOTATION_CLUSTER: template["metadata"]["annotations"][keys.ANNOTATION_CLUSTER],
    }
    meta = Meta(
        dns_label(svc.serviceName),
        namespace,
        {key: labels[key] for key in LABEL_KEYS if key in labels},
        annotations,
    )
    selector = service_selector(template)
    objects = endpoints.services(
        svc, template, meta, selector, load_balancer_type, report, allowed_types
    )
    if svc.schedulingStrategy == "DAEMON":
        return objects
    auto = svc.autoScaling if isinstance(svc, ServiceSpec) else None
    if auto is not None:
        target = name or dns_label(svc.serviceName)
        hpa = scaling.horizontal_pod_autoscaler(auto, meta, target, report)
        objects += [hpa] if hpa else []
    config = svc.deploymentConfiguration
    budget = availability.pod_disruption_budget(
        1 if svc.desiredCount is None else svc.desiredCount,
        config.minimumHealthyPercent if config else None,
        meta,
        selector,
        report,
        allowed=disruption_budget,
    )
    return objects + ([budget] if budget else [])
