"""The rules of a Service (CreateService): the placement rules it shares with a Task, then
what its scheduling strategy, deployment controller and configuration, load balancers and
(our extension) autoScaling must agree on."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import Violation
from ..models import ServiceSpec
from ..providers import FARGATE, FARGATE_PROVIDERS
from ..shapes import DeploymentConfiguration
from .common import Cel, ListMapKeys, Registry, Rule, duplicates
from .placement import PLACEMENT_RULES
from .tags import TAG_RULES

_registry = Registry[ServiceSpec]()
_registry.include(PLACEMENT_RULES)

_CEL_DAEMON = "has(self.schedulingStrategy) && self.schedulingStrategy == 'DAEMON'"


def _is_daemon(service: ServiceSpec) -> bool:
    return service.schedulingStrategy == "DAEMON"


DAEMON_COUNT = "a DAEMON service has no desiredCount (it runs one task per container instance)"
REPLICA_COUNT = "desiredCount is required unless schedulingStrategy is DAEMON"


@_registry.rule(
    Cel(f"!({_CEL_DAEMON}) || !has(self.desiredCount)", DAEMON_COUNT, field=".desiredCount"),
    Cel(f"({_CEL_DAEMON}) || has(self.desiredCount)", REPLICA_COUNT, field=".desiredCount"),
)
def desired_count_by_scheduling_strategy(service: ServiceSpec) -> list[Violation]:
    """REPLICA services need desiredCount; DAEMON services have none. [model doc]
    CreateServiceRequest.desiredCount (7.9, 7.10); ECS refuses it for DAEMON ("The daemon
    scheduling strategy does not support a desired count for services", kayac/ecspresso#20)."""
    if _is_daemon(service) and service.desiredCount is not None:
        return [Violation("desiredCount", DAEMON_COUNT)]
    if not _is_daemon(service) and service.desiredCount is None:
        return [Violation("desiredCount", REPLICA_COUNT)]
    return []


def _uses_fargate(service: ServiceSpec) -> bool:
    providers = {item.capacityProvider for item in service.capacityProviderStrategy or []}
    return service.launchType == FARGATE or bool(providers & set(FARGATE_PROVIDERS))


#: What a DAEMON service can't have: (field, why, CEL that holds when the service is fine,
#: operator check that is true when it is not). [model doc] CreateServiceRequest
#: .schedulingStrategy (7.10), .volumeConfigurations (7.9); autoScaling is ours.
DAEMON_LIMITS: tuple[tuple[str, str, str, Callable[[ServiceSpec], bool]], ...] = (
    (
        "launchType",
        "a DAEMON service can't run on Fargate (launchType FARGATE or capacity provider "
        "FARGATE/FARGATE_SPOT)",
        "(!has(self.launchType) || self.launchType != 'FARGATE') && "
        "(!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.all(i, "
        "!(i.capacityProvider in ['FARGATE', 'FARGATE_SPOT'])))",
        _uses_fargate,
    ),
    (
        "deploymentController",
        "a DAEMON service needs the ECS deployment controller (not CODE_DEPLOY or EXTERNAL)",
        "!has(self.deploymentController) || !has(self.deploymentController.type) "
        "|| self.deploymentController.type == 'ECS'",
        lambda s: (
            s.deploymentController is not None and s.deploymentController.type not in (None, "ECS")
        ),
    ),
    (
        "placementStrategy",
        "a DAEMON service has no placementStrategy",
        "!has(self.placementStrategy) || size(self.placementStrategy) == 0",
        lambda s: bool(s.placementStrategy),
    ),
    (
        "volumeConfigurations",
        "a DAEMON service can't have volumeConfigurations",
        "!has(self.volumeConfigurations) || size(self.volumeConfigurations) == 0",
        lambda s: bool(s.volumeConfigurations),
    ),
    (
        "autoScaling",
        "a DAEMON service can't have autoScaling (it runs one task per container instance)",
        "!has(self.autoScaling)",
        lambda s: s.autoScaling is not None,
    ),
)


@_registry.rule(
    *(
        Cel(f"!({_CEL_DAEMON}) || ({ok})", why, field=f".{field}")
        for field, why, ok, _ in DAEMON_LIMITS
    )
)
def daemon_limits(service: ServiceSpec) -> list[Violation]:
    """DAEMON services run one task per EC2 container instance, so no Fargate, no CODE_DEPLOY
    or EXTERNAL controller, no placement strategy, no volumes configured at launch, no scaling.
    [model doc] CreateServiceRequest.schedulingStrategy (7.10)."""
    if not _is_daemon(service):
        return []
    return [Violation(field, why) for field, why, _, broken in DAEMON_LIMITS if broken(service)]


TASK_DEFINITION_REQUIRED = (
    "taskDefinition is required unless the deploymentController type is EXTERNAL"
)


@_registry.rule(
    Cel(
        "has(self.taskDefinition) || (has(self.deploymentController)"
        " && has(self.deploymentController.type)"
        " && self.deploymentController.type == 'EXTERNAL')",
        TASK_DEFINITION_REQUIRED,
        field=".taskDefinition",
    )
)
def task_definition_required(service: ServiceSpec) -> list[Violation]:
    """ECS and CODE_DEPLOY services run a task definition. [model doc]
    CreateServiceRequest.taskDefinition."""
    controller = service.deploymentController
    external = controller is not None and controller.type == "EXTERNAL"
    if service.taskDefinition is None and not external:
        return [Violation("taskDefinition", TASK_DEFINITION_REQUIRED)]
    return []


ECS_CONTROLLER = (
    "deploymentConfiguration.deploymentCircuitBreaker and .alarms work only with the ECS "
    "deployment controller"
)
#: the deploymentConfiguration members that roll a deployment back
ROLLBACKS = ("deploymentCircuitBreaker", "alarms")


@_registry.rule(
    *(
        Cel(
            "!has(self.deploymentController) || !has(self.deploymentController.type)"
            " || self.deploymentController.type == 'ECS'"
            " || !has(self.deploymentConfiguration)"
            f" || !has(self.deploymentConfiguration.{field})",
            ECS_CONTROLLER,
            field=f".deploymentConfiguration.{field}",
        )
        for field in ROLLBACKS
    )
)
def rollback_needs_ecs_controller(service: ServiceSpec) -> list[Violation]:
    """Circuit breaker and alarm rollbacks are ECS-controller features. [model doc]
    DeploymentCircuitBreaker, DeploymentAlarms (7.9)."""
    controller, config = service.deploymentController, service.deploymentConfiguration
    if controller is None or controller.type in (None, "ECS") or config is None:
        return []
    return [
        Violation(f"deploymentConfiguration.{field}", ECS_CONTROLLER)
        for field in ROLLBACKS
        if getattr(config, field) is not None
    ]


#: deploymentConfiguration settings that belong to one strategy: (setting, strategy, required?).
#: [model doc] DeploymentConfiguration.bakeTimeInMinutes/.linearConfiguration/
#: .canaryConfiguration (7.9).
STRATEGY_SETTINGS = (
    ("bakeTimeInMinutes", "BLUE_GREEN", True),
    ("linearConfiguration", "LINEAR", False),
    ("canaryConfiguration", "CANARY", False),
)


def strategy_setting_message(setting: str, strategy: str, required: bool) -> str:
    """The message for a strategy-specific deploymentConfiguration setting."""
    if required:
        return f"deploymentConfiguration strategy {strategy} requires {setting}"
    return f"deploymentConfiguration.{setting} is only for strategy {strategy}"


def _misplaced(
    config: DeploymentConfiguration, setting: str, strategy: str, required: bool
) -> bool:
    """A required setting missing under its strategy, or an optional one under another."""
    chosen = config.strategy == strategy
    present = getattr(config, setting) is not None
    return (chosen and not present) if required else (present and not chosen)


def _strategy_settings_cel(setting: str, strategy: str, required: bool) -> str:
    if required:
        return f"!has(self.strategy) || self.strategy != '{strategy}' || has(self.{setting})"
    return f"!has(self.{setting}) || (has(self.strategy) && self.strategy == '{strategy}')"


@_registry.rule(
    *(
        Cel(
            _strategy_settings_cel(*entry),
            strategy_setting_message(*entry),
            "deploymentConfiguration",
            field=f".{entry[0]}",
        )
        for entry in STRATEGY_SETTINGS
    )
)
def deployment_strategy_settings(service: ServiceSpec) -> list[Violation]:
    """BLUE_GREEN needs a bake time; linear and canary settings need their strategy. [model doc]
    DeploymentConfiguration.bakeTimeInMinutes ("You must provide this parameter when you use the
    BLUE_GREEN deployment strategy"), .linearConfiguration, .canaryConfiguration (7.9)."""
    config = service.deploymentConfiguration
    if config is None:
        return []
    return [
        Violation(f"deploymentConfiguration.{entry[0]}", strategy_setting_message(*entry))
        for entry in STRATEGY_SETTINGS
        if _misplaced(config, *entry)
    ]


MANAGED_TAGS = "enableECSManagedTags requires propagateTags"


@_registry.rule(
    Cel(
        "!has(self.enableECSManagedTags) || !self.enableECSManagedTags || has(self.propagateTags)",
        MANAGED_TAGS,
        field=".propagateTags",
    )
)
def managed_tags_need_propagate_tags(service: ServiceSpec) -> list[Violation]:
    """ECS managed tags are propagated ones. [model doc] CreateServiceRequest
    .enableECSManagedTags (7.9)."""
    if service.enableECSManagedTags and service.propagateTags is None:
        return [Violation("propagateTags", MANAGED_TAGS)]
    return []


LOAD_BALANCER = (
    "each loadBalancers[] entry names either targetGroupArn (ALB/NLB) or loadBalancerName "
    "(Classic), not both"
)


@_registry.rule(
    Cel(
        "has(self.targetGroupArn) != has(self.loadBalancerName)",
        LOAD_BALANCER,
        "loadBalancers[]",
    )
)
def load_balancer_target(service: ServiceSpec) -> list[Violation]:
    """A load balancer entry is either a target group or a Classic ELB. [model doc]
    LoadBalancer.targetGroupArn/.loadBalancerName (7.3)."""
    return [
        Violation(f"loadBalancers[{i}]", LOAD_BALANCER)
        for i, lb in enumerate(service.loadBalancers or [])
        if (lb.targetGroupArn is None) == (lb.loadBalancerName is None)
    ]


#: Amazon ECS service quota "Tasks per service": 5,000 [memory: Amazon ECS service quotas].
TASKS_PER_SERVICE = 5000


def tasks_per_service(member: str) -> str:
    """The message for a task count over the quota."""
    return f"{member} must be at most {TASKS_PER_SERVICE} (ECS quota: tasks per service)"


@_registry.rule(
    Cel(
        f"!has(self.desiredCount) || self.desiredCount <= {TASKS_PER_SERVICE}",
        tasks_per_service("desiredCount"),
        field=".desiredCount",
    ),
    Cel(
        f"self.maxCapacity <= {TASKS_PER_SERVICE}",
        tasks_per_service("autoScaling.maxCapacity"),
        "autoScaling",
        field=".maxCapacity",
    ),
)
def tasks_per_service_quota(service: ServiceSpec) -> list[Violation]:
    """A service runs at most 5,000 tasks, however it is scaled. [memory] Amazon ECS service
    quotas, "Tasks per service" (not adjustable); autoScaling.maxCapacity is the most
    desiredCount may become."""
    scaling = service.autoScaling
    counts = {
        "desiredCount": service.desiredCount,
        "autoScaling.maxCapacity": None if scaling is None else scaling.maxCapacity,
    }
    return [
        Violation(member, tasks_per_service(member))
        for member, count in counts.items()
        if count is not None and count > TASKS_PER_SERVICE
    ]


SCALING_BOUNDS = "autoScaling.minCapacity must not exceed autoScaling.maxCapacity"


@_registry.rule(
    Cel("self.minCapacity <= self.maxCapacity", SCALING_BOUNDS, "autoScaling", field=".minCapacity")
)
def auto_scaling_bounds(service: ServiceSpec) -> list[Violation]:
    """The scalable target's bounds are ordered, as Application Auto Scaling's
    RegisterScalableTarget requires."""
    scaling = service.autoScaling
    if scaling is not None and scaling.minCapacity > scaling.maxCapacity:
        return [Violation("autoScaling.minCapacity", SCALING_BOUNDS)]
    return []


UNIQUE_METRICS = "each predefinedMetricType may have one target tracking policy"


@_registry.rule(ListMapKeys("autoScaling.targetTrackingScalingPolicies", ("predefinedMetricType",)))
def unique_scaling_metrics(service: ServiceSpec) -> list[Violation]:
    """One policy per metric (ours: one metric maps to one HorizontalPodAutoscaler metric)."""
    if service.autoScaling is None:
        return []
    policies = service.autoScaling.targetTrackingScalingPolicies or []
    return duplicates(
        (p.predefinedMetricType for p in policies),
        "autoScaling.targetTrackingScalingPolicies",
        "predefinedMetricType",
        UNIQUE_METRICS,
    )


_registry.include(TAG_RULES)

SERVICE_RULES: tuple[Rule[ServiceSpec], ...] = _registry.rules
