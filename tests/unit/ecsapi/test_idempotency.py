"""A create happens once however often its call is sent: ECS's client tokens, and creates
retried after their answer was lost, on a fake API server (the devcluster tests send the same
calls through botocore)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest
from tests.unit.fakes import FakeApi

from ecs_operator.ecsapi import idempotency, services, taskdefinitions, tasks
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.credentials import Credential
from ecs_operator.ecsapi.errors import EcsApiError

Body = dict[str, Any]
WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}


def test_a_call_and_its_retry_bear_one_mark_and_other_parameters_another() -> None:
    call = {"taskDefinition": "web", "count": 2, "clientToken": "t-1", "cluster": "default"}

    assert idempotency.call_mark(call) == idempotency.call_mark(dict(call))
    assert idempotency.call_mark(call) != idempotency.call_mark({**call, "count": 1})
    assert idempotency.call_mark(call) != idempotency.call_mark({**call, "clientToken": "t-2"})


def test_calls_without_a_token_never_bear_the_same_mark() -> None:
    call = {"taskDefinition": "web"}

    assert idempotency.call_mark(call) != idempotency.call_mark(call)


def test_a_tokens_task_name_is_per_cluster_and_changes_once_the_token_expired() -> None:
    first = idempotency.token_name("default", "t-1")

    assert first == idempotency.token_name("default", "t-1")
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != idempotency.token_name("batch", "t-1")
    assert first != idempotency.token_name("default", "t-1", expired_uid="uid-old")


def _caller(api: FakeApi) -> Caller:
    credential = Credential("AKIA", "s", "shop", "deployer")
    return Caller(credential, "eu-west-1", cast(Any, api))


def _registered(api: FakeApi) -> Caller:
    caller = _caller(api)
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    return caller


def test_a_create_service_whose_answer_was_lost_answers_the_service_it_created() -> None:
    """The client's create landed, its answer was lost, and the retry found the name taken:
    the call answers its own service rather than refusing it as "not idempotent"."""
    api = FakeApi(now=time.time())  # the API reads a token's age on the real clock
    caller = _registered(api)
    api.answers_lost.add("web")

    created = asyncio.run(
        services.create(caller, {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1})
    )

    assert created["service"]["serviceName"] == "web"
    assert [key for key in api.objects if key[0] == "services"] == [("services", "shop", "web")]


def test_a_service_of_that_name_created_by_another_call_meanwhile_is_not_this_calls() -> None:
    api = FakeApi(now=time.time())
    caller = _registered(api)
    asyncio.run(
        services.create(caller, {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1})
    )

    with pytest.raises(EcsApiError) as refused:
        asyncio.run(
            services.create(
                caller, {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}
            )
        )

    assert refused.value.message == "Creation of service was not idempotent."


def test_a_run_task_whose_answer_was_lost_answers_the_task_it_started() -> None:
    api = FakeApi(now=time.time())
    caller = _registered(api)
    name = idempotency.token_name("default", "t-1")
    api.answers_lost.add(name)
    call = {"taskDefinition": "web", "count": 2, "clientToken": "t-1"}

    started = asyncio.run(tasks.run(caller, call))["tasks"]

    assert len(started) == 2
    assert [key for key in api.objects if key[0] == "tasks"] == [("tasks", "shop", name)]


def test_a_client_token_used_again_after_its_lifetime_runs_new_tasks() -> None:
    """ECS keeps a RunTask token 24 hours: after that, the same token is a new call, whose own
    retries answer its own tasks."""
    api = FakeApi(now=time.time())
    caller = _registered(api)
    call = {"taskDefinition": "web", "clientToken": "nightly"}
    first = asyncio.run(tasks.run(caller, call))["tasks"]
    old = api.objects[("tasks", "shop", idempotency.token_name("default", "nightly"))]
    old["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"

    again = asyncio.run(tasks.run(caller, call))["tasks"]
    retried = asyncio.run(tasks.run(caller, call))["tasks"]

    assert again[0]["taskArn"] != first[0]["taskArn"]
    assert retried[0]["taskArn"] == again[0]["taskArn"]
    assert len([key for key in api.objects if key[0] == "tasks"]) == 2
