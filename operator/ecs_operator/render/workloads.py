"""Workload objects around a rendered pod template: Deployment (REPLICA service), DaemonSet
(DAEMON service), bare Pods (RunTask) and PodTemplate (a task definition on its own).

Rolling updates follow ECS's bounds exactly (docs/mapping.md, "Deployments"): with N desired
tasks, maximumPercent Mx and minimumHealthyPercent Mn, ECS runs at most floor(N * Mx / 100) and
keeps at least ceil(N * Mn / 100) healthy, so maxSurge = floor(N * Mx / 100) - N and
maxUnavailable = N - ceil(N * Mn / 100), as absolute numbers (Kubernetes rounds percentages
the other way for surge). A surge is never more than N (a Deployment's new ReplicaSet never grows
past its replicas, so more surge changes nothing), nor, for a DaemonSet, more than 100% (one
extra pod per node): that keeps both within the 32-bit integers Kubernetes takes, whatever
maximumPercent is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from . import placement
from .findings import Report
from .pod import ordered_spec

DEFAULT_MAX_PERCENT = 200
DEFAULT_MIN_HEALTHY_PERCENT = 100
DAEMON_MAX_PERCENT = 100
DAEMON_MIN_HEALTHY_PERCENT = 0


@dataclass(frozen=True, slots=True)
class Meta:
    """Name, namespace, labels and annotations of a workload object."""

    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]

    def render(self, *, generate: bool = False) -> dict[str, Any]:
        """``metadata`` (``generateName`` instead of ``name`` when ``generate``)."""
        out: dict[str, Any] = {"generateName" if generate else "name": self.name}
        out["namespace"] = self.namespace
        out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def rolling_update(
    desired: int, max_percent: int | None, min_healthy: int | None, report: Report
) -> dict[str, int]:
    """``maxSurge``/``maxUnavailable`` reproducing ECS's deployment bounds for ``desired``."""
    mx = DEFAULT_MAX_PERCENT if max_percent is None else max_percent
    mn = DEFAULT_MIN_HEALTHY_PERCENT if min_healthy is None else min_healthy
    surge = min(max(desired * mx // 100 - desired, 0), desired)
    unavailable = max(desired - -(-desired * mn // 100), 0)
    if surge == 0 and unavailable == 0:
        if desired:
            report.approx(
                "deploymentConfiguration",
                f"{mx}%/{mn}% leaves no room to replace a task; one extra task is allowed",
            )
        surge = 1
    return {"maxSurge": surge, "maxUnavailable": unavailable}


def daemon_update(
    max_percent: int | None, min_healthy: int | None, report: Report
) -> dict[str, Any]:
    """DaemonSet ``rollingUpdate`` from a DAEMON service's percentages (per node)."""
    mx = DAEMON_MAX_PERCENT if max_percent is None else max_percent
    mn = DAEMON_MIN_HEALTHY_PERCENT if min_healthy is None else min_healthy
    surge, unavailable = min(max(mx - 100, 0), 100), max(100 - mn, 0)
    if surge == 0 and unavailable:
        return {"maxSurge": 0, "maxUnavailable": f"{unavailable}%"}
    if surge == 0:
        report.approx(
            "deploymentConfiguration",
            "100%/100% cannot replace a daemon task; one node at a time is replaced",
        )
        return {"maxSurge": 0, "maxUnavailable": 1}
    return {"maxSurge": f"{surge}%", "maxUnavailable": f"{unavailable}%"}


def deployment(
    meta: Meta,
    template: dict[str, Any],
    selector: dict[str, str],
    replicas: int,
    strategy: dict[str, Any],
    min_ready_seconds: int = 0,
) -> dict[str, Any]:
    """A Deployment for a REPLICA service."""
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(selector)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": strategy},
    }
    if min_ready_seconds:
        spec["minReadySeconds"] = min_ready_seconds
    spec["template"] = template
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta.render(), "spec": spec}


def exclude_fargate_nodes(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` that never schedules onto Fargate's virtual nodes (many
    DaemonSets tolerate every taint, so a taint alone does not keep them off)."""
    template = copy.deepcopy(template)
    placement.keep_off_fargate_nodes(template["spec"])
    template["spec"] = ordered_spec(template["spec"])
    return template


def daemon_set(
    meta: Meta, template: dict[str, Any], selector: dict[str, str], update: dict[str, Any]
) -> dict[str, Any]:
    """A DaemonSet for a DAEMON service (EC2 capacity only)."""
    spec = {
        "selector": {"matchLabels": dict(selector)},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": update},
        "template": exclude_fargate_nodes(template),
    }
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta.render(), "spec": spec}


def pod(meta: Meta, template: dict[str, Any], *, generate: bool = True) -> dict[str, Any]:
    """A bare Pod for one RunTask task (``restartPolicy: Never``: tasks are not restarted)."""
    metadata = meta.render(generate=generate)
    metadata["labels"] = {**template["metadata"].get("labels", {}), **metadata["labels"]}
    metadata["annotations"] = {
        **template["metadata"].get("annotations", {}),
        **metadata.get("annotations", {}),
    }
    spec = {**copy.deepcopy(template["spec"]), "restartPolicy": "Never"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def pod_template(meta: Meta, template: dict[str, Any]) -> dict[str, Any]:
    """A PodTemplate: a task definition is a template, and runs nothing by itself."""
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": meta.render(),
        "template": template,
    }
