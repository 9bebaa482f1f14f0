"""Parsing a custom resource's spec: the fields (``models.py``), then the ECS rules
(``rules/``). The one way in for the operator, ``convert``, the plugin and the tests.

Each ``parse_*`` returns the spec model or raises :class:`EcsValidationError` only, whose
violations name ECS paths. A spec over its size limit (``size.py``) is refused as that alone,
without being parsed; the rules run once every field is valid, as ECS checks a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from . import size
from .errors import EcsValidationError, Violation
from .models import ClusterSpec, ScheduledTaskSpec, ServiceSpec, Spec, TaskDefinitionSpec, TaskSpec
from .rules import (
    CLUSTER_RULES,
    SCHEDULED_TASK_RULES,
    SERVICE_RULES,
    TASK_DEFINITION_RULES,
    TASK_RULES,
    Rule,
)
from .rules.common import violations

M = TypeVar("M", bound=Spec)


def _parse(model: type[M], rules: tuple[Rule[M], ...], data: Mapping[str, Any], kind: str) -> M:
    """The spec, or :class:`EcsValidationError`."""
    oversize = size.object_size(len(size.json_bytes(data)), kind)
    if oversize:
        raise EcsValidationError(oversize, kind)
    try:
        spec = model.model_validate(data, strict=True)
    except ValidationError as error:
        raise EcsValidationError.from_pydantic(error, kind) from None
    found = violations(rules, spec)
    if found:
        raise EcsValidationError(found, kind)
    return spec


def parse_task_definition(data: Mapping[str, Any]) -> TaskDefinitionSpec:
    """A TaskDefinition spec from JSON data, or :class:`EcsValidationError` (one over ECS's
    64 KiB, as that alone)."""
    return _parse(TaskDefinitionSpec, TASK_DEFINITION_RULES, data, "TaskDefinition")


def parse_service(data: Mapping[str, Any]) -> ServiceSpec:
    """A Service spec from JSON data, or :class:`EcsValidationError`."""
    return _parse(ServiceSpec, SERVICE_RULES, data, "Service")


def parse_task(data: Mapping[str, Any]) -> TaskSpec:
    """A Task spec from JSON data, or :class:`EcsValidationError`."""
    return _parse(TaskSpec, TASK_RULES, data, "Task")


def parse_cluster(data: Mapping[str, Any]) -> ClusterSpec:
    """A Cluster spec from JSON data, or :class:`EcsValidationError`."""
    return _parse(ClusterSpec, CLUSTER_RULES, data, "Cluster")


#: where a ScheduledTask's RunTask members come from, for errors the Task's checks find
_TARGET_PATHS = {
    "taskDefinition": "target.ecsParameters.taskDefinitionArn",
    "count": "target.ecsParameters.taskCount",
    "overrides": "target.input",
    "cluster": "target.arn",
}


def parse_scheduled_task(data: Mapping[str, Any], name: str = "schedule") -> ScheduledTaskSpec:
    """A ScheduledTask spec from JSON data, or :class:`EcsValidationError`; the RunTask each
    firing makes is checked as a Task's spec, its violations named by the schedule's fields."""
    spec = _parse(ScheduledTaskSpec, SCHEDULED_TASK_RULES, data, "ScheduledTask")
    try:
        parse_task(spec.run_task(name))
    except ValueError as error:
        if not isinstance(error, EcsValidationError):
            violation = Violation("target.input", str(error))
            raise EcsValidationError([violation], "ScheduledTask") from None
        raise EcsValidationError(
            [_target_violation(v) for v in error.violations], "ScheduledTask"
        ) from None
    return spec


def _target_violation(violation: Violation) -> Violation:
    head, dot, rest = violation.path.partition(".")
    member, bracket, index = head.partition("[")
    if member in _TARGET_PATHS:
        path = _TARGET_PATHS[member] + bracket + index + dot + rest
    else:
        path = f"target.ecsParameters.{violation.path}" if violation.path else "target"
    return Violation(path, violation.rule)
