"""Task records written by another version of the operator than the one reading them: the
upgrade from the previous release (5534708), whose records word an essential container's exit
as ``Essential container in task exited: app exited with code 3`` and keep the kubelet's
``Completed``/``Error`` container reasons, and the rollback to it, which rewrites a Task's
records without the ``essentialExitCode`` member this release added.

Found by the upgrade audit on the devcluster (old operator, new CRDs and operator, rollback to
the old operator and upgrade again): see the audit report."""

from __future__ import annotations

from typing import Any

from ecs_operator.plugin import task_views
from ecs_operator.status.task import ESSENTIAL_EXITED
from ecs_operator.status.task_status import failure
from ecs_operator.status.taskdefinition import Arns

ARNS = Arns()

#: a RunTask task's record as the previous release wrote it (its essential container exited 3)
OLD_RECORD: dict[str, Any] = {
    "taskId": "crash-0",
    "lastStatus": "STOPPED",
    "desiredStatus": "STOPPED",
    "launchType": "EC2",
    "createdAt": "2026-12-05T10:39:40Z",
    "startedAt": "2026-12-05T10:39:40Z",
    "stoppedAt": "2026-12-05T10:39:41Z",
    "stopCode": ESSENTIAL_EXITED,
    "stoppedReason": "Essential container in task exited: worker exited with code 3",
    "containers": [
        {
            "name": "worker",
            "image": "public.ecr.aws/docker/library/busybox:1.36",
            "lastStatus": "STOPPED",
            "exitCode": 3,
            "reason": "Error",
            "healthStatus": "UNKNOWN",
        }
    ],
}


def _task_body(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "Task",
        "metadata": {"name": "crash", "namespace": "upg", "annotations": {}},
        "spec": {"cluster": "production", "taskDefinition": "worker", "count": 1},
        "status": {"lastStatus": "STOPPED", "taskDefinition": "worker:1", "tasks": [record]},
    }


def test_a_task_stopped_before_the_upgrade_reads_ecs_exact_stopped_reason() -> None:
    """This release answers describe-tasks (the ECS API, ``kubectl ecs``) with ECS's exact
    ``stoppedReason``, which deploy scripts and EventBridge rules compare, and an exited
    container's ``exitCode`` without the kubelet's reason. A Task stopped before the upgrade
    keeps its record for as long as the Task exists, and the record is served as the old
    version wrote it: on the devcluster, after the upgrade, ``aws ecs describe-tasks`` of such
    a task read ``Essential container in task exited: worker exited with code 3`` and
    ``reason: Error`` while a task stopped after it read ``Essential container in task
    exited``. The read path (``status.task.ecs_record``) should answer both the same."""
    (described,) = task_views.all_tasks([_task_body(OLD_RECORD)], [], "production", ARNS)
    assert described["stoppedReason"] == "Essential container in task exited"
    assert "reason" not in described["containers"][0]
    assert described["containers"][0]["exitCode"] == 3


def test_a_service_task_stopped_before_the_upgrade_reads_ecs_exact_stopped_reason() -> None:
    """The same for a service's stopped task, kept in its Service's ``status.stoppedTasks``
    (the newest 20 a service)."""
    record = {
        **OLD_RECORD,
        "taskId": "api-7d9f-abcde",
        "taskDefinition": "api:1",
        "startedBy": "ecs-svc/1",
    }
    service = {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "upg"},
        "spec": {"serviceName": "api", "taskDefinition": "api", "desiredCount": 1},
        "status": {"stoppedTasks": [record]},
    }
    (described,) = task_views.all_tasks([], [], "default", ARNS, services=[service])
    assert described["stoppedReason"] == "Essential container in task exited"
    assert "reason" not in described["containers"][0]


def test_a_failed_task_stays_failed_after_a_rollback_and_a_second_upgrade() -> None:
    """A task stopped by its essential container's non-zero exit under this release has the
    record ``stoppedReason: Essential container in task exited``, ``essentialExitCode: 3``.
    The previous release (a ``helm rollback``) reads the exit code only from the stopped
    reason, so it takes the task for a success and rewrites the Task's status: Ready True,
    Degraded False, and the record without ``essentialExitCode`` (the devcluster's ``crash2``
    Task). Upgraded again, this release still reads it as a success, for good: the Task's
    verdict (its Argo CD health) flipped from Degraded to Healthy. The record still keeps the
    container's ``exitCode`` 3, which ``task_status.failure`` could fall back to (the one
    container of the task here; the task definition's essential containers in general)."""
    rewritten = {
        **OLD_RECORD,
        "taskId": "crash2-0",
        "stoppedReason": "Essential container in task exited",
        "containers": [{**OLD_RECORD["containers"][0], "reason": None}],
    }
    rewritten["containers"][0].pop("reason")
    assert failure([rewritten]) == rewritten


def test_a_failed_tasks_degraded_message_still_says_which_exit_failed_it() -> None:
    """Before this release a Task whose essential container exited 3 read
    ``Degraded: Essential container in task exited: worker exited with code 3`` (also the
    ``Stalled`` condition, which Argo CD's health check, gitops/argocd/health.lua, shows as the
    Task's message). This release's ECS-exact stopped reason took the container and its exit
    code out of the condition (``task_status.task_conditions`` uses the stopped reason as the
    message): on the devcluster, after the upgrade, the new ``crash2`` Task read just
    ``Essential container in task exited``, while the ``essentialExitCode`` the condition
    decides by is in its record. The admin reading ``kubectl describe task`` or Argo CD loses
    the one number that says what went wrong."""
    from ecs_operator.status.task_status import task_conditions

    record = {
        **OLD_RECORD,
        "stoppedReason": "Essential container in task exited",
        "essentialExitCode": 3,
    }
    degraded = next(c for c in task_conditions("STOPPED", [record]) if c["type"] == "Degraded")
    assert degraded["status"] == "True"
    assert "3" in degraded["message"]
