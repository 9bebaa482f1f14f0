"""A task whose pod the API server refuses: stopped as ECS stops a task that cannot start, or
left to be tried again, depending on why it was refused; and a Task object's status put
together from its tasks (status/task.py, pure)."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.status.conditions import condition
from ecs_operator.status.start_failures import StartFailure
from ecs_operator.status.task import (
    ESSENTIAL_EXITED,
    FAILED_TO_START,
    TERMINATION_NOTICE,
    USER_INITIATED,
    TaskState,
    current_state,
    start_refused,
    task_state,
    timestamps,
)
from ecs_operator.status.task_records import ecs_record
from ecs_operator.status.task_status import (
    failure,
    overall_status,
    stopped_events,
    task_status,
)

PSA = (
    'pods "report-0" is forbidden: violates PodSecurity "baseline:latest": non-default '
    'capabilities (container "app" must not include "SYS_ADMIN" in '
    "securityContext.capabilities.add)"
)


def test_a_pod_security_refusal_stops_the_task_with_the_api_servers_reason() -> None:
    refused = start_refused(403, PSA)
    assert refused is not None
    record = refused.to_ecs("report-0")
    assert record["lastStatus"] == record["desiredStatus"] == "STOPPED"
    assert record["stopCode"] == FAILED_TO_START
    assert record["stoppedReason"] == f"Task failed to start: {PSA}"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, 'admission webhook "policy.example.com" denied the request: no privileged pods'),
        (422, 'Pod "report-0" is invalid: spec.containers[0].image: Required value'),
        (
            403,
            'pods "report-0" is forbidden: maximum memory usage per Container is 64Mi, but '
            "limit is 128Mi",
        ),
        (403, 'pods "report-0" is forbidden: minimum cpu usage per Pod is 100m, but request is 5m'),
        (
            403,
            'pods "report-0" is forbidden: memory max limit to request ratio per Container is 2, '
            "but provided ratio is 4.000000",
        ),
        (
            403,
            "pods \"report-0\" is forbidden: ValidatingAdmissionPolicy 'no-root' with binding "
            "'no-root' denied request: runAsNonRoot must be true",
        ),
    ],
)
def test_policies_and_invalid_pods_stop_the_task_too(status: int, message: str) -> None:
    assert start_refused(status, message) is not None


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, 'pods is forbidden: User "system:serviceaccount:ops:ecs" cannot create resource'),
        (403, 'pods "report-0" is forbidden: exceeded quota: pods, requested: pods=1, limited: 10'),
        (409, 'pods "report-0" already exists'),
        (500, "violates PodSecurity: the server could not evaluate the policy"),
    ],
)
def test_refusals_a_retry_may_get_past_leave_the_task_to_be_tried_again(
    status: int, message: str
) -> None:
    assert start_refused(status, message) is None


def test_containers_are_reported_by_their_ecs_names() -> None:
    """``log_router`` runs as container ``log-router``; describe-tasks says ``log_router``."""
    pod = {
        "metadata": {
            "name": "t-0",
            "annotations": {
                "ecs-operator.dev/container-names": '{"log-router":"log_router","app":"app"}'
            },
        },
        "spec": {"nodeName": "n"},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "log-router", "state": {"terminated": {"exitCode": 1}}},
                {"name": "app", "state": {"running": {}}},
            ],
        },
    }
    state = task_state(pod, {"log-router"}, False)
    assert [c["name"] for c in state.containers] == ["log_router", "app"]
    # ECS's words exactly (deploy scripts and EventBridge rules match them); the exit code is
    # the container's
    assert state.stopped_reason == "Essential container in task exited"
    assert state.containers[0]["exitCode"] == 1


def test_which_exit_stopped_the_task_decides_whether_it_failed() -> None:
    """An essential container exiting 0 stops its task, and its sidecar, killed, exits 137:
    the task succeeded. The record keeps the exit that stopped the task (the operator's, left
    out of what describe-tasks shows), since the other containers' codes are those of being
    killed."""
    pod = {
        "metadata": {"name": "migrate-0", "annotations": {}},
        "spec": {"nodeName": "n"},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "migrate", "state": {"terminated": {"exitCode": 0}}},
                {"name": "proxy", "state": {"terminated": {"exitCode": 137}}},
            ],
        },
    }
    done = task_state(pod, {"migrate", "proxy"}, False).to_ecs("migrate-0")
    assert done["stoppedReason"] == "Essential container in task exited"
    assert failure([done]) is None
    failing = {
        **pod,
        "status": {
            **pod["status"],
            "containerStatuses": [
                {"name": "migrate", "state": {"terminated": {"exitCode": 3}}},
                {"name": "proxy", "state": {"terminated": {"exitCode": 137}}},
            ],
        },
    }
    failed = task_state(failing, {"migrate", "proxy"}, False).to_ecs("migrate-0")
    assert failure([failed]) == failed
    assert "essentialExitCode" not in ecs_record(failed)
    # a record written before the exact words (its exit code in the stopped reason)
    older = {
        "stopCode": ESSENTIAL_EXITED,
        "stoppedReason": "Essential container in task exited: migrate exited with code 3",
    }
    assert failure([older]) == older


# --- a Task object's status from its tasks ----------------------------------------------------

AT = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:01:00Z"


def _pulling(*, exited: bool = False) -> dict[str, Any]:
    """A pod whose sidecar image cannot be pulled; its app runs (or ran and exited 0)."""
    app = {"terminated": {"exitCode": 0}} if exited else {"running": {}}
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x:1"'}
    return {
        "metadata": {"name": "t-0"},
        "spec": {"nodeName": "n"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {"name": "app", "state": app},
                {"name": "sidecar", "state": {"waiting": waiting}},
            ],
        },
    }


def test_a_container_that_cannot_start_stops_its_task_as_failed_to_start() -> None:
    failure = StartFailure("sidecar", 'CannotPullContainerError: Back-off pulling image "x:1"', 0)
    state = task_state(_pulling(), {"app"}, False, failure)
    assert (state.last_status, state.stop_code) == ("STOPPED", FAILED_TO_START)
    assert state.stopped_reason == failure.reason
    views = {c["name"]: c for c in state.containers}
    assert views["sidecar"]["lastStatus"] == "STOPPED"
    assert views["sidecar"]["reason"] == failure.reason
    assert views["app"]["lastStatus"] == "STOPPED" and "reason" not in views["app"]
    # StopTask meanwhile is the user's stop; an essential container that ran and ended decides
    assert task_state(_pulling(), {"app"}, True, failure).stop_code == USER_INITIATED
    ended = task_state(_pulling(exited=True), {"app"}, False, failure)
    assert ended.stop_code == ESSENTIAL_EXITED


def test_an_essential_container_the_runtime_could_not_start_never_ran() -> None:
    """restartPolicy Never: the runtime's start error ends the container (StartError, 128)."""
    terminated = {"reason": "StartError", "exitCode": 128, "message": 'exec: "/no": not found'}
    pod = {
        "metadata": {"name": "t-0"},
        "spec": {"nodeName": "n"},
        "status": {
            "phase": "Failed",
            "containerStatuses": [{"name": "app", "state": {"terminated": terminated}}],
        },
    }
    failure = StartFailure("app", 'CannotStartContainerError: exec: "/no": not found')
    state = task_state(pod, {"app"}, False, failure)
    assert (state.stop_code, state.stopped_reason) == (FAILED_TO_START, failure.reason)
    assert state.containers[0]["reason"] == failure.reason


