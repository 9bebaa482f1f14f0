"""A task's containers as ECS describes them (status/containers.py, pure): the kubelet's
words in ECS's (an OOM kill), each container's and the task's ``healthStatus`` from the
readiness probe the renderer makes of a health check, and when a stopped task stopped."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.status.containers import (
    HEALTHY,
    OUT_OF_MEMORY,
    UNHEALTHY,
    UNKNOWN,
    containers,
    seconds_finished,
    task_health,
)
from ecs_operator.status.task import task_state

STARTED = "2026-12-03T10:00:05Z"
PROBE = {"exec": {"command": ["/bin/sh", "-c", "true"]}}


def _pod(
    *statuses: dict[str, Any], ready_since: str | None = None, ready: bool = False
) -> dict[str, Any]:
    conditions = []
    if ready_since:
        conditions.append(
            {"type": "Ready", "status": str(ready), "lastTransitionTime": ready_since}
        )
    return {
        "metadata": {"name": "t-0", "creationTimestamp": "2026-12-03T10:00:00Z"},
        "spec": {
            "nodeName": "real-0",
            "containers": [
                {"name": "app", "readinessProbe": PROBE},
                {"name": "side"},
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "containerStatuses": list(statuses),
        },
    }


def _running(name: str = "app", ready: bool = False, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": STARTED}},
    }


def _view(pod: dict[str, Any], name: str = "app") -> dict[str, Any]:
    return next(v for v in containers(pod, {}) if v["name"] == name)


def test_every_container_is_listed_in_its_task_definitions_order_reported_or_not() -> None:
    """ECS lists each container of a task from its start, in its task definition's order; the
    kubelet reports a native sidecar among the init containers, first."""
    pod = _pod()
    pod["spec"]["initContainers"] = [pod["spec"]["containers"].pop()]
    pod["status"]["initContainerStatuses"] = [_running("side")]
    names = {"app": "app", "side": "log_router"}
    shown = [(v["name"], v["lastStatus"]) for v in containers(pod, names)]
    assert shown == [("app", "PENDING"), ("log_router", "RUNNING")]


@pytest.mark.parametrize(("code", "reason"), [(0, "Completed"), (3, "Error")])
def test_an_exit_is_its_exit_code_alone_as_ecs_shows_it(code: int, reason: str) -> None:
    """The kubelet's words for any exit (``Completed``, ``Error``) are not ECS's: ECS shows an
    exited container's ``exitCode`` and no ``reason``."""
    exited = {"name": "app", "state": {"terminated": {"exitCode": code, "reason": reason}}}
    view = _view(_pod(exited))
    assert (view["lastStatus"], view["exitCode"]) == ("STOPPED", code)
    assert "reason" not in view


def test_an_oom_kill_is_reported_in_ecs_words() -> None:
    killed = {
        "name": "app",
        "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
    }
    view = _view(_pod(killed))
    assert view["exitCode"] == 137
    assert (
        view["reason"] == OUT_OF_MEMORY == "OutOfMemoryError: Container killed due to memory usage"
    )
    state = task_state(
        {**_pod(killed), "status": {"phase": "Failed", "containerStatuses": [killed]}},
        {"app"},
        False,
    )
    assert state.stop_code == "EssentialContainerExited"
    assert state.containers[0]["reason"] == OUT_OF_MEMORY


@pytest.mark.parametrize(
    ("status", "pod_ready_since", "expected"),
    [
        (_running(ready=True), None, HEALTHY),
        # starting: the check has not passed yet (ECS: UNKNOWN until a result)
        (_running(), "2026-12-03T10:00:01Z", UNKNOWN),
        # it passed, then failed: the pod turned unready after the container started
        (_running(), "2026-12-03T10:00:30Z", UNHEALTHY),
        # the kubelet restarted it for failing the check (a service's liveness probe)
        (_running(restarts=1), "2026-12-03T10:00:01Z", UNHEALTHY),
        ({"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}, None, UNKNOWN),
    ],
)
def test_a_container_with_a_health_check(
    status: dict[str, Any], pod_ready_since: str | None, expected: str
) -> None:
    view = _view(_pod(status, ready_since=pod_ready_since))
    assert view["healthStatus"] == expected


def test_a_container_without_a_health_check_is_unknown_even_when_ready() -> None:
    view = _view(_pod(_running("side", ready=True)), "side")
    assert view["healthStatus"] == UNKNOWN


@pytest.mark.parametrize(
    ("app", "side", "essential", "expected"),
    [
        (_running(ready=True), _running("side", ready=True), {"app", "side"}, HEALTHY),
        # one is still being evaluated
        (_running(ready=True), _running("side"), {"app", "side"}, UNKNOWN),
        (_running(restarts=2), _running("side", ready=True), {"app", "side"}, UNHEALTHY),
        # a non-essential container's health is not the task's
        (_running(ready=True), _running("side", restarts=2), {"app"}, HEALTHY),
        (_running(restarts=2), _running("side"), {"side"}, UNKNOWN),
        # one not reported yet has no verdict
        (_running(ready=True), None, {"app", "side"}, UNKNOWN),
    ],
)
def test_the_task_is_as_healthy_as_its_essential_checked_containers(
    app: dict[str, Any], side: dict[str, Any] | None, essential: set[str], expected: str
) -> None:
    pod = _pod(app, *([side] if side else []))
    pod["spec"]["containers"][1]["readinessProbe"] = PROBE
    assert task_health(pod, essential) == expected
    assert task_state(pod, essential, False).to_ecs("t-0")["healthStatus"] == expected


def test_a_stopped_task_is_kept_from_when_it_stopped_not_from_when_it_was_created() -> None:
    ended = {
        "name": "app",
        "state": {"terminated": {"exitCode": 3, "finishedAt": "2026-12-03T11:00:00Z"}},
    }
    pod = _pod(ended)
    at = 1796295600.0 + 10  # 2026-12-03T11:00:10Z
    assert seconds_finished(pod, at) == pytest.approx(10)
    never_started = _pod()
    assert seconds_finished(never_started, at) == pytest.approx(3610)
