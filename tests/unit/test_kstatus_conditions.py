"""kstatus's own conditions (Reconciling, Stalled) as the operator derives them from the rest:
what Flux then reads (tests/integration/test_gitops_health.py runs kstatus itself)."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.policy import PRIVILEGE_NOT_ALLOWED, TASK_ROLE_NOT_ALLOWED
from ecs_operator.status.conditions import condition, merge, with_kstatus
from ecs_operator.status.task_status import task_conditions


def _kstatus(conditions: list[dict[str, Any]]) -> tuple[str, str]:
    by_type = {c["type"]: c for c in with_kstatus(conditions)}
    return by_type["Reconciling"]["status"], by_type["Stalled"]["status"]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([condition("Ready", True, "SteadyState")], ("False", "False")),
        ([condition("Ready", False, "NotSteady", "1/2 tasks running")], ("True", "False")),
        (
            [condition("Ready", False, "InvalidSpec"), condition("Degraded", True, "InvalidSpec")],
            ("False", "True"),
        ),
        (
            [condition("Ready", True, "x"), condition("Degraded", True, "RolledBack", "back")],
            ("False", "True"),
        ),
        (  # a reference that may still appear: wait, do not fail
            [
                condition("Ready", False, "TaskDefinitionNotFound"),
                condition("Degraded", True, "TaskDefinitionNotFound"),
            ],
            ("True", "False"),
        ),
        (
            [condition("Valid", False, "Invalid", "cpu"), condition("Ready", False, "Invalid")],
            ("False", "True"),
        ),
        *(  # the admin's policy refuses it: only the admin or a change of the spec mends it
            (
                [condition("Ready", False, reason), condition("Degraded", True, reason)],
                ("False", "True"),
            )
            for reason in (TASK_ROLE_NOT_ALLOWED, PRIVILEGE_NOT_ALLOWED)
        ),
    ],
)
def test_stalled_for_what_no_retry_mends_else_reconciling_until_ready(
    conditions: list[dict[str, Any]], expected: tuple[str, str]
) -> None:
    assert _kstatus(conditions) == expected


def test_kstatus_conditions_carry_the_cause_and_are_derived_once() -> None:
    problem = [condition("Ready", False, "NotSteady", "1/2 tasks running")]
    merged = merge(None, problem, 3)
    reconciling = next(c for c in merged if c["type"] == "Reconciling")
    assert (reconciling["reason"], reconciling["message"]) == ("NotSteady", "1/2 tasks running")
    assert reconciling["observedGeneration"] == 3
    again = with_kstatus(merged)
    assert [c["type"] for c in again].count("Reconciling") == 1


def _stopped(code: str, reason: str) -> dict[str, Any]:
    return {"lastStatus": "STOPPED", "stopCode": code, "stoppedReason": reason}


EXITED = "Essential container in task exited"


@pytest.mark.parametrize(
    ("last", "states", "ready", "degraded"),
    [
        ("RUNNING", [{"lastStatus": "RUNNING"}], "True", "False"),
        ("PENDING", [{"lastStatus": "PENDING"}], "False", "False"),
        (
            "STOPPED",
            [_stopped("EssentialContainerExited", f"{EXITED}: app exited with code 0")],
            "True",
            "False",
        ),
        ("STOPPED", [_stopped("UserInitiated", "Task stopped by user")], "True", "False"),
        (
            "STOPPED",
            [_stopped("EssentialContainerExited", f"{EXITED}: app exited with code 3")],
            "False",
            "True",
        ),
        (
            "STOPPED",
            [_stopped("TaskFailedToStart", "Task failed to start: violates PodSecurity")],
            "False",
            "True",
        ),
        (  # one failed task of several fails the Task
            "STOPPED",
            [
                _stopped("EssentialContainerExited", f"{EXITED}: app exited with code 0"),
                _stopped("EssentialContainerExited", f"{EXITED}: app exited with code 137"),
            ],
            "False",
            "True",
        ),
    ],
)
def test_a_task_is_ready_running_or_done_and_degraded_when_it_failed(
    last: str, states: list[dict[str, Any]], ready: str, degraded: str
) -> None:
    by_type = {c["type"]: c for c in with_kstatus(task_conditions(last, states))}
    assert (by_type["Ready"]["status"], by_type["Degraded"]["status"]) == (ready, degraded)
    assert by_type["Stalled"]["status"] == degraded