def _task(task_id: str, last: str, desired: str = "RUNNING", **members: Any) -> dict[str, Any]:
    return {"taskId": task_id, "lastStatus": last, "desiredStatus": desired, **members}


@pytest.mark.parametrize(
    ("lasts", "stop", "waiting", "expected"),
    [
        (["RUNNING", "PENDING"], False, False, ("PENDING", "RUNNING")),
        (["RUNNING", "STOPPED"], False, False, ("RUNNING", "RUNNING")),
        (["RUNNING"], False, True, ("PROVISIONING", "RUNNING")),  # a pod name is taken
        ([], False, True, ("PROVISIONING", "RUNNING")),
        (["RUNNING"], False, False, ("RUNNING", "RUNNING")),
        ([], True, True, ("STOPPED", "STOPPED")),  # stopped: nothing waits any more
        ([], False, False, ("STOPPED", "STOPPED")),
        (["DEPROVISIONING"], True, False, ("DEPROVISIONING", "STOPPED")),
    ],
)
def test_a_task_is_as_far_as_its_least_advanced_task(
    lasts: list[str], stop: bool, waiting: bool, expected: tuple[str, str]
) -> None:
    tasks = [_task(str(k), last) for k, last in enumerate(lasts)]
    assert overall_status(tasks, stop, waiting) == expected


def test_all_tasks_desired_stopped_is_a_stopped_task() -> None:
    tasks = [_task("a", "STOPPED", "STOPPED"), _task("b", "DEPROVISIONING", "STOPPED")]
    assert overall_status(tasks, False, False) == ("DEPROVISIONING", "STOPPED")


