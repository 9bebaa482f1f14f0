"""A REPLICA service's ``minimumHealthyPercent`` as a PodDisruptionBudget.

ECS keeps ceil(N * minimumHealthyPercent / 100) tasks healthy while it deploys and while it
drains a container instance; on Kubernetes the deployment half is the rolling update
(workloads.py) and the draining half is a PodDisruptionBudget, which the eviction API (node
drains, the cluster autoscaler) respects. One difference matters: ECS starts a replacement
before it stops a draining task, Kubernetes evicts first and replaces after. A budget of every
task (the default 100 %) would block every drain for good, so it allows one task down at a time.
A single task gets no budget (nothing could be evicted at all), nor does a budget of 0, nor
does a service in a namespace whose admin allows no budgets (policy.py): a budget can hold a
node whose drain it never allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .findings import Report
from .workloads import DEFAULT_MIN_HEALTHY_PERCENT, Meta

MIN_HEALTHY = "deploymentConfiguration.minimumHealthyPercent"


def min_available(desired: int, min_healthy_percent: int | None) -> int:
    """ceil(N * Mn / 100): the tasks ECS keeps healthy."""
    percent = DEFAULT_MIN_HEALTHY_PERCENT if min_healthy_percent is None else min_healthy_percent
    return -(-desired * percent // 100)


def pod_disruption_budget(
    desired: int,
    min_healthy_percent: int | None,
    meta: Meta,
    selector: Mapping[str, str],
    report: Report,
    allowed: bool = True,
) -> dict[str, Any] | None:
    """The budget of a REPLICA service with ``desired`` tasks; None when there is none (or the
    admin does not ``allow`` one)."""
    if desired <= 1:
        return None
    keep = min_available(desired, min_healthy_percent)
    if not allowed and keep > 0:
        report.approx(
            MIN_HEALTHY,
            "holds during deployments only: the admin allows no PodDisruptionBudget in this "
            "namespace, so a node drain may stop every task of the service it holds at once",
        )
        return None
    if keep >= desired:
        keep = desired - 1
        report.approx(
            MIN_HEALTHY,
            "evictions (node drains) may stop one task at a time: Kubernetes evicts before it "
            "replaces, and a budget of every task would block every drain",
        )
    if keep <= 0:
        return None
    spec = {
        "minAvailable": keep,
        "selector": {"matchLabels": dict(selector)},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta.render(),
        "spec": spec,
    }
