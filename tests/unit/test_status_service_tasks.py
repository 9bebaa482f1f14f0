"""A service's task whose pod went, as ECS keeps it: why it stopped (the scheduler's scaling,
an essential container's exit, a container that could not start, StopTask, an eviction), its
containers, the deployment that started it; and the newest of them kept in the Service's
status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecs_operator.nodes import LABEL_ZONE
from ecs_operator.render import keys
from ecs_operator.status.service_tasks import (
    KEPT,
    SERVICE_SCHEDULER,
    stopped_task,
    with_stopped,
)

Body = dict[str, Any]
DEPLOYMENTS = [{"id": "ecs-svc/2", "taskDefinition": "web:2", "createdAt": "2026-12-04T10:00:00Z"}]
AT = 1796385600.0  # 2026-12-04T12:00:00Z


def _pod(
    *containers: Body, deleting: str | None = "2026-12-04T11:59:50Z", **annotations: str
) -> Body:
    metadata: Body = {
        "name": "web-7d9f-abcde",
        "creationTimestamp": "2026-12-04T10:05:00Z",
        "labels": {keys.LABEL_LAUNCH_TYPE: "FARGATE", LABEL_ZONE: "us-east-1b"},
        "annotations": {
            keys.ANNOTATION_TASK_DEFINITION: "web:2",
            keys.ANNOTATION_ESSENTIAL: json.dumps(["app"]),
            **annotations,
        },
    }
    if deleting:  # asked for 30 s before: the deletion's grace period ends then
        metadata["deletionTimestamp"] = deleting
        metadata["deletionGracePeriodSeconds"] = 30
    status = {"phase": "Running", "startTime": "2026-12-04T10:05:02Z"}
    return {"metadata": metadata, "status": {**status, "containerStatuses": list(containers)}}


def _running(name: str = "app") -> Body:
    return {"name": name, "state": {"running": {"startedAt": "2026-12-04T10:05:03Z"}}}


def _pulling() -> Body:
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "web:broken"'}
    return {"name": "app", "state": {"waiting": waiting}}


def _ended(code: int, finished: str, name: str = "app") -> Body:
    terminated = {"exitCode": code, "reason": "Error", "finishedAt": finished}
    return {"name": name, "state": {"terminated": terminated}}


def test_a_pod_its_replica_set_deleted_is_stopped_by_the_service_scheduler() -> None:
    record = stopped_task(_pod(_running()), DEPLOYMENTS, AT)

    assert record == {
        "taskId": "web-7d9f-abcde",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": SERVICE_SCHEDULER,
        "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/2)",
        "taskDefinition": "web:2",
        "containers": [{"name": "app", "lastStatus": "STOPPED", "healthStatus": "UNKNOWN"}],
        "createdAt": "2026-12-04T10:05:00Z",
        "startedAt": "2026-12-04T10:05:02Z",
        "stoppingAt": "2026-12-04T11:59:20Z",
        "stoppedAt": "2026-12-04T12:00:00Z",
        "startedBy": "ecs-svc/2",
        "availabilityZone": "us-east-1b",
        "launchType": "FARGATE",
        "connectivity": "CONNECTED",
        "connectivityAt": "2026-12-04T10:05:02Z",
    }


@pytest.mark.parametrize(
    ("seen", "pod", "code", "reason", "exit_code"),
    [
        # the kubelet stopped it for the deletion: the scheduler's doing, its exit code kept
        (
            _pod(_running()),
            _pod(_ended(143, "2026-12-04T11:59:21Z")),
            SERVICE_SCHEDULER,
            "Scaling activity initiated by (deployment ecs-svc/2)",
            143,
        ),
        # it had exited by itself before anyone deleted the pod
        (
            _pod(_ended(3, "2026-12-04T11:00:00Z"), deleting=None),
            _pod(_ended(3, "2026-12-04T11:00:00Z")),
            "EssentialContainerExited",
            "Essential container in task exited",
            3,
        ),
        # no earlier view of it: nothing says it exited before the deletion
        (
            None,
            _pod(_ended(1, "2026-12-04T11:00:00Z")),
            SERVICE_SCHEDULER,
            "Scaling activity initiated by (deployment ecs-svc/2)",
            1,
        ),
        # its image could not be pulled: it never ran (a rollback scaled its revision in)
        (
            _pod(_pulling(), deleting=None),
            _pod(_pulling()),
            "TaskFailedToStart",
            'CannotPullContainerError: Back-off pulling image "web:broken"',
            None,
        ),
        # annotated with a reason before it was deleted, as a Task's pods are by StopTask
        (
            None,
            _pod(_running(), **{keys.ANNOTATION_STOP_REASON: "bad canary"}),
            "UserInitiated",
            "bad canary",
            None,
        ),
    ],
)
def test_why_a_service_task_stopped(
    seen: Body | None, pod: Body, code: str, reason: str, exit_code: int | None
) -> None:
    record = stopped_task(pod, DEPLOYMENTS, AT, seen)

    assert (record["stopCode"], record["stoppedReason"]) == (code, reason)
    assert record["containers"][0].get("exitCode") == exit_code


def test_a_pod_that_could_not_start_is_read_as_it_was_before_its_deletion_began() -> None:
    """A real kubelet stopping the containers of a pod being deleted reports one it never
    started as ended (ContainerStatusUnknown, 137) before the pod goes: only the pod as it was
    before its deletion began says why."""
    unknown = {
        "name": "app",
        "state": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}},
    }
    live, seen, gone = _pod(_pulling(), deleting=None), _pod(unknown), _pod(unknown)

    told = stopped_task(gone, DEPLOYMENTS, AT, seen)
    record = stopped_task(gone, DEPLOYMENTS, AT, seen, live)

    assert told["stopCode"] == SERVICE_SCHEDULER  # what the last two events alone say
    assert (record["stopCode"], record["stoppedReason"]) == (
        "TaskFailedToStart",
        'CannotPullContainerError: Back-off pulling image "web:broken"',
    )
    assert record["stoppingAt"] == told["stoppingAt"]  # when: from the deletion's first view


def test_an_evicted_task_says_what_kubernetes_said() -> None:
    pod = _pod(_running())
    pod["status"]["conditions"] = [
        {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
        }
    ]

    record = stopped_task(pod, DEPLOYMENTS, AT)

    assert (record["stopCode"], record["stoppedReason"]) == (
        SERVICE_SCHEDULER,
        "Task stopped by Kubernetes: Eviction API: evicting",
    )


def test_the_status_keeps_the_newest_stops_once_each() -> None:
    def record(i: int) -> Body:
        return {"taskId": f"web-{i}", "stoppedAt": f"2026-12-04T12:{i:02d}:00Z"}

    kept = with_stopped(None, [record(i) for i in range(KEPT + 5)])
    assert len(kept) == KEPT
    assert kept[0]["taskId"] == f"web-{KEPT + 4}" and kept[-1]["taskId"] == "web-5"

    again = with_stopped(kept, [{**record(KEPT + 4), "stoppedReason": "later"}, record(59)])
    assert [r["taskId"] for r in again[:2]] == ["web-59", f"web-{KEPT + 4}"]
    assert "stoppedReason" not in again[1], "a task recorded twice keeps its first record"


def test_the_deletion_began_when_the_pod_seen_before_says() -> None:
    """The kubelet's last delete, once the containers stopped, moves the deletion's time to
    its end (grace 0): the pod seen before still says when it began."""
    seen = _pod(_running())  # deletion asked for at 11:59:20, 30 s of grace
    final = _pod(_ended(0, "2026-12-04T11:59:22Z"), deleting="2026-12-04T11:59:23Z")
    final["metadata"]["deletionGracePeriodSeconds"] = 0

    record = stopped_task(final, DEPLOYMENTS, AT, seen)

    assert (record["stopCode"], record["stoppingAt"]) == (SERVICE_SCHEDULER, "2026-12-04T11:59:20Z")
    assert stopped_task(final, DEPLOYMENTS, AT)["stoppingAt"] == "2026-12-04T11:59:23Z"


def test_a_container_that_never_ran_is_listed_stopped_without_the_kubelets_wait() -> None:
    """A service task's record lists its containers as a standalone task's does: every one
    STOPPED, one still waiting without the kubelet's word for the wait."""
    creating = {"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}

    record = stopped_task(_pod(creating), DEPLOYMENTS, AT)

    assert record["containers"] == [
        {"name": "app", "lastStatus": "STOPPED", "healthStatus": "UNKNOWN"}
    ]


def test_a_task_removed_while_its_essential_container_is_unhealthy_says_so() -> None:
    """A rollout's rollback (or scale-in) that removes a task whose essential container keeps
    failing its health check: ECS's words for it, and the container's last health, not the
    kubelet's UNKNOWN once it stopped it."""
    restarted = {
        "name": "app",
        "ready": False,
        "restartCount": 2,
        "state": {"running": {"startedAt": "2026-12-04T11:59:00Z"}},
    }
    live = _pod(restarted, deleting=None)
    live["spec"] = {"containers": [{"name": "app", "readinessProbe": {"exec": {}}}]}
    gone = {**live, "metadata": _pod(_ended(137, "2026-12-04T11:59:55Z"))["metadata"]}
    gone["status"] = _pod(_ended(137, "2026-12-04T11:59:55Z"))["status"]

    record = stopped_task(gone, DEPLOYMENTS, AT, None, live)

    assert (record["stopCode"], record["stoppedReason"]) == (
        SERVICE_SCHEDULER,
        "Task failed container health checks",
    )
    assert record["containers"][0]["healthStatus"] == "UNHEALTHY"