def test_timestamps_are_set_once_when_reached() -> None:
    running = TaskState("RUNNING", "RUNNING", [])
    stopped = TaskState("STOPPED", "STOPPED", [], ESSENTIAL_EXITED, "done")
    assert timestamps(None, TaskState("PENDING", "RUNNING", []), AT) == {"createdAt": AT}
    first = timestamps(None, running, AT)
    assert first == {"createdAt": AT, "startedAt": AT}
    assert timestamps({**first, "other": 1}, stopped, LATER) == {
        **first,
        "stoppingAt": LATER,
        "stoppedAt": LATER,
    }
    # a stop asked for: STOPPING from then on, STOPPED once its pod has stopped
    stopping = timestamps(first, TaskState("DEPROVISIONING", "STOPPED", []), AT)
    assert stopping == {**first, "stoppingAt": AT}
    assert timestamps(stopping, stopped, LATER) == {**stopping, "stoppedAt": LATER}


def test_a_gone_pod_leaves_its_record_as_the_truth() -> None:
    record = _task("a", "STOPPED", "STOPPED", stopCode=ESSENTIAL_EXITED, stoppedReason="done")
    state = current_state(None, record, {"app"}, False)
    assert (state.last_status, state.stop_code, state.stopped_reason) == (
        "STOPPED",
        ESSENTIAL_EXITED,
        "done",
    )
    assert (
        current_state(None, {**record, "availabilityZone": "us-east-1a"}, {"app"}, False).to_ecs(
            "a"
        )["availabilityZone"]
        == "us-east-1a"
    )
    # a running task whose pod went away unasked (evicted, its node gone) was taken by
    # Kubernetes, where it ran; one whose stop was asked for stopped at the user's hand
    running = _task("a", "RUNNING", availabilityZone="us-east-1b")
    gone = current_state(None, running, {"app"}, False)
    assert (gone.last_status, gone.stop_code) == ("STOPPED", TERMINATION_NOTICE)
    assert gone.placed == {"availabilityZone": "us-east-1b"}
    stopped = current_state(None, running, {"app"}, True)
    assert (stopped.last_status, stopped.stop_code) == ("STOPPED", USER_INITIATED)
    assert current_state(None, None, {"app"}, False).last_status == "PROVISIONING"


EXITED_WORDS = "Essential container in task exited"


def test_a_stop_is_reported_once_and_a_failure_as_a_warning() -> None:
    clean = _task("a", "STOPPED", "STOPPED", stopCode=ESSENTIAL_EXITED, stoppedReason="done")
    clean["containers"] = [{"name": "app", "exitCode": 0}]
    failed = {**clean, "taskId": "b", "containers": [{"name": "app", "exitCode": 1}]}
    user = _task("c", "STOPPED", "STOPPED", stopCode=USER_INITIATED, stoppedReason="by user")
    events = stopped_events([clean, failed, user, _task("d", "RUNNING")], {})
    assert [(e.message, e.warning) for e in events] == [
        (f"task a stopped: {ESSENTIAL_EXITED} {EXITED_WORDS} (exit code 0)", False),
        (f"task b stopped: {ESSENTIAL_EXITED} {EXITED_WORDS} (exit code 1)", True),
        (f"task c stopped: {USER_INITIATED} by user", True),
    ]
    assert stopped_events([clean], {"tasks": [clean]}) == []


def test_the_status_puts_the_tasks_and_conditions_together() -> None:
    previous = {"findings": [{"path": "x"}], "conditions": []}
    tasks = [_task("a", "RUNNING")]
    status = task_status(previous, tasks, 3, stop_requested=False, task_definition="demo:2")
    assert (status["lastStatus"], status["desiredStatus"]) == ("RUNNING", "RUNNING")
    assert status["taskDefinition"] == "demo:2" and status["observedGeneration"] == 3
    assert status["findings"] == [{"path": "x"}]  # what it does not set is kept
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions["Ready"] == ("True", "Running")
    assert conditions["Stopped"] == ("False", "Running")
    assert conditions["Degraded"] == ("False", "AsExpected")
    conflict = [condition("Ready", False, "NameConflict"), condition("Degraded", True, "X")]
    waiting = task_status(status, tasks, 3, stop_requested=False, problem=conflict)
    assert waiting["lastStatus"] == "PROVISIONING"
    conditions = {c["type"]: (c["status"], c["reason"]) for c in waiting["conditions"]}
    assert conditions["Stopped"] == ("False", "Provisioning")
    assert conditions["Ready"] == ("False", "NameConflict")  # the problem outranks the rest
    assert conditions["Degraded"] == ("True", "X")
    stopped = task_status(status, [], 4, stop_requested=True, extra={"findings": None})
    assert (stopped["lastStatus"], stopped["findings"]) == ("STOPPED", None)
    assert stopped["taskDefinition"] == "demo:2"  # kept from before


