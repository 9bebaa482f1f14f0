"""No request a client may send makes the API fail with a 500: every operation, given requests
its botocore shape allows (hypothesis draws them from the shapes, ``render/strategies.py``,
naming what exists often), answers or refuses with a 4xx, on a fake API server holding a task
definition, a service and a task; nor does an object a tenant wrote with kubectl that the
CRD's schema takes, whatever the operation. A 500 is retried by every SDK for minutes and
reads as our fault (the peers' most common complaint, docs/ecs-api.md)."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import time
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import ecs_answers
from tests.unit.fakes import FakeApi, deployer, reconciled
from tests.unit.render.strategies import DETERMINISTIC, request, stored, task_definitions

from ecs_operator.api.models import ClusterSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
from ecs_operator.ecsapi import server, services, taskdefinitions, tasks, wire
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.errors import EcsApiError
from ecs_operator.kube.client import Resource
from ecs_operator.kube.resources import ECS_CLUSTER, ECS_SERVICE, ECS_TASK, TASK_DEFINITION

Body = dict[str, Any]
ARN = "arn:aws:ecs:eu-west-1:123456789012"
IAM = "arn:aws:iam::123456789012"
WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}
TOKEN = "fuzz"


def _world() -> tuple[Caller, str, str]:
    """A namespace with the family ``web``, its service ``web``, one standalone task, and one
    of the family ``reports`` that the operator refuses to start (its task role is not
    allowed: STOPPED, TaskFailedToStart), the tasks' ARNs the same in every world (their
    RunTasks' tokens being the same), each reconciled by the operator, so that what the API
    answers carries the status the operator reports; a copy of one made once."""
    caller, task_arn, refused_arn = _first_world()
    copied = Caller(caller.credential, caller.region, copy.deepcopy(caller.kube))
    return copied, task_arn, refused_arn


@functools.cache
def _first_world() -> tuple[Caller, str, str]:
    api = FakeApi(now=time.time())
    caller = deployer(api)
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    reports = {**WEB, "family": "reports", "taskRoleArn": f"{IAM}:role/reports"}
    asyncio.run(taskdefinitions.register(caller, reports))
    created = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}
    asyncio.run(services.create(caller, created))
    ran = asyncio.run(tasks.run(caller, {"taskDefinition": "web", "clientToken": TOKEN}))
    refused = {"taskDefinition": "reports", "clientToken": f"{TOKEN}-refused"}
    not_run = asyncio.run(tasks.run(caller, refused))
    asyncio.run(reconciled(api))
    return caller, ran["tasks"][0]["taskArn"], not_run["tasks"][0]["taskArn"]


_, TASK, REFUSED = _world()
CLUSTERS = st.sampled_from(["default", f"{ARN}:cluster/default", "batch", ""])
SERVICES = st.sampled_from(["web", f"{ARN}:service/default/web", "gone"])
DEFINITIONS = st.sampled_from(["web", "web:1", f"{ARN}:task-definition/web:1", "web:7", "x:y"])
TASKS = st.sampled_from([TASK, TASK.rsplit("/", 1)[-1], REFUSED, f"{ARN}:task/default/" + "0" * 32])
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


def _answered_or_refused(operation: str, caller: Caller, data: Body, context: str) -> None:
    """``operation`` on ``data`` answers (in JSON) or refuses with a 4xx."""
    shape, run = server.OPERATIONS[operation]
    try:
        answer = asyncio.run(server.retried(run, caller, server.validated(operation, shape, data)))
    except EcsApiError as error:
        assert error.status < 500, f"{operation} {data} {context}: {error.code} {error.message}"
        return
    sent = json.loads(json.dumps(wire.to_wire(answer, caller.region, caller.credential.account)))
    assert not ecs_answers.problems(operation, sent), f"{operation} {data} {context}"


@pytest.mark.parametrize("operation", sorted(server.OPERATIONS))
def test_no_request_an_operation_allows_is_a_server_error(operation: str) -> None:
    @settings(DETERMINISTIC, max_examples=25)
    @given(data=_requests(operation))
    def answered_or_refused(data: Body) -> None:
        _answered_or_refused(operation, _world()[0], data, "")

    answered_or_refused()


#: every operation, asked about what the world holds (the ``web`` objects and the task)
ASKED: dict[str, Body] = {
    "CreateCluster": {"clusterName": "default"},
    "DescribeClusters": {"clusters": ["default"], "include": ["STATISTICS", "TAGS", "SETTINGS"]},
    "ListClusters": {},
    "DeleteCluster": {"cluster": "default"},
    "UpdateCluster": {
        "cluster": "default",
        "settings": [{"name": "containerInsights", "value": "enabled"}],
    },
    "PutClusterCapacityProviders": {
        "cluster": "default",
        "capacityProviders": ["FARGATE"],
        "defaultCapacityProviderStrategy": [],
    },
    "RegisterTaskDefinition": {**WEB, "cpu": "256"},
    "DescribeTaskDefinition": {"taskDefinition": "web", "include": ["TAGS"]},
    "DeregisterTaskDefinition": {"taskDefinition": "web:1"},
    "DeleteTaskDefinitions": {"taskDefinitions": ["web:1"]},
    "ListTaskDefinitions": {"familyPrefix": "web", "sort": "DESC"},
    "ListTaskDefinitionFamilies": {},
    "CreateService": {"serviceName": "api", "taskDefinition": "web", "desiredCount": 1},
    "DescribeServices": {"services": ["web", "kubectl"], "include": ["TAGS"]},
    "ListServices": {},
    "UpdateService": {"service": "web", "desiredCount": 2, "forceNewDeployment": True},
    "DeleteService": {"service": "kubectl", "force": True},
    "ListServiceDeployments": {"service": "web"},
    "DescribeServiceDeployments": {
        "serviceDeploymentArns": [f"{ARN}:service-deployment/default/web/1"]
    },
    "RunTask": {"taskDefinition": "web", "count": 2},
    "DescribeTasks": {"tasks": [TASK], "include": ["TAGS"]},
    "ListTasks": {"desiredStatus": "RUNNING"},
    "StopTask": {"task": TASK, "reason": "done"},
    "TagResource": {
        "resourceArn": f"{ARN}:service/default/kubectl",
        "tags": [{"key": "a", "value": "b"}],
    },
    "UntagResource": {"resourceArn": f"{ARN}:task-definition/web:1", "tagKeys": ["a"]},
    "ListTagsForResource": {"resourceArn": f"{ARN}:cluster/default"},
    "PutAccountSetting": {"name": "containerInsights", "value": "enabled"},
    "PutAccountSettingDefault": {"name": "containerInsights", "value": "enabled"},
    "ListAccountSettings": {},
}


#: objects a tenant writes with kubectl: any spec the CRD's schema takes, named ``kubectl``
#: (a Service of the name ``web`` among them, and Tasks and Clusters of the world's cluster)
WRITTEN = {
    resource: strategy.map(stored)
    for resource, strategy in (
        (
            ECS_SERVICE,
            request(ServiceSpec, {**MEMBERS, "serviceName": st.sampled_from(["kubectl", "web"])}),
        ),
        (
            TASK_DEFINITION,
            request(TaskDefinitionSpec, {"family": st.sampled_from(["kubectl", "web"])}),
        ),
        (ECS_TASK, request(TaskSpec, MEMBERS)),
        (
            ECS_CLUSTER,
            request(ClusterSpec, {"clusterName": st.sampled_from(["kubectl", "default"])}),
        ),
    )
}


@pytest.mark.parametrize("resource", list(WRITTEN), ids=lambda r: r.kind)
def test_no_object_written_with_kubectl_makes_an_operation_a_server_error(
    resource: Resource,
) -> None:
    """The API reads what tenants write with kubectl too, which the CRD's schema lets through
    but the operator may refuse: every operation still answers or refuses with a 4xx."""

    @settings(DETERMINISTIC, max_examples=10)
    @given(spec=WRITTEN[resource])
    def answered_or_refused(spec: Body) -> None:
        for operation, asked in ASKED.items():
            caller = _world()[0]
            written = {"metadata": {"name": "kubectl", "namespace": "shop"}, "spec": spec}
            api = cast(FakeApi, caller.kube)
            api.add({"kind": resource.kind, "apiVersion": resource.api_version, **written})
            asyncio.run(reconciled(api))
            _answered_or_refused(operation, caller, asked, f"beside {resource.kind} {spec}")

    answered_or_refused()


def test_every_operation_is_asked_beside_objects_written_with_kubectl() -> None:
    assert set(ASKED) == set(server.OPERATIONS)
