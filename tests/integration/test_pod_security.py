"""Pod Security admission: a namespace that enforces ``baseline`` runs the pods of ordinary task
definitions, Services and Tasks alike; a task definition that needs more (a privileged
container, an added SYS_ADMIN) is reported in ECS terms: in ``status.findings`` before anything
runs, then as the Service's Degraded condition and service event, or as the Task's stop reason,
with the API server's refusal."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.ecs import (
    HEALTH_CHECK,
    apply,
    condition,
    ec2_task_definition,
    events,
    fargate_task_definition,
    resource,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

LEVEL = "baseline"
REFUSAL = f'violates PodSecurity "{LEVEL}:latest"'


@pytest.fixture
def baseline(kube: Kube, namespace: str) -> str:
    """The test namespace, enforcing (and warning and auditing) the baseline level."""
    labels = {f"pod-security.kubernetes.io/{mode}": LEVEL for mode in ("enforce", "warn", "audit")}
    kube.core.patch_namespace(namespace, {"metadata": {"labels": labels}})
    return namespace


def _privileged_findings(current: dict[str, Any]) -> set[str]:
    return {f["path"] for f in current.get("findings") or [] if f["kind"] == "privileged"}


def _running_task(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    current = status(kube, namespace, "Task", name)
    return current if current.get("lastStatus") == "RUNNING" else None


def _stopped_task(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    current = status(kube, namespace, "Task", name)
    return current if current.get("lastStatus") == "STOPPED" else None


def test_ordinary_services_and_tasks_run_under_baseline(
    operator: OperatorProcess, kube: Kube, baseline: str
) -> None:
    sidecar = {
        "name": "log-router",
        "image": "busybox:1.36",
        "essential": False,
        "memory": 64,
        "readonlyRootFilesystem": True,
        "user": "1000",
        "healthCheck": HEALTH_CHECK,
    }
    worker = ec2_task_definition("worker")
    worker["spec"]["containerDefinitions"].append(sidecar)
    worker["spec"]["volumes"] = [{"name": "scratch"}]
    apply(
        baseline,
        fargate_task_definition("web"),
        service("web", "web", desiredCount=2, launchType="FARGATE"),
        worker,
        service("worker", "worker", desiredCount=2, launchType="EC2"),
        resource("Task", "report", {"taskDefinition": "worker", "launchType": "EC2"}),
    )

    web = wait_steady(kube, baseline, "web", 2)
    workers = wait_steady(kube, baseline, "worker", 2)
    report = wait_for(lambda: _running_task(kube, baseline, "report"), 60, "the task running")

    for current in (web, workers, report):
        assert _privileged_findings(current) == set()
    assert len(kube.pods(baseline)) == 5


@pytest.mark.parametrize(
    "scheduling", [{"desiredCount": 2}, {"schedulingStrategy": "DAEMON"}], ids=["replica", "daemon"]
)
def test_a_service_that_needs_privileged_is_degraded_with_the_refusal(
    operator: OperatorProcess, kube: Kube, baseline: str, scheduling: dict[str, Any]
) -> None:
    """A DAEMON service too: its DaemonSet has no ReplicaFailure condition, and its controller
    tells the refusal in FailedCreate Events alone (handlers/daemon_failures.py), so it sat
    IN_PROGRESS, "0/N tasks running", nothing wrong."""
    agent = ec2_task_definition("agent")
    agent["spec"]["containerDefinitions"][0]["privileged"] = True
    apply(baseline, agent, service("agent", "agent", launchType="EC2", **scheduling))

    def degraded() -> dict[str, Any] | None:
        current = status(kube, baseline, "Service", "agent")
        found = condition(current, "Degraded")
        return current if found.get("reason") == "TaskLaunchFailed" else None

    current = wait_for(degraded, 60, "the service degraded by the refusal")

    found = condition(current, "Degraded")
    assert found["status"] == "True"
    assert REFUSAL in found["message"] and "privileged" in found["message"]
    assert condition(current, "Ready")["status"] == "False"
    assert current["runningCount"] == 0 and kube.pods(baseline) == []
    assert _privileged_findings(current) == {"containerDefinitions[0].privileged"}
    launch = [e["message"] for e in current["events"] if "failed to launch a task" in e["message"]]
    assert len(launch) == 1 and REFUSAL in launch[0]
    wait_for(lambda: launch[0] in events(baseline, "agent"), 10, "the service event")
    assert kube.pods(baseline) == []


def test_a_task_that_needs_privileged_stops_as_failed_to_start(
    operator: OperatorProcess, kube: Kube, baseline: str
) -> None:
    admin = ec2_task_definition("admin")
    admin["spec"]["containerDefinitions"][0]["linuxParameters"] = {
        "capabilities": {"add": ["SYS_ADMIN"]}
    }
    apply(
        baseline,
        admin,
        resource("Task", "admin", {"taskDefinition": "admin", "launchType": "EC2", "count": 2}),
    )

    current = wait_for(lambda: _stopped_task(kube, baseline, "admin"), 60, "the task stopped")

    assert len(current["tasks"]) == 2
    for task in current["tasks"]:
        assert task["stopCode"] == "TaskFailedToStart"
        assert REFUSAL in task["stoppedReason"] and "SYS_ADMIN" in task["stoppedReason"]
    assert _privileged_findings(current) == {
        "containerDefinitions[0].linuxParameters.capabilities.add"
    }
    assert condition(current, "Stopped")["status"] == "True"
    wait_for(
        lambda: any("TaskFailedToStart" in m and REFUSAL in m for m in events(baseline, "admin")),
        10,
        "a TaskStopped event with the refusal",
    )
    assert kube.pods(baseline) == []