def test_a_pod_its_node_refused_stops_the_task_with_the_nodes_reason() -> None:
    """A real kubelet refuses a pod before any container runs (an unsafe sysctl not
    allowlisted: the ECS agent would have set it): the task failed to start, saying why, and
    its containers, which never ran, are STOPPED (they read PENDING in a STOPPED task)."""
    message = (
        'Pod was rejected: forbidden sysctl: "net.ipv4.conf.default.rp_filter" not allowlisted'
    )
    pod = {
        "metadata": {"name": "t-0"},
        "spec": {"nodeName": "real-0", "containers": [{"name": "app", "image": "busybox"}]},
        "status": {"phase": "Failed", "reason": "SysctlForbidden", "message": message},
    }

    state = task_state(pod, {"app"}, False)

    assert (state.last_status, state.stop_code) == ("STOPPED", FAILED_TO_START)
    assert state.stopped_reason == f"Task failed to start: {message}"
    assert [(c["name"], c["lastStatus"]) for c in state.containers] == [("app", "STOPPED")]


def _evicted(phase: str, **metadata: Any) -> dict[str, Any]:
    """A task's pod that Kubernetes is taking (a drain's eviction): its container, told
    SIGTERM, trapped it and exited 0."""
    disruption = {
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "EvictionByEvictionAPI",
        "message": "Eviction API: evicting",
    }
    return {
        "metadata": {"name": "batch-0", "annotations": {}, **metadata},
        "spec": {"nodeName": "real-0"},
        "status": {
            "phase": phase,
            "conditions": [disruption],
            "containerStatuses": [{"name": "job", "state": {"terminated": {"exitCode": 0}}}],
        },
    }


@pytest.mark.parametrize(
    "pod",
    [
        _evicted("Running", deletionTimestamp="2026-12-05T13:00:30Z"),
        _evicted("Succeeded", deletionTimestamp="2026-12-05T13:00:30Z"),
        _evicted("Failed"),  # the kubelet's own eviction (node pressure): no deletion
    ],
    ids=["a drain, the pod going", "a drain, the pod ended", "the kubelet's eviction"],
)
def test_a_task_kubernetes_takes_is_not_one_whose_essential_container_exited(
    pod: dict[str, Any],
) -> None:
    """On a real node the kubelet stops an evicted pod's containers before the pod goes, and
    their ends (a batch job trapping SIGTERM exits 0) read as the essential container's exit:
    EssentialContainerExited, exit 0, the Task a success. Kubernetes took the task; it did
    not finish: TerminationNotice, with Kubernetes' words, and the Task failed."""
    state = current_state(pod, _task("batch-0", "RUNNING"), {"job"}, False)
    assert (state.last_status, state.stop_code) == ("STOPPED", TERMINATION_NOTICE)
    assert state.stopped_reason == "Task stopped by Kubernetes: Eviction API: evicting"
    assert failure([state.to_ecs("batch-0")]) is not None


def test_every_container_of_a_stopped_task_is_stopped() -> None:
    """StopTask of a task still starting: a container that waited on another (``HEALTHY``)
    kept ``PENDING`` with the kubelet's ``PodInitializing`` in the STOPPED record, and a task
    whose pod never ran lost its containers. ECS lists every container of a stopped task
    STOPPED."""
    pod = {
        "metadata": {"name": "app-0", "annotations": {}},
        "spec": {"nodeName": "real-0"},
        "status": {
            "phase": "Failed",
            "reason": "DeadlineExceeded",
            "containerStatuses": [
                {"name": "db", "state": {"terminated": {"exitCode": 143}}},
                {"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}},
            ],
        },
    }
    stopped = task_state(pod, {"app"}, True).to_ecs("app-0")
    assert [(c["name"], c["lastStatus"]) for c in stopped["containers"]] == [
        ("db", "STOPPED"),
        ("app", "STOPPED"),
    ]
    assert "reason" not in stopped["containers"][1]
    record = _task("app-0", "PROVISIONING", containers=[{"name": "app", "lastStatus": "PENDING"}])
    gone = current_state(None, record, {"app"}, True).to_ecs("app-0")
    assert gone["lastStatus"] == "STOPPED"
    assert gone["containers"] == [{"name": "app", "lastStatus": "STOPPED"}]
