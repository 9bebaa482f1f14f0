"""Where a task runs, as ECS describes it (``launchType``, ``capacityProviderName``,
``availabilityZone``): read off its pod's labels while it has one, and from its record after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_operator.api.providers import FARGATE, FARGATE_PROVIDERS
from ecs_operator.nodes import LABEL_ZONE
from ecs_operator.render.keys import LABEL_CAPACITY_PROVIDER, LABEL_LAUNCH_TYPE

#: where a task runs, as ECS describes it; a task's record keeps it once its pod is gone
PLACEMENT = ("launchType", "capacityProviderName", "availabilityZone")


def where_placed(pod: Mapping[str, Any]) -> dict[str, str]:
    """Where a task runs, from its pod's labels: the launch type and capacity provider its plan
    gave it (a provider whose name is no valid label value shows as its label), and its
    Availability Zone, its node's zone, which the API server copies onto the pod as it binds
    it (Kubernetes 1.35+, the PodTopologyLabels admission plugin: none before it is bound, on
    older clusters, or on nodes without the label)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    found = zip(PLACEMENT, (LABEL_LAUNCH_TYPE, LABEL_CAPACITY_PROVIDER, LABEL_ZONE), strict=True)
    return {member: labels[label] for member, label in found if labels.get(label)}


def on_fargate(placed: Mapping[str, Any]) -> bool:
    """Whether a task placed so (a task as ECS describes it, or :func:`where_placed`'s) runs on
    Fargate: its launch type, or its capacity provider."""
    provider = placed.get("capacityProviderName")
    return provider in FARGATE_PROVIDERS or placed.get("launchType") == FARGATE


def placed_as_recorded(record: Mapping[str, Any]) -> dict[str, str]:
    """Where a task ran, as its record kept it (its pod gone)."""
    return {member: record[member] for member in PLACEMENT if record.get(member)}
