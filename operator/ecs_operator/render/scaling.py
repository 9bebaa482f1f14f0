"""Service Auto Scaling (the ``autoScaling`` extension) as a HorizontalPodAutoscaler.

The HPA's target is the ECS Service object itself, through the scale subresource of its CRD
(``spec.desiredCount``, ``status.runningCount``, ``status.selector``): the autoscaler writes
``desiredCount`` exactly as Application Auto Scaling does on ECS, the operator renders the
Deployments from it as always, and ``kubectl scale``, a GitOps tool and the HPA all move the same
number. Scaling a Deployment directly would fight the operator, which renders its replicas.

Target tracking on ``ECSServiceAverageCPUUtilization`` / ``...MemoryUtilization`` (percent of what
the tasks reserve) is a Resource metric at ``averageUtilization`` percent of the pods' requests.
Cooldowns become stabilization windows, which is close but not the same: Application Auto
Scaling waits after a scaling activity, an HPA acts on the most conservative recommendation of
the window. Unset cooldowns keep Kubernetes' defaults (scale out at once, in after 300 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import API_GROUP, API_VERSION
from ..api.models import ServiceAutoScaling, TargetTrackingScalingPolicy
from .findings import Report
from .workloads import Meta

METRICS = {
    "ECSServiceAverageCPUUtilization": "cpu",
    "ECSServiceAverageMemoryUtilization": "memory",
}
#: the longest stabilization window an HPA accepts
MAX_WINDOW_SECONDS = 3600
POLICIES = "autoScaling.targetTrackingScalingPolicies"


def _metric(policy: TargetTrackingScalingPolicy, path: str, report: Report) -> dict[str, Any]:
    utilization = max(round(policy.targetValue), 1)
    if utilization != policy.targetValue:
        report.approx(path + ".targetValue", f"an HPA targets whole percents: {utilization}")
    return {
        "type": "Resource",
        "resource": {
            "name": METRICS[policy.predefinedMetricType],
            "target": {"type": "Utilization", "averageUtilization": utilization},
        },
    }


def _window(cooldowns: Sequence[int | None], member: str, report: Report) -> int | None:
    """One stabilization window from the policies' cooldowns (the longest of them)."""
    given = [c for c in cooldowns if c is not None]
    if not given:
        return None
    if len(set(given)) > 1:
        report.approx(
            f"{POLICIES}.{member}", "an HPA has one window per direction: the longest is used"
        )
    if max(given) > MAX_WINDOW_SECONDS:
        report.approx(f"{POLICIES}.{member}", f"cut to the HPA's {MAX_WINDOW_SECONDS} s")
    return min(max(given), MAX_WINDOW_SECONDS)


def _behavior(policies: Sequence[TargetTrackingScalingPolicy], report: Report) -> dict[str, Any]:
    down = _window([p.scaleInCooldown for p in policies], "scaleInCooldown", report)
    up = _window([p.scaleOutCooldown for p in policies], "scaleOutCooldown", report)
    behavior: dict[str, Any] = {}
    if down is not None:
        behavior["scaleDown"] = {"stabilizationWindowSeconds": down}
    if up is not None:
        behavior["scaleUp"] = {"stabilizationWindowSeconds": up}
    if behavior:
        report.approx(
            POLICIES,
            "cooldowns are stabilization windows: the HPA acts on the most conservative "
            "recommendation of the window instead of pausing after each scaling",
        )
    return behavior


def horizontal_pod_autoscaler(
    scaling: ServiceAutoScaling, meta: Meta, target: str, report: Report
) -> dict[str, Any] | None:
    """The HPA scaling the ECS Service object named ``target``; None without target tracking
    policies (a scalable target without policies never scales)."""
    policies = scaling.targetTrackingScalingPolicies or []
    if not policies:
        report.ignored("autoScaling", "no target tracking policy: desiredCount is not scaled")
        return None
    minimum = max(scaling.minCapacity, 1)
    if scaling.minCapacity < minimum:
        report.approx(
            "autoScaling.minCapacity",
            "an HPA keeps 1 task at least (0 needs the HPAScaleToZero feature gate)",
        )
    maximum = max(scaling.maxCapacity, minimum)
    if scaling.maxCapacity < maximum:
        report.approx("autoScaling.maxCapacity", f"raised to {maximum}, the HPA's minimum")
    spec: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "Service",
            "name": target,
        },
        "minReplicas": minimum,
        "maxReplicas": maximum,
        "metrics": [_metric(p, f"{POLICIES}[{i}]", report) for i, p in enumerate(policies)],
    }
    behavior = _behavior(policies, report)
    if behavior:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta.render(),
        "spec": spec,
    }
