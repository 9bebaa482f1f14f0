"""The ECS API as custom resources: spec models, their rules, and the one error they raise.

Callers parse with ``parse_task_definition`` / ``parse_service`` / ``parse_task`` /
``parse_cluster`` / ``parse_scheduled_task`` and catch :class:`EcsValidationError` only.
"""

from .errors import EcsValidationError, Violation
from .models import (
    CapacityProviderDefinition,
    ClusterSpec,
    ScheduledTaskSpec,
    ServiceAutoScaling,
    ServiceSpec,
    TargetTrackingScalingPolicy,
    TaskDefinitionSpec,
    TaskSpec,
    Toleration,
)
from .parse import (
    parse_cluster,
    parse_scheduled_task,
    parse_service,
    parse_task,
    parse_task_definition,
)
from .ref import InvalidTaskDefinitionRef, TaskDefinitionRef

__all__ = [
    "CapacityProviderDefinition",
    "ClusterSpec",
    "EcsValidationError",
    "InvalidTaskDefinitionRef",
    "ScheduledTaskSpec",
    "ServiceAutoScaling",
    "ServiceSpec",
    "TargetTrackingScalingPolicy",
    "TaskDefinitionRef",
    "TaskDefinitionSpec",
    "TaskSpec",
    "Toleration",
    "Violation",
    "parse_cluster",
    "parse_scheduled_task",
    "parse_service",
    "parse_task",
    "parse_task_definition",
]
