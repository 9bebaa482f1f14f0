"""Services on a real kubelet: health checks the kubelet really runs decide when a service is
steady, when a task is UNHEALTHY and replaced, and when a rolling update's circuit breaker
trips and rolls back; a DAEMON service runs a task on the real node. What is asserted is what
`aws ecs describe-services` / `describe-tasks` would show (`kubectl ecs`, the status)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.ecs import apply, condition, events, status, wait_steady
from tests.support.kube import Kube, wait_for
from tests.support.stories import (
    CLUSTER,
    FAST_CHECK,
    container,
    describe_task,
    ecs_service,
    kubectl_ecs,
    story_namespace,
    task_definition,
)

pytestmark = pytest.mark.real

FOREVER = "trap 'exit 0' TERM; while true; do sleep 0.2; done"


@pytest.fixture(scope="module")
def ns(ecs_operator: object, kube: Kube) -> Iterator[str]:
    yield from story_namespace(kube, "real-services")


def _task_ids(namespace: str, service: str, *flags: str) -> list[str]:
    listed = kubectl_ecs(namespace, "list-tasks", "--cluster", CLUSTER, "--service-name", service,
                         *flags, "-o", "json")  # fmt: skip
    return [arn.rsplit("/", 1)[-1] for arn in json.loads(listed)["taskArns"]]


def _one_task(namespace: str, service: str) -> str:
    ids = wait_for(lambda: _task_ids(namespace, service), 90, f"a task of {service}")
    [task_id] = ids
    return task_id


def _pod_warned(kube: Kube, namespace: str, pod: str, words: str) -> bool:
    listed = kube.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod}")
    return any(words in (e.message or "") for e in listed.items)


def test_a_service_is_steady_once_its_check_passes_and_an_unhealthy_task_is_replaced(
    ns: str, kube: Kube
) -> None:
    """The check tests a flag on a task volume (it outlives a container's restart): missing at
    first (the check fails: not steady), created by the test (steady, HEALTHY), removed (the
    task turns UNHEALTHY and the kubelet replaces its container)."""
    apply(
        ns,
        task_definition(
            "flagged",
            container(
                "web",
                FOREVER,
                mountPoints=[{"sourceVolume": "health", "containerPath": "/health"}],
                healthCheck={"command": ["CMD-SHELL", "test -f /health/ok"], **FAST_CHECK},
                stopTimeout=2,
            ),
            volumes=[{"name": "health"}],
        ),
        # the grace period holds replacement off while the test makes the check pass
        ecs_service("flagged", "flagged", desiredCount=1, healthCheckGracePeriodSeconds=20),
    )
    task_id = _one_task(ns, "flagged")
    wait_for(
        lambda: _pod_warned(kube, ns, task_id, "Readiness probe failed"),
        60,
        "the kubelet to run the failing check",
    )
    current = status(kube, ns, "Service", "flagged")
    assert condition(current, "Ready").get("status") != "True"
    assert not any("steady state" in m for m in events(ns, "flagged"))
    assert describe_task(ns, task_id)["healthStatus"] == "UNKNOWN"

    kubectl_ecs(ns, "execute-command", "--cluster", CLUSTER, "--task", task_id,
                "--command", "touch /health/ok")  # fmt: skip
    wait_steady(kube, ns, "flagged", 1)
    described = describe_task(ns, task_id)
    assert described["healthStatus"] == "HEALTHY"
    assert described["containers"][0]["healthStatus"] == "HEALTHY"
    assert any("has reached a steady state" in m for m in events(ns, "flagged"))

    kubectl_ecs(ns, "execute-command", "--cluster", CLUSTER, "--task", task_id,
                "--command", "rm /health/ok")  # fmt: skip
    wait_for(
        lambda: describe_task(ns, task_id)["healthStatus"] == "UNHEALTHY",
        60,
        "the task to turn UNHEALTHY",
    )

    def restarted() -> bool:
        pod = kube.core.read_namespaced_pod(task_id, ns)
        return bool(pod.status.container_statuses[0].restart_count)

    wait_for(restarted, 90, "the kubelet to replace the unhealthy container")
    assert describe_task(ns, task_id)["containers"][0]["healthStatus"] == "UNHEALTHY"


def _steady_with_breaker(
    kube: Kube, ns: str, name: str, revision: dict[str, Any], breaker: dict[str, Any]
) -> None:
    """A one-task service ``name`` of ``revision`` with the circuit ``breaker``, steady; a new
    revision's task starts beside the old one (maximumPercent 200, minimumHealthyPercent 100)."""
    config = {"deploymentCircuitBreaker": breaker, "maximumPercent": 200}
    apply(
        ns,
        revision,
        ecs_service(
            name,
            name,
            desiredCount=1,
            deploymentConfiguration={**config, "minimumHealthyPercent": 100},
        ),
    )
    wait_steady(kube, ns, name, 1)


def test_a_revision_failing_its_check_trips_the_circuit_breaker_and_rolls_back(
    ns: str, kube: Kube
) -> None:
    def revision(check: str, note: str) -> dict[str, Any]:
        return task_definition(
            "api",
            container(
                "api",
                f"echo {note}; {FOREVER}",
                healthCheck={"command": ["CMD-SHELL", check], **FAST_CHECK},
                stopTimeout=2,
            ),
        )

    breaker = {
        "enable": True,
        "rollback": True,
        # two failed tasks fail the deployment (ECS's COUNT threshold), to keep the story short
        "thresholdConfiguration": {"type": "COUNT", "value": 2},
    }
    _steady_with_breaker(kube, ns, "api", revision("true", "revision one"), breaker)
    [healthy_task] = _task_ids(ns, "api")

    apply(ns, revision("exit 1", "revision two"))  # registers api:2; the service follows it

    def rolled_back() -> dict[str, Any] | None:
        """The status once revision one runs again (the pass that trips the breaker records
        the failure; the next one renders what it rolls back to)."""
        current = status(kube, ns, "Service", "api")
        marker = current.get("failedDeployment") or {}
        back = marker.get("rolledBackTo") and current["taskDefinition"].endswith("api:1")
        return current if back else None

    current = wait_for(rolled_back, 150, "the circuit breaker to roll the service back")
    assert current["failedDeployment"]["taskDefinition"].endswith("api:2")
    assert current["failedDeployment"]["rolledBackTo"].endswith("api:1")
    messages = events(ns, "api")
    assert any("deployment failed: tasks failed to start." in m for m in messages)
    assert any("rolling back to deployment" in m for m in messages)

    steady = wait_steady(kube, ns, "api", 1)
    assert steady["deployments"][0]["taskDefinition"].endswith("api:1")
    # the task of revision one served throughout (minimumHealthyPercent 100)
    assert _task_ids(ns, "api") == [healthy_task]
    assert describe_task(ns, healthy_task)["healthStatus"] == "HEALTHY"
    # the failed revision's tasks are gone from the node, and describable STOPPED, as ECS
    # keeps them: their container ended on SIGTERM (exit 0, the trap) when its pod was deleted
    stopped = wait_for(
        lambda: _task_ids(ns, "api", "--desired-status", "STOPPED"), 60, "api:2's tasks STOPPED"
    )
    for task_id in stopped:
        described = describe_task(ns, task_id)
        assert described["taskDefinitionArn"].endswith("api:2")
        assert described["stopCode"] == "ServiceSchedulerInitiated", json.dumps(described)
        assert described["containers"][0]["lastStatus"] == "STOPPED"
        assert described["containers"][0]["exitCode"] == 0


def test_a_revision_whose_image_cannot_be_pulled_trips_the_circuit_breaker_and_rolls_back(
    ns: str, kube: Kube
) -> None:
    """The kubelet backs off pulling a missing image for good, where ECS would stop the task,
    start another and count each failure: the pod counts once per grace period (the tests'
    operator: 3 s), so one task reaches ECS's threshold of 3 and the service rolls back."""

    def revision(image: str | None = None) -> dict[str, Any]:
        app = container(
            "app", FOREVER, healthCheck={"command": ["CMD-SHELL", "true"], **FAST_CHECK}
        )
        return task_definition("pull", {**app, **({"image": image} if image else {})})

    breaker = {"enable": True, "rollback": True}
    _steady_with_breaker(kube, ns, "pull", revision(), breaker)
    image = "registry.invalid/pull:2"
    apply(ns, revision(image))

    def rolled_back() -> dict[str, Any] | None:
        current = status(kube, ns, "Service", "pull")
        return current if (current.get("failedDeployment") or {}).get("rolledBackTo") else None

    current = wait_for(rolled_back, 120, "the circuit breaker to roll the service back")
    assert current["failedDeployment"]["taskDefinition"].endswith("pull:2")
    assert wait_steady(kube, ns, "pull", 1)["deployments"][0]["taskDefinition"].endswith("pull:1")
    [task_id] = wait_for(
        lambda: _task_ids(ns, "pull", "--desired-status", "STOPPED"), 60, "pull:2's task STOPPED"
    )
    described = describe_task(ns, task_id)
    assert described["stopCode"] == "TaskFailedToStart", json.dumps(described)
    reason = described["stoppedReason"]
    assert reason.startswith("CannotPullContainerError: ") and image in reason, reason


def test_a_daemon_service_runs_one_task_on_the_real_node(ns: str, kube: Kube) -> None:
    apply(
        ns,
        task_definition(
            "node-agent",
            container(
                "agent",
                f"echo agent on $(hostname); {FOREVER}",
                healthCheck={"command": ["CMD-SHELL", "true"], **FAST_CHECK},
            ),
        ),
        ecs_service("node-agent", "node-agent", schedulingStrategy="DAEMON"),
    )
    real_nodes = [n.metadata.name for n in kube.core.list_node(
        label_selector="ecs-operator.dev/node-pool=real").items]  # fmt: skip
    steady = wait_steady(kube, ns, "node-agent", len(real_nodes))
    assert steady["desiredCount"] == len(real_nodes)
    pods = kube.pods(ns, "ecs-operator.dev/service=node-agent")
    assert sorted(p.spec.node_name for p in pods) == sorted(real_nodes)
    task_id = pods[0].metadata.name
    logs = kubectl_ecs(ns, "logs", "--cluster", CLUSTER, "--task", task_id)
    assert logs.startswith("agent on ")
    assert describe_task(ns, task_id)["lastStatus"] == "RUNNING"
    [daemon_set] = kube.apps.list_namespaced_daemon_set(ns).items  # what runs it
    assert daemon_set.status.number_ready == len(real_nodes)
