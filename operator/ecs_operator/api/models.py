"""The ``spec`` of each custom resource: an ECS request, plus a few documented extensions.

Each spec is the generated ECS input shape (``shapes.py``) with the same member names, so a
``register-task-definition`` / ``create-service`` / ``run-task`` / ``create-cluster`` JSON
document pastes into ``spec`` unchanged. The extensions cover what an ECS request leaves to
other AWS APIs or to AWS itself:

- ``ServiceSpec.autoScaling``: Application Auto Scaling's scalable target and target tracking
  policies for the service (``RegisterScalableTarget`` + ``PutScalingPolicy`` in one place).
- ``ClusterSpec.capacityProviderDefinitions``: which Kubernetes nodes an EC2 capacity provider
  stands for (on AWS that is an Auto Scaling group; here it is a node selector).

The models know nothing of the cross-field ECS rules (``rules/``, which read them); parse with
the ``parse_*`` functions of ``parse.py``, which check both and raise only
:class:`~ecs_operator.api.errors.EcsValidationError`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from .base import EcsShape
from .providers import FARGATE_PROVIDERS, LABEL_NODE_POOL
from .ref import PATTERN, TaskDefinitionRef
from .shapes import (
    CapacityProviderStrategyItem,
    CreateClusterRequest,
    CreateServiceRequest,
    LaunchType,
    NetworkConfiguration,
    PlacementConstraint,
    PlacementStrategy,
    PropagateTags,
    RegisterTaskDefinitionRequest,
    RunTaskRequest,
    Tag,
)
from .types import ECS_INTEGER_MAX

NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,255}$"
#: ECS's integers are 32-bit (tools/gen_shapes.py); so are the extensions', and the Kubernetes
#: fields they become (an HPA's replicas, utilization and windows).
INT32_MAX = ECS_INTEGER_MAX


def _valid_ref(text: str) -> str:
    TaskDefinitionRef.parse(text)
    return text


TaskDefinitionRefText = Annotated[
    str,
    AfterValidator(_valid_ref),
    WithJsonSchema({"type": "string", "maxLength": 400, "pattern": PATTERN}),
]
"""A task definition reference (see ``ref.py``), checked but kept as the user wrote it."""


class Spec(EcsShape):
    """A custom resource's spec: an ECS request, maybe with extensions of ours."""

    #: Members that are ours, not ECS's: left out of the ECS request.
    extensions: ClassVar[frozenset[str]] = frozenset()

    def to_ecs(self) -> dict[str, Any]:
        """The ECS request: ECS field names, absent members and our extensions left out."""
        return self.model_dump(mode="json", exclude_none=True, exclude=set(self.extensions))


class TaskDefinitionSpec(Spec, RegisterTaskDefinitionRequest):
    """An ECS task definition (the RegisterTaskDefinition request). Each change of the spec
    registers a new revision of the family, as ECS does."""


PredefinedMetricType = Literal[
    "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"
]


class TargetTrackingScalingPolicy(EcsShape):
    """An Application Auto Scaling target tracking policy for the service: add or remove
    tasks to keep a predefined ECS metric at targetValue (PutScalingPolicy's
    TargetTrackingScalingPolicyConfiguration)."""

    predefinedMetricType: PredefinedMetricType = Field(
        description="The metric to track: the service's average CPU or memory utilization, "
        "in percent of what its tasks reserve."
    )
    targetValue: float = Field(
        gt=0, le=INT32_MAX, description="The metric value to keep, in percent (for example 75)."
    )
    scaleInCooldown: int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Seconds after a scale-in before another scale-in may start (default 300).",
    )
    scaleOutCooldown: int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Seconds after a scale-out before another scale-out may start (default 300).",
    )


class ServiceAutoScaling(EcsShape):
    """Service Auto Scaling (ecs-operator extension, Application Auto Scaling vocabulary): the
    scalable target's bounds on desiredCount and its target tracking policies."""

    minCapacity: int = Field(ge=0, le=INT32_MAX, description="The fewest tasks to scale in to.")
    maxCapacity: int = Field(
        ge=0,
        le=INT32_MAX,
        description="The most tasks to scale out to (at most 5000, ECS's tasks per service).",
    )
    targetTrackingScalingPolicies: list[TargetTrackingScalingPolicy] | None = Field(
        default=None,
        max_length=2,
        description="Target tracking policies, at most one per predefinedMetricType.",
    )


class ServiceSpec(Spec, CreateServiceRequest):
    """An ECS service (the CreateService request): keeps desiredCount tasks of a task
    definition running, or one per container instance with schedulingStrategy DAEMON."""

    extensions = frozenset({"autoScaling"})

    taskDefinition: TaskDefinitionRefText | None = Field(
        default=None, description=CreateServiceRequest.model_fields["taskDefinition"].description
    )
    autoScaling: ServiceAutoScaling | None = Field(
        default=None,
        description="ecs-operator extension: Service Auto Scaling (Application Auto Scaling "
        "target tracking on desiredCount). Not valid with schedulingStrategy DAEMON.",
    )

    @property
    def task_definition_ref(self) -> TaskDefinitionRef | None:
        """``taskDefinition`` parsed."""
        return None if self.taskDefinition is None else TaskDefinitionRef.parse(self.taskDefinition)


