"""What a cluster admin meets running the operator for weeks, beyond the happy path: a quota
or a LimitRange refusing a task's pods, or a quota refusing a Service's children. Each test
states what ECS (or Kubernetes) leads the admin to expect."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client.rest import ApiException
from tests.support.ecs import (
    apply,
    condition,
    ec2_task_definition,
    events,
    resource,
    service,
    status,
)
from tests.support.kube import Kube, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration


def _quota(kube: Kube, namespace: str, **hard: str) -> None:
    kube.core.create_namespaced_resource_quota(
        namespace, {"metadata": {"name": "limits"}, "spec": {"hard": hard}}
    )


def test_a_task_partly_refused_by_a_quota_reports_the_task_that_runs_and_why_one_waits(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """RunTask of count 2 in a namespace whose ResourceQuota admits one pod: the first task
    runs and is reported; the second waits, and the Task says why (not Ready, the quota's
    refusal, a Warning Event), as ECS says why a task could not be placed. Before, the
    quota's 403 left the reconcile before its status write, on every retry: an empty status."""
    _quota(kube, namespace, pods="1")
    apply(
        namespace,
        ec2_task_definition("job"),
        resource("Task", "job", {"taskDefinition": "job", "launchType": "EC2", "count": 2}),
    )

    def reported() -> bool:
        current = status(kube, namespace, "Task", "job")
        tasks = {t["taskId"]: t for t in current.get("tasks") or []}
        ready = condition(current, "Ready")
        return (
            tasks.get("job-0", {}).get("lastStatus") == "RUNNING"
            and "exceeded quota" in ready.get("message", "")
            and current.get("lastStatus") == "PROVISIONING"
        )

    wait_for(reported, 60, "the running task reported, and why the other waits")
    assert any("exceeded quota" in m for m in events(namespace, "job"))


def test_a_service_whose_budget_a_quota_refuses_runs_and_says_why(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """A namespace whose quota allows no PodDisruptionBudget: the service's tasks run all the
    same, and the Service reads Degraded WriteRefused with the quota's words and a Warning
    Event. Before, the refusal ended every pass before the status write: an empty status, for
    good, while the tasks ran."""
    _quota(kube, namespace, **{"count/poddisruptionbudgets.policy": "0"})
    apply(namespace, ec2_task_definition("web"), service("web", "web", desiredCount=2))

    def reported() -> bool:
        current = status(kube, namespace, "Service", "web")
        degraded = condition(current, "Degraded")
        return (
            degraded.get("reason") == "WriteRefused"
            and "exceeded quota" in degraded.get("message", "")
            and current.get("runningCount") == 2
        )

    wait_for(reported, 60, "the service's tasks running, and the refused budget reported")
    assert any("exceeded quota" in m for m in events(namespace, "web"))


def test_a_task_refused_by_a_limit_range_stops_with_the_api_servers_reason(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """A LimitRange whose maximum the task's memory exceeds refuses the pod every time, until
    the admin changes it: the task stops with TaskFailedToStart and the API server's words, as
    a Pod Security refusal does (ECS stops a task that cannot start). Before, nothing said so:
    an empty status, and a traceback in the operator's log once a retry."""
    kube.core.create_namespaced_limit_range(
        namespace,
        {
            "metadata": {"name": "small"},
            "spec": {"limits": [{"type": "Container", "max": {"memory": "64Mi"}}]},
        },
    )
    apply(
        namespace,
        ec2_task_definition("big"),
        resource("Task", "big", {"taskDefinition": "big", "launchType": "EC2"}),
    )

    def stopped() -> dict[str, Any] | None:
        tasks = status(kube, namespace, "Task", "big").get("tasks") or []
        return next((t for t in tasks if t.get("lastStatus") == "STOPPED"), None)

    task = wait_for(stopped, 60, "the task stopped as refused")
    assert task["stopCode"] == "TaskFailedToStart"
    assert "maximum memory usage per Container is 64Mi" in task["stoppedReason"]
    assert kube.pods(namespace) == []


def _filler(name: str) -> dict[str, Any]:
    """Another team's pod in the namespace (it never runs: no node is asked for)."""
    return {
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"example.com/none": "none"},
            "containers": [{"name": "c", "image": "busybox:1.36"}],
        },
    }


def test_a_task_whose_second_pod_a_quota_refuses_never_runs_its_first_task_twice(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """The operator's promise (handlers/task.py): a task is never started twice. A quota of
    one pod, RunTask count 2: task once-0 runs (1 s) and exits; the room it frees goes to
    another pod of the namespace (as a busy ReplicaSet's would), so once-1 is still refused.
    Before, every pass raised at once-1's create before the status write: once-0's STOPPED
    record was never written, its pod was deleted when the retention ended (5 s for the
    tests' operator), and the next pass, finding neither pod nor record of once-0, started it
    again as soon as there was room: the batch job ran a second time."""
    _quota(kube, namespace, pods="1")
    apply(
        namespace,
        ec2_task_definition("once"),
        resource(
            "Task",
            "once",
            {"taskDefinition": "once", "launchType": "EC2", "count": 2},
            annotations={
                "sim.ecs-operator.dev/exit-code": "0",
                "sim.ecs-operator.dev/run-ms": "1000",
            },
        ),
    )
    seen: set[str] = set()

    def first_done() -> bool:
        pods = [p for p in kube.pods(namespace) if p.metadata.name == "once-0"]
        seen.update(p.metadata.uid for p in pods)
        return any(p.status.phase == "Succeeded" for p in pods)

    wait_for(first_done, 60, "task once-0 to run and exit")

    def take_the_room() -> bool:  # the quota controller frees once-0's room a moment later
        try:
            kube.core.create_namespaced_pod(namespace, _filler("other-team"))
        except ApiException as error:
            if error.status == 403:
                return False
            raise
        return True

    wait_for(take_the_room, 30, "the room once-0 left taken by another pod")
    wait_for(
        lambda: "once-0" not in {p.metadata.name for p in kube.pods(namespace)},
        60,
        "once-0's pod removed after its retention",
    )
    kube.core.delete_namespaced_pod("other-team", namespace, grace_period_seconds=0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(seen) < 2:
        seen |= {p.metadata.uid for p in kube.pods(namespace) if p.metadata.name == "once-0"}
        time.sleep(0.5)

    tasks = status(kube, namespace, "Task", "once").get("tasks") or []
    assert len(seen) == 1, f"task once-0 was started {len(seen)} times; status tasks: {tasks}"
