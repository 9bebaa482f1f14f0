"""The rules of a Cluster (CreateCluster): its default capacity provider strategy, and (our
extension) the definitions of its EC2 capacity providers."""

from __future__ import annotations

from ..errors import Violation
from ..models import ClusterSpec
from .common import Cel, ListMapKeys, Registry, Rule, duplicates
from .placement import strategy_cel, strategy_violations
from .tags import TAG_RULES

_registry = Registry[ClusterSpec]()


@_registry.rule(*strategy_cel("defaultCapacityProviderStrategy"))
def default_capacity_provider_strategy(cluster: ClusterSpec) -> list[Violation]:
    """One base at most, some weight at least. [model doc] CapacityProviderStrategyItem
    .base/.weight (7.9)."""
    return strategy_violations(
        cluster.defaultCapacityProviderStrategy, "defaultCapacityProviderStrategy"
    )


DEFAULT_STRATEGY_PROVIDERS = (
    "defaultCapacityProviderStrategy[].capacityProvider must be listed in capacityProviders"
)


@_registry.rule(
    Cel(
        "!has(self.defaultCapacityProviderStrategy)"
        " || self.defaultCapacityProviderStrategy.all(i, has(self.capacityProviders)"
        " && i.capacityProvider in self.capacityProviders)",
        DEFAULT_STRATEGY_PROVIDERS,
        field=".defaultCapacityProviderStrategy",
    )
)
def default_strategy_uses_cluster_providers(cluster: ClusterSpec) -> list[Violation]:
    """A strategy uses providers associated with the cluster. [model doc]
    CreateClusterRequest.capacityProviders."""
    providers = set(cluster.capacityProviders or [])
    return [
        Violation(
            f"defaultCapacityProviderStrategy[{i}].capacityProvider", DEFAULT_STRATEGY_PROVIDERS
        )
        for i, item in enumerate(cluster.defaultCapacityProviderStrategy or [])
        if item.capacityProvider not in providers
    ]


UNIQUE_DEFINITIONS = "capacityProviderDefinitions names must be unique"


@_registry.rule(ListMapKeys("capacityProviderDefinitions", ("name",)))
def unique_capacity_provider_definitions(cluster: ClusterSpec) -> list[Violation]:
    """One node pool per capacity provider (ours)."""
    names = (d.name for d in cluster.capacityProviderDefinitions or [])
    return duplicates(names, "capacityProviderDefinitions", "name", UNIQUE_DEFINITIONS)


DEFINITION_LISTED = "capacityProviderDefinitions[].name must be listed in capacityProviders"


@_registry.rule(
    Cel(
        "!has(self.capacityProviderDefinitions)"
        " || self.capacityProviderDefinitions.all(d, has(self.capacityProviders)"
        " && d.name in self.capacityProviders)",
        DEFINITION_LISTED,
        field=".capacityProviderDefinitions",
    )
)
def capacity_provider_definitions_listed(cluster: ClusterSpec) -> list[Violation]:
    """A definition describes a provider of this cluster (ours: an unlisted one is a typo)."""
    providers = set(cluster.capacityProviders or [])
    return [
        Violation(f"capacityProviderDefinitions[{i}].name", DEFINITION_LISTED)
        for i, definition in enumerate(cluster.capacityProviderDefinitions or [])
        if definition.name not in providers
    ]


PROVIDER_PREFIX = (
    "an EC2 capacity provider name can't start with aws, ecs or fargate "
    "(FARGATE and FARGATE_SPOT are built in)"
)


@_registry.rule(
    Cel(
        "!self.name.matches('^(?i)(aws|ecs|fargate)')",
        PROVIDER_PREFIX,
        "capacityProviderDefinitions[]",
        field=".name",
    )
)
def capacity_provider_definition_names(cluster: ClusterSpec) -> list[Violation]:
    """EC2 capacity provider names avoid AWS's reserved prefixes. [model doc]
    CreateCapacityProviderRequest.name: "can't be prefixed with aws, ecs, or fargate" (7.1);
    FARGATE and FARGATE_SPOT are built in and need no definition (nodes.py)."""
    return [
        Violation(f"capacityProviderDefinitions[{i}].name", PROVIDER_PREFIX)
        for i, definition in enumerate(cluster.capacityProviderDefinitions or [])
        if definition.name.lower().startswith(("aws", "ecs", "fargate"))
    ]


CONTAINER_INSIGHTS = "the containerInsights setting value is enhanced, enabled or disabled"
CONTAINER_INSIGHTS_VALUES = ("enhanced", "enabled", "disabled")


@_registry.rule(
    Cel(
        "self.name != 'containerInsights' || !has(self.value)"
        " || self.value in ['enhanced', 'enabled', 'disabled']",
        CONTAINER_INSIGHTS,
        "settings[]",
        field=".value",
    )
)
def container_insights_value(cluster: ClusterSpec) -> list[Violation]:
    """Container Insights has three levels. [model doc] ClusterSetting.value (7.12)."""
    return [
        Violation(f"settings[{i}].value", CONTAINER_INSIGHTS)
        for i, setting in enumerate(cluster.settings or [])
        if setting.value is not None and setting.value not in CONTAINER_INSIGHTS_VALUES
    ]


TOLERATION_EXISTS = "a toleration with operator Exists takes no value"


@_registry.rule(
    Cel(
        "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
        TOLERATION_EXISTS,
        "capacityProviderDefinitions[].tolerations[]",
        field=".value",
    )
)
def toleration_exists_without_value(cluster: ClusterSpec) -> list[Violation]:
    """Exists tolerates any value, so a value is a mistake. Kubernetes core/v1 Toleration: "If
    the operator is Exists, the value should be empty"."""
    return [
        Violation(f"capacityProviderDefinitions[{i}].tolerations[{j}].value", TOLERATION_EXISTS)
        for i, definition in enumerate(cluster.capacityProviderDefinitions or [])
        for j, toleration in enumerate(definition.tolerations or [])
        if toleration.operator == "Exists" and toleration.value
    ]


_registry.include(TAG_RULES)

CLUSTER_RULES: tuple[Rule[ClusterSpec], ...] = _registry.rules
