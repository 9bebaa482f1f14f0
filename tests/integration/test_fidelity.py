"""Task definitions as people write them (issue #15), on the real control plane: a Windows task
definition that names no runtimePlatform, and a FireLens task whose containers wait for their
log router as the ECS agent makes them wait. (memberOf regular expressions:
test_operator_network.py; the refusals where ECS is stricter: the bad-input corpus.)"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.ecs import apply, resource, status
from tests.support.kube import Kube, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

#: kwok's pods run until told otherwise; these finish on their own, so no test waits for a stop
RUN = {"sim.ecs-operator.dev/exit-code": "0", "sim.ecs-operator.dev/run-ms": "60000"}


def _running_pod(kube: Kube, namespace: str) -> Any:
    def running() -> Any:
        pods = [p for p in kube.pods(namespace) if p.status.phase == "Running"]
        return pods[0] if pods else None

    return wait_for(running, 60, "the task's pod to run")


def test_a_windows_task_definition_without_runtime_platform_runs_on_the_windows_node(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """The ECS Anywhere IIS example: on EC2, ECS needs no runtimePlatform for Windows."""
    iis = {
        "name": "iis",
        "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2019",
        "memory": 256,
        "cpu": 256,
        "portMappings": [{"containerPort": 80}],
    }
    apply(
        namespace,
        resource("TaskDefinition", "iis", {"family": "iis", "containerDefinitions": [iis]}),
        resource("Task", "iis", {"taskDefinition": "iis", "launchType": "EC2"}, annotations=RUN),
    )
    pod = _running_pod(kube, namespace)
    assert pod.spec.node_name == "windows-0"
    assert pod.spec.os.name == "windows"
    findings = status(kube, namespace, "Task", "iis").get("findings") or []
    assert any(
        f["path"] == "runtimePlatform" and "Windows inferred from" in f["message"] for f in findings
    ), findings


def test_containers_logging_through_firelens_start_after_their_log_router(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """No dependsOn written: the agent adds START on the router, and so does the operator."""
    router = {
        "name": "log_router",
        "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
        "memory": 64,
        "essential": True,
        "firelensConfiguration": {"type": "fluentbit"},
    }
    app = {
        "name": "app",
        "image": "httpd:2.4",
        "memory": 128,
        "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "stdout"}},
    }
    spec = {"family": "logged", "containerDefinitions": [app, router]}
    apply(
        namespace,
        resource("TaskDefinition", "logged", spec),
        resource(
            "Task", "logged", {"taskDefinition": "logged", "launchType": "EC2"}, annotations=RUN
        ),
    )
    pod = _running_pod(kube, namespace)
    assert [c.name for c in pod.spec.init_containers] == ["log-router"]
    assert pod.spec.init_containers[0].restart_policy == "Always"
    assert [c.name for c in pod.spec.containers] == ["app"]
    started = {
        s.name: s.state.running.started_at
        for s in [*pod.status.init_container_statuses, *pod.status.container_statuses]
        if s.state.running
    }
    assert started["log-router"] <= started["app"]

    def reported() -> list[str] | None:
        tasks = status(kube, namespace, "Task", "logged").get("tasks") or []
        names = [c["name"] for t in tasks for c in t.get("containers") or []]
        return names if "log_router" in names else None

    assert sorted(wait_for(reported, 30, "the Task's containers by their ECS names")) == [
        "app",
        "log_router",
    ]
