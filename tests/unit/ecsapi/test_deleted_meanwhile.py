"""An object deleted between an operation's read of it and its write: the operation answers
what it answers for an object that is not there (a 4xx naming it), never a 500
``ServerException``, which SDKs retry for minutes and which reads as our fault."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.unit.fakes import FakeApi, deployer

from ecs_operator.ecsapi import server, services, tags, taskdefinitions, tasks
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.errors import EcsApiError
from ecs_operator.ecsapi.server import Operation

Body = dict[str, Any]
WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}


def _caller(api: FakeApi) -> Caller:
    caller = deployer(api)
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    return caller


def _refusal(run: Operation, caller: Caller, request: Body) -> EcsApiError:
    with pytest.raises(EcsApiError) as refused:
        asyncio.run(server.retried(run, caller, request))
    return refused.value


def test_an_update_service_whose_service_was_deleted_meanwhile_is_not_found() -> None:
    api = FakeApi(now=time.time())
    caller = _caller(api)
    asyncio.run(
        services.create(caller, {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1})
    )
    api.deleted_before_patch.add("web")

    refused = _refusal(services.update, caller, {"service": "web", "desiredCount": 3})

    assert (refused.code, refused.status) == ("ServiceNotFoundException", 400)


def test_a_stop_task_whose_task_was_deleted_meanwhile_is_not_found() -> None:
    api = FakeApi(now=time.time())
    caller = _caller(api)
    started = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"][0]
    name = next(key[2] for key in api.objects if key[0] == "tasks")
    api.deleted_before_patch.add(name)

    refused = _refusal(tasks.stop, caller, {"task": started["taskArn"]})

    assert (refused.code, refused.status) == ("InvalidParameterException", 400)


def test_a_tag_resource_whose_task_definition_was_deleted_meanwhile_is_not_found() -> None:
    api = FakeApi(now=time.time())
    caller = _caller(api)
    api.deleted_before_patch.add("web")
    arn = "arn:aws:ecs:eu-west-1:000000000000:task-definition/web:1"
    request = {"resourceArn": arn, "tags": [{"key": "team", "value": "a"}]}

    refused = _refusal(tags.tag, caller, request)

    assert (refused.code, refused.status) == ("ClientException", 400)
