"""The operator as users install it: the chart (Helm), the image from the repository's
Dockerfile (`make image`), running on a real kubelet node, and doing its job from there.

kwok could only say that the API server accepts the chart's Deployment; here the pod really
runs: the kubelet enforces the chart's securityContext on the image, the readiness probe gates
the Deployment's Available condition, and the operator reaches the API server through the
`kubernetes` Service with the ServiceAccount token the kubelet projects (the image holds no
other credentials), under the chart's RBAC.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.ecs import apply, condition, resource, status
from tests.support.kube import Kube, wait_for
from tests.support.operator_pod import REAL_POOL, OperatorPod

from ecs_operator_devtools.devcluster.images import BUSYBOX

pytestmark = pytest.mark.real


def test_the_charts_operator_runs_as_65532_on_a_read_only_root_on_the_real_node(
    ecs_operator: OperatorPod,
) -> None:
    pod: Any = ecs_operator.pod()
    assert pod["spec"]["nodeName"] == f"{REAL_POOL}-0"
    (container,) = pod["status"]["containerStatuses"]
    assert container["ready"] is True
    assert container["restartCount"] == 0
    assert container["image"].endswith(ecs_operator.reference)
    assert ecs_operator.exec("id", "-u").strip() == "65532"
    refused = ecs_operator.exec("touch", "/opt/venv/written", check=False)
    assert "Read-only file system" in refused
    assert "usage: ecs-operator" in ecs_operator.exec("ecs-operator", "--help")


def test_the_charts_operator_runs_a_task_on_the_real_node_to_its_exit_code(
    ecs_operator: OperatorPod, kube: Kube, namespace: str
) -> None:
    """RunTask on capacity provider `real` of a Cluster: the container really runs and exits
    7, and the Task reports it as ECS does."""
    apply(
        namespace,
        resource(
            "Cluster",
            "metal",
            {
                "clusterName": "metal",
                "capacityProviders": [REAL_POOL],
                "defaultCapacityProviderStrategy": [{"capacityProvider": REAL_POOL, "weight": 1}],
            },
        ),
        resource(
            "TaskDefinition",
            "exits",
            {
                "family": "exits",
                "requiresCompatibilities": ["EC2"],
                "containerDefinitions": [
                    {
                        "name": "app",
                        "image": BUSYBOX,
                        "memory": 32,
                        "essential": True,
                        "command": ["sh", "-c", "echo about to exit; exit 7"],
                    }
                ],
            },
        ),
        resource("Task", "exits-run", {"cluster": "metal", "taskDefinition": "exits"}),
    )
    wait_for(
        lambda: (
            condition(status(kube, namespace, "Cluster", "metal"), "Ready").get("status") == "True"
        ),
        60,
        "the Cluster to be Ready",
    )

    def stopped() -> dict[str, Any] | None:
        current = status(kube, namespace, "Task", "exits-run")
        return current if current.get("lastStatus") == "STOPPED" else None

    task = wait_for(stopped, 120, "the task to stop")["tasks"][0]
    assert task["stopCode"] == "EssentialContainerExited"
    # kwok's simulation would exit 0: only the real container exits 7
    assert [c["exitCode"] for c in task["containers"]] == [7]
