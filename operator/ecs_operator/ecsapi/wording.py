"""ECS's own error code and words for the refusals clients compare verbatim.

The rules (``api/rules/``) word their violations for ``kubectl apply`` and the operator's
conditions, and name every broken rule at once. ECS refuses one problem at a time, in its own
words, and some clients (moto's tests among them, scripts that match on messages) compare them.
So where ECS's text for a rule is known, the first such violation is answered ECS's way; any
other refusal keeps the rules' text, every violation named. Sources of the words: moto 5.2.1's
tests (copied from ECS), the ECS API reference, and ECS answers quoted in public issues
(``Fargate only supports network mode 'awsvpc'.``: aws/amazon-ecs-cli#1145, ECS's quotes
curly; ``Invalid setting 'value'`` for a containerInsights value: terraform-aws-modules/
terraform-aws-ecs#264, an ``InvalidParameterException``; a DAEMON service's desiredCount:
kayac/ecspresso#20, fabfuel/ecs-deploy#59).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ecs_operator.api.errors import EcsValidationError, Violation
from ecs_operator.api.rules.cluster import CONTAINER_INSIGHTS
from ecs_operator.api.rules.fargate import FARGATE_AWSVPC, FARGATE_NAMESPACES, FARGATE_SIZE
from ecs_operator.api.rules.service import DAEMON_COUNT
from ecs_operator.api.rules.taskdefinition import CONTAINER_MEMORY

from . import errors

Body = dict[str, Any]
Words = Callable[[re.Match[str], Body], errors.EcsApiError]
#: the launch types ECS names when it refuses one, by operation (moto's copies of ECS's text)
LAUNCH_TYPES = {"CreateService": "[EC2,FARGATE]"}
DEFAULT_LAUNCH_TYPES = "[EC2,FARGATE,EXTERNAL]"


def _container(request: Body, index: str) -> str:
    containers = request.get("containerDefinitions") or []
    return str(containers[int(index)].get("name", "")) if int(index) < len(containers) else ""


def _client(message: str) -> errors.EcsApiError:
    return errors.client_error(message)


#: (path pattern, rule or None for any rule, ECS's answer for it)
KNOWN: list[tuple[str, str | None, Words]] = [
    (
        r"containerDefinitions\[\d+\]\.(name|image)",
        "is required",
        lambda m, _: _client(f"Container.{m[1]} should not be null or empty."),
    ),
    (
        r"containerDefinitions\[(\d+)\]\.memory",
        CONTAINER_MEMORY,
        lambda m, request: _client(
            f"Invalid setting for container '{_container(request, m[1])}'. At least one of "
            "'memory' or 'memoryReservation' must be specified."
        ),
    ),
    (
        "pidMode",
        FARGATE_NAMESPACES,
        lambda _, request: _client(
            f"Tasks using the Fargate launch type do not support pidMode '{request['pidMode']}'."
            " The supported value for pidMode is 'task'."
        ),
    ),
    (
        "ipcMode",
        FARGATE_NAMESPACES,
        lambda _, __: _client("Tasks using the Fargate launch type do not support ipcMode."),
    ),
    (
        "networkMode",
        FARGATE_AWSVPC,
        lambda _, __: _client("Fargate only supports network mode \u2018awsvpc\u2019."),
    ),
    (
        "(cpu|memory)",
        FARGATE_SIZE,
        lambda m, _: _client(f"Fargate requires that '{m[1]}' be defined at the task level."),
    ),
    (
        "desiredCount",
        DAEMON_COUNT,
        lambda _, __: errors.invalid_parameter(
            "The daemon scheduling strategy does not support a desired count for services. "
            "Remove the desired count value and try again"
        ),
    ),
    (
        r"settings\[\d+\]\.value",
        CONTAINER_INSIGHTS,
        lambda m, _: errors.invalid_parameter(
            f"Invalid setting 'value': {m[0]}: {CONTAINER_INSIGHTS}"
        ),
    ),
]


def _launch_type(operation: str, violation: Violation) -> errors.EcsApiError | None:
    """ECS's answer to a launch type it does not know: a ClientException from CreateService,
    an InvalidParameterException elsewhere (moto's tests record both)."""
    if violation.path != "launchType" or not violation.rule.startswith("Input should be"):
        return None
    if operation in LAUNCH_TYPES:
        return _client(f"launch type should be one of {LAUNCH_TYPES[operation]}")
    return errors.invalid_parameter(f"launch type should be one of {DEFAULT_LAUNCH_TYPES}")


def refusal(error: EcsValidationError, request: Body, operation: str = "") -> errors.EcsApiError:
    """The ECS error for a refused request: ECS's words for the first violation whose words
    are known, else a ClientException naming every field and rule."""
    for violation in error.violations:
        launch = _launch_type(operation, violation)
        if launch is not None:
            return launch
        for pattern, rule, words in KNOWN:
            match = re.fullmatch(pattern, violation.path)
            if match and rule in (None, violation.rule):
                return words(match, request)
    return errors.client_error("; ".join(str(v) for v in error.violations))
