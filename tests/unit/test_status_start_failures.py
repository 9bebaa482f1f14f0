"""A task's container the kubelet cannot start, in ECS's words, once the kubelet's retries had
their time (status/start_failures.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.status.start_failures import (
    StartFailure,
    failed_attempts,
    failing_to_start,
    start_failure,
)

START = 1767225600.0  # 2026-01-01T00:00:00Z, the pod's startTime
GRACE = 60.0


def pod(*containers: dict[str, Any], phase: str = "Pending") -> dict[str, Any]:
    return {
        "metadata": {"name": "job-0"},
        "status": {
            "phase": phase,
            "startTime": "2026-01-01T00:00:00Z",
            "containerStatuses": list(containers),
        },
    }


def waiting(name: str, reason: str, message: str = "") -> dict[str, Any]:
    step = {"reason": reason, **({"message": message} if message else {})}
    return {"name": name, "state": {"waiting": step}}


PULL = waiting(
    "app",
    "ImagePullBackOff",
    'Back-off pulling image "registry.invalid/app:1"',
)


def test_a_failing_pull_waits_out_the_grace_period_then_is_ecss_cannot_pull_error() -> None:
    early = start_failure(pod(PULL), START + 20, GRACE)
    assert early == StartFailure(
        "app",
        'CannotPullContainerError: Back-off pulling image "registry.invalid/app:1"',
        40.0,
    )
    late = start_failure(pod(PULL), START + 61, GRACE)
    assert late is not None and late.wait == 0.0


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("ErrImagePull", "CannotPullContainerError"),
        ("CreateContainerConfigError", "CannotCreateContainerError"),
        ("RunContainerError", "CannotStartContainerError"),
    ],
)
def test_each_step_the_kubelet_fails_at_has_ecss_error(reason: str, error: str) -> None:
    failure = start_failure(pod(waiting("app", reason, "the runtime's words")), START, GRACE)
    assert failure is not None and failure.reason == f"{error}: the runtime's words"


def test_what_no_retry_mends_stops_the_task_at_once() -> None:
    invalid = waiting("app", "InvalidImageName", 'Failed to apply default image tag "Nginx"')
    assert start_failure(pod(invalid), START, GRACE) == StartFailure(
        "app", 'CannotPullContainerError: Failed to apply default image tag "Nginx"', 0.0
    )
    # a container the runtime could not start, with restartPolicy Never: it ended
    cannot_run = {
        "name": "app",
        "state": {"terminated": {"reason": "StartError", "exitCode": 128, "message": "exec: no"}},
    }
    failure = start_failure(pod(cannot_run, phase="Failed"), START, GRACE)
    assert failure == StartFailure("app", "CannotStartContainerError: exec: no", 0.0)


def test_a_pod_that_ended_while_pulling_has_no_retry_left() -> None:
    failure = start_failure(pod(PULL, phase="Failed"), START + 1, GRACE)
    assert failure is not None and failure.wait == 0.0


def test_a_container_that_starts_or_pulls_slowly_is_no_failure() -> None:
    creating = waiting("app", "ContainerCreating")
    running = {"name": "sidecar", "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}
    exited = {"name": "app", "state": {"terminated": {"reason": "Error", "exitCode": 1}}}
    assert start_failure(pod(creating, running), START + 600, GRACE) is None
    assert start_failure(pod(exited, phase="Failed"), START + 600, GRACE) is None
    assert start_failure({"metadata": {}, "status": {}}, START, GRACE) is None


def test_the_first_container_that_cannot_start_is_named() -> None:
    sidecar = waiting("sidecar", "ErrImagePull", "not found")
    failure = start_failure(pod({"name": "app", "state": {"running": {}}}, sidecar), START, 0)
    assert failure == StartFailure("sidecar", "CannotPullContainerError: not found", 0.0)


def test_a_pod_failing_to_start_stands_for_a_failed_task_each_grace_period() -> None:
    assert failed_attempts(pod(PULL), START + 10, GRACE) == (1, 50.0)
    assert failed_attempts(pod(PULL), START + 125, GRACE) == (3, 55.0)
    assert failed_attempts(pod(waiting("app", "ContainerCreating")), START, GRACE) == (0, None)
    assert failing_to_start(pod(PULL)) == StartFailure(
        "app", 'CannotPullContainerError: Back-off pulling image "registry.invalid/app:1"'
    )
