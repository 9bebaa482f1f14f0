"""A task whose pod the API server refuses: stopped as ECS stops a task that cannot start, or
left to be tried again, depending on why it was refused."""

from __future__ import annotations

import pytest

from ecs_operator.status.task import FAILED_TO_START, start_refused, task_state

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
    assert (
        state.stopped_reason == "Essential container in task exited: log_router exited with code 1"
    )
