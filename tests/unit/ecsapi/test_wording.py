"""ECS's own code and words for the refusals clients compare (moto's tests among them)."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.api import shapes
from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.parse import parse_cluster, parse_service, parse_task_definition
from ecs_operator.ecsapi.errors import EcsApiError
from ecs_operator.ecsapi.server import validated
from ecs_operator.ecsapi.wording import refusal

CONTAINER = {"name": "app", "image": "nginx", "memory": 64}
FARGATE = {"family": "web", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}


def refused(operation: str, request: dict[str, Any]) -> tuple[str, str]:
    """Validate ``request`` as the server does, then as the operation does (UpdateCluster:
    the cluster's new members)."""
    parsers = {
        "RegisterTaskDefinition": parse_task_definition,
        "CreateService": parse_service,
        "UpdateCluster": lambda r: parse_cluster({k: v for k, v in r.items() if k != "cluster"}),
        "RunTask": lambda r: None,
    }
    shape = getattr(shapes, f"{operation}Request")
    try:
        validated(operation, shape, request)
        parsers[operation](request)
    except EcsApiError as error:
        return error.code, error.message
    except EcsValidationError as error:
        found = refusal(error, request, operation)
        return found.code, found.message
    raise AssertionError("accepted")


@pytest.mark.parametrize(
    ("operation", "request_", "code", "message"),
    [
        (
            "RegisterTaskDefinition",
            {"family": "web", "containerDefinitions": [{"image": "nginx"}]},
            "ClientException",
            "Container.name should not be null or empty.",
        ),
        (
            "RegisterTaskDefinition",
            {"family": "web", "containerDefinitions": [{"name": "app", "image": "x"}] * 2},
            "ClientException",
            "Invalid setting for container 'app'. At least one of 'memory' or "
            "'memoryReservation' must be specified.",
        ),
        (
            "RegisterTaskDefinition",
            {**FARGATE, "containerDefinitions": [CONTAINER]},
            "ClientException",
            "Fargate only supports network mode \u2018awsvpc\u2019.",
        ),
        (
            "RegisterTaskDefinition",
            {
                **FARGATE,
                "networkMode": "awsvpc",
                "pidMode": "host",
                "containerDefinitions": [CONTAINER],
            },
            "ClientException",
            "Tasks using the Fargate launch type do not support pidMode 'host'. The supported "
            "value for pidMode is 'task'.",
        ),
        (
            "CreateService",
            {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1, "launchType": "X"},
            "ClientException",
            "launch type should be one of [EC2,FARGATE]",
        ),
        (
            "RunTask",
            {"taskDefinition": "web", "launchType": "Fargate"},
            "InvalidParameterException",
            "launch type should be one of [EC2,FARGATE,EXTERNAL]",
        ),
        (
            "CreateService",
            {
                "serviceName": "d",
                "taskDefinition": "d",
                "desiredCount": 2,
                "schedulingStrategy": "DAEMON",
            },
            "InvalidParameterException",
            "The daemon scheduling strategy does not support a desired count for services. "
            "Remove the desired count value and try again",
        ),
        (
            "UpdateCluster",
            {"cluster": "c", "settings": [{"name": "containerInsights", "value": "v"}]},
            "InvalidParameterException",
            "Invalid setting 'value': settings[0].value: the containerInsights setting value is "
            "enhanced, enabled or disabled",
        ),
        (
            "CreateService",
            {"serviceName": "web", "taskDefinition": "web", "desiredCount": -1},
            "ClientException",
            "desiredCount: Input should be greater than or equal to 0",
        ),
    ],
    ids=[
        "no container name",
        "no container memory",
        "fargate bridge",
        "fargate pid host",
        "CreateService launchType",
        "RunTask launchType",
        "daemon desiredCount",
        "containerInsights",
        "no ECS words: ours",
    ],
)
def test_ecs_words_its_refusals(
    operation: str, request_: dict[str, Any], code: str, message: str
) -> None:
    assert refused(operation, request_) == (code, message)
