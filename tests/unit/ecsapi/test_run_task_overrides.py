"""RunTask's overrides are checked at the call, as ECS checks them: an override naming no
container of the task definition, or a size the task definition's rules refuse, is the call's
InvalidParameterException, not a task that later reads STOPPED."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ecs_operator.ecsapi import taskdefinitions, tasks
from ecs_operator.ecsapi.errors import EcsApiError

from ..fakes import FakeApi, deployer
from ..render.test_render_workloads import FARGATE_256

NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"containerOverrides": [{"name": "nope", "command": ["x"]}]}, "no container named"),
        ({"cpu": "256", "memory": "4096"}, "overrides.memory"),
        ({"containerOverrides": [{"name": "a", "memory": 2048}]}, "overrides"),
    ],
    ids=["a container the task definition lacks", "a Fargate size", "a container's memory"],
)
def test_run_task_refuses_overrides_the_task_definition_cannot_take(
    overrides: dict[str, Any], words: str
) -> None:
    api = FakeApi(now=time.time())
    caller = deployer(api)
    asyncio.run(taskdefinitions.register(caller, dict(FARGATE_256)))
    request = {"taskDefinition": "fg", "launchType": "FARGATE", "networkConfiguration": NETWORK}
    with pytest.raises(EcsApiError) as refused:
        asyncio.run(tasks.run(caller, {**request, "overrides": overrides}))
    assert refused.value.code == "InvalidParameterException"
    assert words in refused.value.message
    assert not [key for key in api.objects if key[0] == "tasks"]  # no task was created
