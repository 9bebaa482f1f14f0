"""User stories for standalone tasks (RunTask) on the real control plane. Pods on the devcluster
finish the way kwok's simulation annotations say (ecs_operator_devtools/devcluster/stages.yaml
in devtools/): the Task's ``sim.ecs-operator.dev/*`` annotations reach its pods."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.support.ecs import apply, ec2_task_definition, events, resource, status
from tests.support.kube import Kube, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration


def _task(name: str, spec: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return resource("Task", name, spec, annotations=annotations)


def _stopped(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    current = status(kube, namespace, "Task", name)
    return current if current.get("lastStatus") == "STOPPED" else None


def test_run_task_with_command_override_runs_count_pods_to_completion(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    overrides = {"containerOverrides": [{"name": "app", "command": ["echo", "hello"]}]}
    apply(
        namespace,
        ec2_task_definition("batch"),
        _task(
            "batch-run",
            {"taskDefinition": "batch", "count": 2, "launchType": "EC2", "overrides": overrides},
            **{"sim.ecs-operator.dev/exit-code": "0", "sim.ecs-operator.dev/run-ms": "1500"},
        ),
    )

    def running() -> list[Any]:
        pods = kube.pods(namespace)
        return pods if len(pods) == 2 and all(p.status.phase == "Running" for p in pods) else []

    pods = wait_for(running, 60, "2 running task pods")
    assert all(p.spec.restart_policy == "Never" for p in pods)
    assert all(p.spec.containers[0].args == ["echo", "hello"] for p in pods)

    done = wait_for(lambda: _stopped(kube, namespace, "batch-run"), 60, "the task to stop")
    assert done["desiredStatus"] == "STOPPED"
    assert [t["lastStatus"] for t in done["tasks"]] == ["STOPPED", "STOPPED"]
    assert all(c["exitCode"] == 0 for t in done["tasks"] for c in t["containers"])


def test_a_task_runs_for_the_simulated_run_time_in_milliseconds(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        ec2_task_definition("timed"),
        _task(
            "timed-run",
            {"taskDefinition": "timed", "launchType": "EC2"},
            **{"sim.ecs-operator.dev/exit-code": "0", "sim.ecs-operator.dev/run-ms": "8000"},
        ),
    )
    wait_for(
        lambda: [p for p in kube.pods(namespace) if p.status.phase == "Running"],
        60,
        "the task's pod to run",
    )
    running_since = time.monotonic()

    time.sleep(4)  # the default run time (1 s) is long over, run-ms (8 s) is not
    assert status(kube, namespace, "Task", "timed-run")["lastStatus"] == "RUNNING"
    wait_for(lambda: _stopped(kube, namespace, "timed-run"), 30, "the task to stop")
    assert time.monotonic() - running_since >= 7


def test_an_essential_container_exiting_stops_the_task(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    td = ec2_task_definition("pair")
    td["spec"]["containerDefinitions"].append(
        {"name": "sidecar", "image": "busybox:1.36", "memory": 64, "essential": False}
    )
    apply(
        namespace,
        td,
        _task(
            "pair-run",
            {"taskDefinition": "pair", "launchType": "EC2"},
            **{"sim.ecs-operator.dev/exit-container": "app", "sim.ecs-operator.dev/exit-code": "3"},
        ),
    )

    done = wait_for(lambda: _stopped(kube, namespace, "pair-run"), 60, "the task to stop")
    task = done["tasks"][0]
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"  # ECS's words
    assert {c["name"]: c.get("exitCode") for c in task["containers"]}["app"] == 3
    wait_for(lambda: not kube.pods(namespace), 30, "the task's pod to be ended")
    assert any("EssentialContainerExited" in m for m in events(namespace, "pair-run"))


def test_setting_desired_status_stopped_stops_the_task(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    spec = {"taskDefinition": "sleeper", "launchType": "EC2"}
    apply(namespace, ec2_task_definition("sleeper"), _task("sleeper-run", spec))
    wait_for(
        lambda: status(kube, namespace, "Task", "sleeper-run").get("lastStatus") == "RUNNING",
        60,
        "RUNNING",
    )

    apply(namespace, _task("sleeper-run", {**spec, "desiredStatus": "STOPPED"}))

    done = wait_for(lambda: _stopped(kube, namespace, "sleeper-run"), 60, "the task to stop")
    assert done["tasks"][0]["stopCode"] == "UserInitiated"
    wait_for(lambda: not kube.pods(namespace), 30, "the pod to be ended")


def test_a_task_no_node_can_take_waits_and_says_why(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """A GPU task where no node has a GPU: the real scheduler cannot place its pod, and the
    Task stays PROVISIONING (a node may come), its Ready message and a Warning Event giving
    the scheduler's reason."""
    gpu = [{"type": "GPU", "value": "1"}]
    definition = ec2_task_definition("trainer")
    definition["spec"]["containerDefinitions"][0]["resourceRequirements"] = gpu
    apply(namespace, definition, _task("train", {"taskDefinition": "trainer"}))

    def waiting() -> str | None:
        current = status(kube, namespace, "Task", "train")
        ready = {c["type"]: c for c in current.get("conditions") or []}.get("Ready", {})
        return ready.get("message") or None

    message = wait_for(waiting, 60, "the Task to say why its task waits")
    assert message.startswith("unable to place task train-0 because no container instance")
    assert "nvidia.com/gpu" in message, message
    assert status(kube, namespace, "Task", "train")["lastStatus"] == "PROVISIONING"
    wait_for(lambda: message in events(namespace, "train"), 30, "the Warning Event")
