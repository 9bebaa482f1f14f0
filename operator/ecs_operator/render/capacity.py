"""Launch type and capacity provider strategy to a :class:`Placement`.

FARGATE / FARGATE_SPOT run on the virtual Fargate nodes; an EC2 capacity provider is the nodes
its Cluster's ``capacityProviderDefinitions`` entry selects (with that entry's tolerations), or
without one the node pool of the same name; a bare ``EC2`` launch type is the nodes of any
of its Cluster's EC2 capacity providers (any node where the Cluster names none). A
strategy spreading tasks over several providers by ``base``/``weight`` reaches this module one
provider at a time: the plan (plan/service.py, plan/task.py) splits a service's or RunTask's
tasks into one workload per provider first, for the operator and ``convert`` alike
(render/strategy.py). Only a DAEMON service, which is never split, arrives with several; it is
rendered onto its leading provider (the one with a base, else the heaviest) and reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import nodes
from ..api.models import CapacityProviderDefinition
from ..api.shapes import CapacityProviderStrategyItem
from .context import LaunchType, Placement
from .findings import Report
from .names import label_value


def _leading(strategy: Sequence[CapacityProviderStrategyItem]) -> CapacityProviderStrategyItem:
    based = [item for item in strategy if item.base]
    return based[0] if based else max(strategy, key=lambda item: item.weight or 0)


#: the EC2 capacity providers of a cluster by name, each with its definition (which nodes it
#: stands for; without one, the node pool of its name)
Definitions = Mapping[str, CapacityProviderDefinition]


def provider_placement(provider: str, definitions: Definitions | None = None) -> Placement:
    """A capacity provider's placement: Fargate nodes, or the nodes and tolerations the
    cluster's definition of the provider gives, else the node pool of the provider's name."""
    if provider == nodes.FARGATE:
        return Placement.fargate(nodes.FARGATE)
    if provider == nodes.FARGATE_SPOT:
        return Placement.fargate(nodes.FARGATE_SPOT)
    definition = (definitions or {}).get(provider)
    tolerations = tuple(t.to_ecs() for t in (definition.tolerations or ())) if definition else ()
    if definition is not None and definition.nodeSelector is not None:
        return Placement(
            capacity_provider=provider,
            node_selector=dict(definition.nodeSelector),
            tolerations=tolerations,
        )
    return Placement.pool(
        label_value(provider), capacity_provider=provider, tolerations=tolerations
    )


def placement_for(
    launch_type: LaunchType | None,
    strategy: Sequence[CapacityProviderStrategyItem] | None,
    requires: Sequence[str] | None,
    report: Report,
    definitions: Definitions | None = None,
) -> Placement:
    """The placement of a service or RunTask (falling back on the task definition's
    ``requiresCompatibilities`` when neither a launch type nor a strategy is given);
    ``definitions`` are the cluster's capacity provider definitions."""
    if strategy:
        leading = _leading(strategy)
        if len(strategy) > 1:
            report.approx(
                "capacityProviderStrategy",
                f"all tasks run on {leading.capacityProvider}: a daemon is not split over "
                "several capacity providers",
            )
        return provider_placement(leading.capacityProvider, definitions)
    launch_type = launch_type or default_launch_type(requires)
    if launch_type == "FARGATE":
        return Placement.fargate()
    if launch_type in ("EXTERNAL", "MANAGED_INSTANCES"):
        report.approx("launchType", f"{launch_type} capacity is any node of the cluster")
        return Placement(launch_type=launch_type)
    return ec2_placement(definitions or {})


def default_launch_type(requires: Sequence[str] | None) -> LaunchType:
    """The launch type of a service or RunTask that names neither one nor a strategy, where
    its cluster has no default strategy: EC2, as in ECS, except for a task definition that
    only Fargate runs (``requiresCompatibilities``), which ECS would refuse to run on EC2."""
    return "FARGATE" if requires and "FARGATE" in requires and "EC2" not in requires else "EC2"


def ec2_placement(definitions: Definitions) -> Placement:
    """A bare EC2 launch type: the nodes of the cluster's EC2 capacity providers, whichever
    has room (ECS places an EC2 task on its own cluster's container instances, never on
    another cluster's); any node where the cluster names no EC2 capacity provider."""
    providers = [provider_placement(name, definitions) for name in definitions]
    tolerations = tuple({repr(t): t for p in providers for t in p.tolerations}.values())
    if len(providers) == 1:
        return Placement(node_selector=providers[0].node_selector, tolerations=tolerations)
    return Placement(node_pools=tuple(p.node_selector for p in providers), tolerations=tolerations)
