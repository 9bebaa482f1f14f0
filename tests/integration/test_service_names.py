"""ECS service names are unique: a second Service with a serviceName already in use runs
nothing, says why, and takes the name over once the first one is deleted."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.ecs import (
    apply,
    condition,
    fargate_task_definition,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration


def _warnings(kube: Kube, namespace: str, name: str) -> list[tuple[str, str]]:
    return [
        (str(e.reason), str(e.message))
        for e in kube.core.list_namespaced_event(namespace).items
        if e.type == "Warning" and e.involved_object.name == name
    ]


def _controllers(kube: Kube, namespace: str) -> dict[str, str]:
    """Each Deployment of the namespace, by the ECS Service that controls it."""
    found = {}
    for deployment in kube.apps.list_namespaced_deployment(namespace).items:
        for ref in deployment.metadata.owner_references or []:
            if ref.controller:
                found[deployment.metadata.name] = ref.name
    return found


def test_a_second_service_with_a_name_in_use_waits_and_takes_over_after_the_first(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("web"),
        service("first", "web", serviceName="web", desiredCount=2, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "first", 2)

    apply(
        namespace,
        service("second", "web", serviceName="web", desiredCount=1, launchType="FARGATE"),
    )

    def refused() -> dict[str, Any]:
        degraded = condition(status(kube, namespace, "Service", "second"), "Degraded")
        return degraded if degraded.get("reason") == "ServiceNameInUse" else {}

    degraded = wait_for(refused, 30, "the second service reports the clash")
    assert degraded["status"] == "True"
    assert "serviceName: web is already used by Service first" in degraded["message"]
    wait_for(
        lambda: any(
            reason == "ServiceNameInUse" and "Service first" in message
            for reason, message in _warnings(kube, namespace, "second")
        ),
        10,
        "a Warning Event on the second service",
    )
    # The first one keeps what it has: its Deployment, its two tasks.
    assert _controllers(kube, namespace) == {"web": "first"}
    assert wait_steady(kube, namespace, "first", 2)["desiredCount"] == 2

    kubectl("delete", "services.ecs-operator.dev", "first", "-n", namespace)

    # The queue's backoff is at most a minute; the first one's pods going usually wake it first.
    taken_over = wait_steady(kube, namespace, "second", 1, timeout=90)
    assert condition(taken_over, "Degraded")["status"] == "False"
    wait_for(
        lambda: _controllers(kube, namespace) == {"web": "second"},
        30,
        "the Deployment owned by the second service",
    )