class TaskSpec(Spec, RunTaskRequest):
    """A standalone ECS task run (the RunTask request): count copies of a task definition."""

    extensions = frozenset({"desiredStatus"})

    desiredStatus: Literal["RUNNING", "STOPPED"] | None = Field(
        default=None,
        description="ecs-operator extension: set to STOPPED to stop the task (ECS StopTask); "
        "its pods are ended and the task reports stopCode UserInitiated.",
    )

    taskDefinition: TaskDefinitionRefText = Field(
        description=RunTaskRequest.model_fields["taskDefinition"].description
    )

    @property
    def task_definition_ref(self) -> TaskDefinitionRef:
        """``taskDefinition`` parsed."""
        return TaskDefinitionRef.parse(self.taskDefinition)


#: Kubernetes label keys (an optional DNS-subdomain prefix of 253 and a name of 63) and values.
LabelKey = Annotated[str, Field(max_length=317)]
LabelValue = Annotated[str, Field(max_length=63)]


class Toleration(EcsShape):
    """A Kubernetes toleration (core/v1 Toleration) for the taints of a node pool."""

    key: LabelKey | None = Field(
        default=None,
        description="The taint key to tolerate; empty with operator Exists tolerates every taint.",
    )
    operator: Literal["Exists", "Equal"] | None = Field(
        default=None, description="Equal (the default) matches value; Exists matches any value."
    )
    value: LabelValue | None = Field(
        default=None, description="The taint value to match with operator Equal."
    )
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="The taint effect to tolerate; empty tolerates every effect."
    )
    tolerationSeconds: int | None = Field(
        default=None,
        ge=-(2**63),
        le=2**63 - 1,
        description="With effect NoExecute: how long a pod stays on the node after the taint "
        "appears (default: forever).",
    )


class CapacityProviderDefinition(EcsShape):
    """Which Kubernetes nodes an EC2 capacity provider of the cluster stands for (ecs-operator
    extension; on AWS a capacity provider is an Auto Scaling group). FARGATE and FARGATE_SPOT
    are built in and need no definition."""

    name: str = Field(
        max_length=255,
        pattern=NAME_PATTERN,
        description="The capacity provider's name, as listed in capacityProviders.",
    )
    nodeSelector: dict[LabelKey, LabelValue] | None = Field(
        default=None,
        max_length=20,
        description=f"The labels of the provider's nodes (default: {LABEL_NODE_POOL}: <name>).",
    )
    tolerations: list[Toleration] | None = Field(
        default=None,
        max_length=20,
        description="Tolerations for the taints of the provider's nodes.",
    )


class ClusterSpec(Spec, CreateClusterRequest):
    """An ECS cluster (the CreateCluster request): a namespace for services and tasks, with
    the capacity providers they may use."""

    extensions = frozenset({"capacityProviderDefinitions"})

    capacityProviders: list[Annotated[str, Field(max_length=255, pattern=NAME_PATTERN)]] | None = (
        Field(
            default=None,
            max_length=20,
            description=f"{CreateClusterRequest.model_fields['capacityProviders'].description}"
            " A name is up to 255 letters, numbers, underscores and hyphens, as ECS names"
            " capacity providers.",
        )
    )
    capacityProviderDefinitions: list[CapacityProviderDefinition] | None = Field(
        default=None,
        max_length=20,
        description="ecs-operator extension: the nodes each EC2 capacity provider in "
        "capacityProviders stands for. A provider without a definition means the node pool "
        f"of its name ({LABEL_NODE_POOL}: <name>).",
    )

    def definitions(self) -> dict[str, CapacityProviderDefinition]:
        """The cluster's EC2 capacity providers by name (those of capacityProviders that are
        not FARGATE or FARGATE_SPOT), each with its definition (a bare one where
        capacityProviderDefinitions has none: the node pool of its name)."""
        defined = {d.name: d for d in self.capacityProviderDefinitions or ()}
        return {
            name: defined.get(name) or CapacityProviderDefinition(name=name)
            for name in self.capacityProviders or ()
            if name not in FARGATE_PROVIDERS
        }


def _valid_timestamp(text: str) -> str:
    timestamp(text)
    return text


