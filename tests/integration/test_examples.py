"""The shipped examples, as a user applies them: they converge, and then the operator is quiet
(a write loop between two objects is the classic operator bug; this is where it would show)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.support.ecs import status
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVICES = ("web", "worker", "log-agent")
TASK = "nightly-report"


def _steady(kube: Kube, namespace: str) -> bool:
    """Every example at rest: the services Ready, and the batch task (which runs 20 s) STOPPED
    with its pods gone (the tests' operator keeps them 5 s): its stop and their deletion are
    writes that end, not a loop."""
    for name in SERVICES:
        current = status(kube, namespace, "Service", name)
        if not any(
            c["type"] == "Ready" and c["status"] == "True" for c in current.get("conditions", [])
        ):
            return False
    if status(kube, namespace, "Task", TASK).get("lastStatus") != "STOPPED":
        return False
    return not [p for p in kube.pods(namespace) if p.status.phase in ("Succeeded", "Failed")]


def test_examples_converge_and_then_the_operator_writes_nothing(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES))
    wait_for(lambda: _steady(kube, namespace), 120, "the examples at rest")
    # the operator is shared: the deletion of an earlier test's ECS objects is its work too
    left: list[str] = []

    def earlier_objects_gone() -> bool:
        left[:] = kube.ecs_objects_being_deleted()
        return not left

    try:
        wait_for(earlier_objects_gone, 120, "earlier tests' ECS objects gone")
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}; still there: {left}") from None
    time.sleep(3)  # let the last status updates land
    before = operator.writes()
    time.sleep(10)
    assert operator.writes() == before, operator.metrics()
