"""The answer checker the ECS API's tests use (tests/support/ecs_answers.py) says what ECS
could not send, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support import ecs_answers


def _service(**members: Any) -> dict[str, Any]:
    return {"services": [{"serviceName": "web", **members}], "failures": []}


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (_service(createdAt=1796385600.0), None),
        (_service(createdAt="2026-12-04T12:00:00Z"), "services[0].createdAt"),
        (_service(colour="blue"), "services[0].colour: not a member"),
        (_service(desiredCount="2"), "services[0].desiredCount"),
        # lifecycle hooks' details are a Smithy document: any JSON value
        *(
            (_service(deploymentConfiguration={"lifecycleHooks": [{"hookDetails": v}]}), None)
            for v in ("", 3, [1, "a"], {"any": {"thing": None}})
        ),
    ],
)
def test_the_checker_names_what_ecs_could_not_send(
    answer: dict[str, Any], problem: str | None
) -> None:
    found = ecs_answers.problems("DescribeServices", answer)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found
