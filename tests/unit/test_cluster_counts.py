"""handlers/cluster.py's counts: a Cluster's running and pending tasks, per capacity provider."""

from __future__ import annotations

from typing import Any

from ecs_operator.handlers.cluster import cluster_status
from ecs_operator.render import keys
from ecs_operator.render.names import label_value

CLUSTER = {
    "metadata": {"name": "default", "namespace": "shop", "generation": 1},
    "spec": {"clusterName": "default", "capacityProviders": ["FARGATE", "FARGATE_SPOT"]},
}


def pod(name: str, provider: str, phase: str | None, node: str | None = "node-1") -> dict[str, Any]:
    labels = {keys.LABEL_CAPACITY_PROVIDER: label_value(provider)}
    status = {} if phase is None else {"phase": phase}
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"name": name, "labels": labels}, "spec": spec, "status": status}


def test_tasks_are_counted_by_phase_for_the_cluster_and_each_provider() -> None:
    pods = [
        pod("a", "FARGATE", "Running"),
        pod("b", "FARGATE", "Running"),
        pod("c", "FARGATE", None),  # no phase yet: pending
        pod("d", "FARGATE_SPOT", "Pending"),
        pod("e", "FARGATE_SPOT", "Succeeded"),  # neither
        pod("f", "FARGATE_SPOT", "Pending", node=None),  # neither: no node took it yet
    ]
    status = cluster_status(CLUSTER, [], pods, services=2)
    assert (status["runningTasksCount"], status["pendingTasksCount"]) == (2, 2)
    assert status["capacityProviders"] == [
        {"name": "FARGATE", "runningTasksCount": 2, "pendingTasksCount": 1},
        {"name": "FARGATE_SPOT", "runningTasksCount": 0, "pendingTasksCount": 1},
    ]
