"""The rules that CreateService and RunTask share: their client token, and where the tasks run
(a launch type or a capacity provider strategy, and placement constraints). A Cluster's
default strategy follows the same strategy rules (``strategy_violations``, ``strategy_cel``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Violation
from ..models import ServiceSpec, TaskSpec
from ..providers import FARGATE_PROVIDERS
from ..shapes import CapacityProviderStrategyItem
from .common import Cel, Registry

_registry = Registry[ServiceSpec | TaskSpec]()

CLIENT_TOKEN = "clientToken may hold only ASCII characters 33-126 (no spaces)"


@_registry.rule(
    Cel(
        "!has(self.clientToken) || self.clientToken.matches('^[!-~]*$')",
        CLIENT_TOKEN,
        field=".clientToken",
    )
)
def client_token_characters(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """A client token is printable ASCII; its length is the shape's (36 for CreateService, 64
    for RunTask). [model doc] CreateServiceRequest.clientToken, RunTaskRequest.clientToken:
    "characters in the range of 33-126, inclusive"."""
    if all(33 <= ord(c) <= 126 for c in spec.clientToken or ""):
        return []
    return [Violation("clientToken", CLIENT_TOKEN)]


LAUNCH_TYPE_XOR = "launchType and capacityProviderStrategy are mutually exclusive: set one"


@_registry.rule(
    Cel(
        "!has(self.launchType) || !has(self.capacityProviderStrategy)"
        " || size(self.capacityProviderStrategy) == 0",
        LAUNCH_TYPE_XOR,
        field=".capacityProviderStrategy",
    )
)
def launch_type_xor_strategy(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """A launch type or a capacity provider strategy, not both. [model doc]
    CreateServiceRequest.launchType/.capacityProviderStrategy (7.9)."""
    if spec.launchType is not None and spec.capacityProviderStrategy:
        return [Violation("capacityProviderStrategy", LAUNCH_TYPE_XOR)]
    return []


ONE_BASE = "at most one capacity provider in a strategy can have a base greater than 0"
SOME_WEIGHT = "at least one capacity provider in a strategy must have a weight greater than 0"
NO_MIX = (
    "a capacity provider strategy can't mix FARGATE/FARGATE_SPOT with EC2 (Auto Scaling group) "
    "capacity providers: use one kind"
)
_CEL_FARGATE_ITEM = "i.capacityProvider in ['FARGATE', 'FARGATE_SPOT']"


def strategy_violations(
    items: Sequence[CapacityProviderStrategyItem] | None, path: str
) -> list[Violation]:
    """A capacity provider strategy's violations: one base at most, some weight at least,
    Fargate or EC2 providers but not both (ECS refuses the mix in CreateService, RunTask and a
    cluster's default strategy)."""
    items = items or []
    based = [i for i, item in enumerate(items) if (item.base or 0) > 0]
    found = [Violation(f"{path}[{i}].base", ONE_BASE) for i in based[1:]]
    if items and not any((item.weight or 0) > 0 for item in items):
        found.append(Violation(path, SOME_WEIGHT))
    fargate = {item.capacityProvider in FARGATE_PROVIDERS for item in items}
    if len(fargate) > 1:
        found.append(Violation(path, NO_MIX))
    return found


def strategy_cel(at: str) -> tuple[Cel, Cel, Cel]:
    """The API server's side of ``strategy_violations``, for the strategy at ``at``."""
    return (
        Cel("size(self.filter(i, has(i.base) && i.base > 0)) <= 1", ONE_BASE, at),
        Cel("size(self) == 0 || self.exists(i, has(i.weight) && i.weight > 0)", SOME_WEIGHT, at),
        Cel(f"self.all(i, {_CEL_FARGATE_ITEM}) || self.all(i, !({_CEL_FARGATE_ITEM}))", NO_MIX, at),
    )


@_registry.rule(*strategy_cel("capacityProviderStrategy"))
def capacity_provider_strategy(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """One base at most, some weight at least. [model doc] CapacityProviderStrategyItem
    .base/.weight (7.9)."""
    return strategy_violations(spec.capacityProviderStrategy, "capacityProviderStrategy")


DISTINCT_INSTANCE = "a distinctInstance placement constraint takes no expression"


@_registry.rule(
    Cel(
        "self.type != 'distinctInstance' || !has(self.expression) || self.expression == ''",
        DISTINCT_INSTANCE,
        "placementConstraints[]",
        field=".expression",
    )
)
def distinct_instance_without_expression(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """distinctInstance is a fixed rule; memberOf takes the expression. [model doc]
    PlacementConstraint.expression (7.8)."""
    return [
        Violation(f"placementConstraints[{i}].expression", DISTINCT_INSTANCE)
        for i, constraint in enumerate(spec.placementConstraints or [])
        if constraint.type == "distinctInstance" and constraint.expression
    ]


#: The placement rules, first among a Service's and a Task's.
PLACEMENT_RULES = _registry.rules
