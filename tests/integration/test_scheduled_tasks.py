"""A ScheduledTask on the real control plane: its firing creates a Task that runs and stops
with its exit code (kwok's simulation, as in test_operator_tasks.py), and DISABLED stops the
firings. A rate schedule's first firing is at once; the test then waits out its second."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.ecs import (
    GROUP,
    VERSION,
    apply,
    condition,
    ec2_task_definition,
    resource,
    status,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

LABEL = "ecs-operator.dev/scheduled-task"


def _tasks(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    listed = kube.custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "tasks", label_selector=f"{LABEL}=etl"
    )
    return list(listed["items"])


def test_a_rate_schedule_runs_tasks_until_disabled(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    spec = {
        "scheduleExpression": "rate(1 minute)",
        "flexibleTimeWindow": {"mode": "OFF"},
        "target": {"ecsParameters": {"taskDefinitionArn": "etl", "launchType": "EC2"}},
    }
    simulation = {"sim.ecs-operator.dev/exit-code": "3", "sim.ecs-operator.dev/run-ms": "1000"}
    apply(
        namespace,
        ec2_task_definition("etl"),
        resource("ScheduledTask", "etl", spec, annotations=simulation),
    )

    (task,) = wait_for(lambda: _tasks(kube, namespace), 30, "the first firing's Task")
    name = task["metadata"]["name"]
    assert task["spec"]["startedBy"] == "chronos-schedule/etl"

    def stopped() -> dict[str, Any] | None:
        current = status(kube, namespace, "Task", name)
        return current if current.get("lastStatus") == "STOPPED" else None

    done = wait_for(stopped, 40, "the scheduled task to stop")
    assert [c["exitCode"] for t in done["tasks"] for c in t["containers"]] == [3]

    # the newest firing's Task (a slow stop may see the next minute's firing too)
    reported = status(kube, namespace, "ScheduledTask", "etl")
    assert reported["lastTaskName"] == max(t["metadata"]["name"] for t in _tasks(kube, namespace))
    next_firing = datetime.fromisoformat(reported["nextFiringTime"])
    assert condition(reported, "Ready")["reason"] == "Scheduled"

    patch = '{"spec": {"state": "DISABLED"}}'
    kubectl(
        "patch",
        "-n",
        namespace,
        "scheduledtasks.ecs-operator.dev",
        "etl",
        "--type=merge",
        "-p",
        patch,
    )
    disabled = wait_for(
        lambda: (
            (s := status(kube, namespace, "ScheduledTask", "etl")).get("state") == "DISABLED" and s
        ),
        20,
        "the schedule reported disabled",
    )
    assert "nextFiringTime" not in disabled
    assert condition(disabled, "Ready")["reason"] == "Disabled"
    fired = [t["metadata"]["name"] for t in _tasks(kube, namespace)]

    # past the next firing's time (and the operator's wake-up for it): no new Task
    wait_for(
        lambda: datetime.now(UTC).timestamp() > next_firing.timestamp() + 5,
        70,
        "the second firing's time to pass",
    )
    assert [t["metadata"]["name"] for t in _tasks(kube, namespace)] == fired