def timestamp(text: str) -> datetime:
    """An RFC 3339 time (a ``Z`` or an offset; UTC when it has neither)."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


Timestamp = Annotated[
    str,
    AfterValidator(_valid_timestamp),
    WithJsonSchema({"type": "string", "maxLength": 64}),
]
"""A time as the user wrote it (RFC 3339), checked."""


def _as_in_run_task(member: str) -> Any:
    """RunTask's field ``member`` (its constraints and documentation), for a member of the
    same name elsewhere."""
    return RunTaskRequest.model_fields[member]


class EcsParameters(EcsShape):
    """The ECS target of a schedule (EventBridge Scheduler's EcsParameters): the RunTask each
    firing makes."""

    taskDefinitionArn: TaskDefinitionRefText = Field(
        description="The task definition to run: family, family:revision or its ARN "
        "(RunTask's taskDefinition)."
    )
    taskCount: int | None = Field(
        default=None, ge=1, le=10, description="How many tasks each firing runs (default 1)."
    )
    launchType: LaunchType | None = _as_in_run_task("launchType")
    capacityProviderStrategy: list[CapacityProviderStrategyItem] | None = _as_in_run_task(
        "capacityProviderStrategy"
    )
    networkConfiguration: NetworkConfiguration | None = _as_in_run_task("networkConfiguration")
    group: str | None = _as_in_run_task("group")
    platformVersion: str | None = _as_in_run_task("platformVersion")
    placementConstraints: list[PlacementConstraint] | None = _as_in_run_task("placementConstraints")
    placementStrategy: list[PlacementStrategy] | None = _as_in_run_task("placementStrategy")
    enableECSManagedTags: bool | None = _as_in_run_task("enableECSManagedTags")
    enableExecuteCommand: bool | None = _as_in_run_task("enableExecuteCommand")
    propagateTags: PropagateTags | None = _as_in_run_task("propagateTags")
    referenceId: str | None = _as_in_run_task("referenceId")
    tags: list[Tag] | None = _as_in_run_task("tags")


class ScheduleTarget(EcsShape):
    """What a schedule invokes (EventBridge Scheduler's Target), here always ECS RunTask."""

    arn: str | None = Field(
        default=None,
        max_length=1600,
        description="The ECS cluster to run in: its name or ARN (default: the cluster named "
        "default).",
    )
    roleArn: str | None = Field(
        default=None,
        max_length=1600,
        description="The role EventBridge Scheduler assumes to call RunTask: accepted and "
        "unused (the operator runs the task itself).",
    )
    ecsParameters: EcsParameters = Field(description="The RunTask each firing makes.")
    input: str | None = Field(
        default=None,
        max_length=8192,
        description="RunTask overrides as a JSON string (a TaskOverride: containerOverrides, "
        "cpu, memory, taskRoleArn...), as EventBridge passes them.",
    )


class FlexibleTimeWindow(EcsShape):
    """How long after its time a firing may start (EventBridge Scheduler's FlexibleTimeWindow).
    The operator fires at the start of the window."""

    mode: Literal["OFF", "FLEXIBLE"] = Field(description="OFF, or FLEXIBLE within the window.")
    maximumWindowInMinutes: int | None = Field(
        default=None, ge=1, le=1440, description="The window's length with mode FLEXIBLE."
    )


def started_by_schedule(name: str) -> str:
    """RunTask's ``startedBy`` of a schedule's tasks, as ECS shows EventBridge Scheduler's:
    ``chronos-schedule/<name>``, at most 128 characters."""
    return f"chronos-schedule/{name}"[:128]


class ScheduledTaskSpec(Spec):
    """A schedule that runs an ECS task (EventBridge Scheduler's CreateSchedule with an ECS
    target): each firing creates a Task."""

    extensions = frozenset({"taskHistoryLimit"})

    scheduleExpression: str = Field(
        max_length=256,
        description="cron(minutes hours day-of-month month day-of-week year), "
        "rate(value minute|minutes|hour|hours|day|days) or at(yyyy-mm-ddThh:mm:ss).",
    )
    scheduleExpressionTimezone: str | None = Field(
        default=None,
        max_length=50,
        description="The IANA time zone of cron() and at() expressions (default UTC).",
    )
    state: Literal["ENABLED", "DISABLED"] | None = Field(
        default=None, description="DISABLED stops the firings (default ENABLED)."
    )
    flexibleTimeWindow: FlexibleTimeWindow = Field(
        description="EventBridge's delivery window; the operator fires at its start."
    )
    startDate: Timestamp | None = Field(
        default=None, description="No firing before this time (RFC 3339)."
    )
    endDate: Timestamp | None = Field(
        default=None, description="No firing after this time (RFC 3339)."
    )
    description: str | None = Field(
        default=None, max_length=512, description="What the schedule is for (informational)."
    )
    target: ScheduleTarget = Field(description="The ECS task each firing runs.")
    taskHistoryLimit: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="ecs-operator extension: how many of the schedule's stopped Tasks to keep "
        "(default 10); older stopped ones are deleted at the next firing.",
    )

    def run_task(self, name: str) -> dict[str, Any]:
        """The RunTask request each firing makes (a Task's spec): the target's ECS parameters
        in RunTask's names, ``input`` as its overrides, ``startedBy`` as ECS sets it for
        EventBridge Scheduler. ``ValueError`` when ``input`` is not a JSON object."""
        ecs = self.target.ecsParameters.to_ecs()
        request: dict[str, Any] = {
            "taskDefinition": ecs.pop("taskDefinitionArn"),
            "count": ecs.pop("taskCount", 1),
            **ecs,
            "startedBy": started_by_schedule(name),
        }
        if self.target.arn:
            request["cluster"] = self.target.arn
        if self.target.input:
            overrides = json.loads(self.target.input)
            if not isinstance(overrides, dict):
                raise ValueError("input must be a JSON object (a TaskOverride)")
            request["overrides"] = overrides
        return request
