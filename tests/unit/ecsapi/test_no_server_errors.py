"""No request a client may send makes the API fail with a 500: every operation, given requests
its botocore shape allows (hypothesis draws them from the shapes, ``render/strategies.py``,
naming what exists often), answers or refuses with a 4xx, on a fake API server holding a task
definition, a service and a task. A 500 is retried by every SDK for minutes and reads as our
fault (the peers' most common complaint, docs/ecs-api.md)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.fakes import FakeApi
from tests.unit.render.strategies import request, task_definitions

from ecs_operator.ecsapi import server, services, taskdefinitions, tasks, wire
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.credentials import Credential
from ecs_operator.ecsapi.errors import EcsApiError

Body = dict[str, Any]
ARN = "arn:aws:ecs:eu-west-1:123456789012"
WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}
TOKEN = "fuzz"


def _world() -> tuple[Caller, str]:
    """A namespace with the family ``web``, its service ``web`` and one standalone task (its
    ARN: the same in every world, its RunTask's token being the same)."""
    api = FakeApi(now=time.time())
    caller = Caller(Credential("AKIA", "s", "shop", "deployer"), "eu-west-1", cast(Any, api))
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    service = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}
    asyncio.run(services.create(caller, service))
    ran = asyncio.run(tasks.run(caller, {"taskDefinition": "web", "clientToken": TOKEN}))
    return caller, ran["tasks"][0]["taskArn"]


TASK = _world()[1]
CLUSTERS = st.sampled_from(["default", f"{ARN}:cluster/default", "batch", ""])
SERVICES = st.sampled_from(["web", f"{ARN}:service/default/web", "gone"])
DEFINITIONS = st.sampled_from(["web", "web:1", f"{ARN}:task-definition/web:1", "web:7", "x:y"])
TASKS = st.sampled_from([TASK, TASK.rsplit("/", 1)[-1], f"{ARN}:task/default/" + "0" * 32])
RESOURCES = st.sampled_from(
    [
        f"{ARN}:cluster/default",
        f"{ARN}:service/default/web",
        f"{ARN}:task-definition/web:1",
        TASK,
        f"{ARN}:task/",
        "web",
    ]
)
#: the top-level request members that name what exists, drawn from its names (and near misses)
MEMBERS = {
    "cluster": CLUSTERS,
    "clusters": st.lists(CLUSTERS, max_size=3),
    "clusterName": CLUSTERS,
    "service": SERVICES,
    "serviceName": SERVICES,
    "services": st.lists(SERVICES, min_size=1, max_size=3),
    "taskDefinition": DEFINITIONS,
    "taskDefinitions": st.lists(DEFINITIONS, min_size=1, max_size=3),
    "familyPrefix": st.sampled_from(["web", "w", "nope"]),
    "task": TASKS,
    "tasks": st.lists(TASKS, min_size=1, max_size=3),
    "resourceArn": RESOURCES,
    "serviceDeploymentArns": st.lists(
        st.sampled_from([f"{ARN}:service-deployment/default/web/1", "bad"]), min_size=1
    ),
}


def _requests(operation: str) -> st.SearchStrategy[Body]:
    shape = server.OPERATIONS[operation][0]
    drawn = request(shape, MEMBERS)
    return drawn | task_definitions() if operation == "RegisterTaskDefinition" else drawn


@pytest.mark.parametrize("operation", sorted(server.OPERATIONS))
def test_no_request_an_operation_allows_is_a_server_error(operation: str) -> None:
    shape, run = server.OPERATIONS[operation]

    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(data=_requests(operation))
    def answered_or_refused(data: Body) -> None:
        caller, _ = _world()
        try:
            answer = asyncio.run(
                server.retried(run, caller, server.validated(operation, shape, data))
            )
        except EcsApiError as error:
            assert error.status < 500, f"{operation} {data}: {error.code} {error.message}"
            return
        json.dumps(wire.to_wire(answer, caller.region, caller.credential.account))

    answered_or_refused()
