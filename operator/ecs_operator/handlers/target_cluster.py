"""The target cluster of a Service or Task: which Cluster its ``cluster`` reference means (the
namespace's ``default`` Cluster is created on first use, as ECS does), the capacity providers
that Cluster defines, and the capacity provider strategy in force. (The Cluster kind's own
reconciler, its counts, is handlers/cluster.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecs_operator import API_GROUP, API_VERSION
from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import DEFAULT_CLUSTER, cluster_name
from ecs_operator.api.models import CapacityProviderDefinition
from ecs_operator.api.parse import parse_cluster
from ecs_operator.api.providers import FARGATE_PROVIDERS
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.status.cluster import cluster_name_of

from .context import Context
from .flights import SingleFlight
from .indexes import ecs_spec
from .references import Unresolved, cluster_named


def capacity_providers(cluster: dict[str, Any]) -> dict[str, CapacityProviderDefinition]:
    """The cluster's EC2 capacity providers and the nodes each stands for (its
    ``capacityProviderDefinitions``, else the node pool of its name). An invalid Cluster has
    none: its own status says why."""
    try:
        return parse_cluster(ecs_spec(cluster, "Cluster")).definitions()
    except EcsValidationError:
        return {}


async def resolve(ctx: Context, namespace: str, reference: str | None) -> dict[str, Any]:
    """The Cluster a service or task names; creates the default one on first use."""
    name = cluster_name(reference)
    found = cluster_named(ctx.store, namespace, name)
    if found is not None:
        return found
    if name != DEFAULT_CLUSTER:
        raise Unresolved(
            "ClusterNotFound", f"cluster: no Cluster named {name} in namespace {namespace}"
        )
    # the first services of a namespace arrive together: one creation for all of them
    return await _creating.run(namespace, lambda: _create_default(ctx, namespace))


_creating: SingleFlight[str, dict[str, Any]] = SingleFlight()


async def _create_default(ctx: Context, namespace: str) -> dict[str, Any]:
    """The namespace's ``default`` Cluster, created; or the one made meanwhile elsewhere
    (another operator replica, a user), not yet in the store: any Cluster of that name will do."""
    default = {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "Cluster",
        "metadata": {"name": DEFAULT_CLUSTER, "namespace": namespace},
        "spec": {"clusterName": DEFAULT_CLUSTER},
    }
    return await ctx.writer.claim_name(default, lambda _: True)


def strategy_for(
    cluster: dict[str, Any],
    launch_type: str | None,
    strategy: Sequence[CapacityProviderStrategyItem] | None,
) -> list[CapacityProviderStrategyItem] | None:
    """The capacity provider strategy in force: the request's, else (without a launch type)
    the cluster's default; refused when it mixes EC2 and Fargate providers, as ECS does."""
    spec = cluster.get("spec") or {}
    if strategy is None and launch_type is None and spec.get("defaultCapacityProviderStrategy"):
        strategy = [
            CapacityProviderStrategyItem.model_validate(i)
            for i in spec["defaultCapacityProviderStrategy"]
        ]
    if not strategy:
        return None
    names = [item.capacityProvider for item in strategy]
    fargate = [n for n in names if n in FARGATE_PROVIDERS]
    if fargate and len(fargate) != len(names):
        raise Unresolved(
            "InvalidCapacityProviderStrategy",
            "capacityProviderStrategy: a strategy cannot mix Fargate (FARGATE, FARGATE_SPOT) and "
            f"EC2 capacity providers ({', '.join(names)})",
            retry=False,
        )
    known = set(spec.get("capacityProviders") or []) | {
        d["name"] for d in spec.get("capacityProviderDefinitions") or []
    }
    unknown = [n for n in names if n not in known and n not in FARGATE_PROVIDERS]
    if unknown:
        raise Unresolved(
            "CapacityProviderNotFound",
            f"capacityProviderStrategy: {', '.join(unknown)} not in cluster "
            f"{cluster_name_of(cluster)}'s capacityProviders",
        )
    return list(strategy)
