"""The Cluster kind's reconciler: ECS-shaped counts of what runs in it (``aws ecs
describe-clusters``).

Registered instances are the nodes its EC2 capacity providers stand for; running and pending
tasks are the pods of its services and tasks (pending: placed, not running yet), per provider
as well. Cluster status is refreshed at most about every ``Timers.cluster_refresh`` seconds
(3 s) per namespace (the queue coalesces), so a thousand pod updates do not become a thousand
status writes.
"""

from __future__ import annotations

from typing import Any

from ecs_operator import nodes
from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.parse import parse_cluster
from ecs_operator.api.providers import FARGATE_PROVIDERS
from ecs_operator.kube.resources import ECS_CLUSTER, ECS_SERVICE, NODE, POD
from ecs_operator.kube.store import matches
from ecs_operator.render import keys
from ecs_operator.render.capacity import provider_placement
from ecs_operator.render.names import label_value
from ecs_operator.status.cluster import cluster_name_of, cluster_of
from ecs_operator.status.conditions import condition, merge
from ecs_operator.status.service import deleted
from ecs_operator.status.workloads import bound

from .common import report_invalid, write_status
from .context import Context
from .indexes import ecs_spec
from .queue import OK, Outcome
from .target_cluster import capacity_providers


async def reconcile(ctx: Context, namespace: str, _: str) -> Outcome:
    """Every Cluster of the namespace (its one queue key, ``*``: handlers/watch.queue_key)."""
    for body in list(ctx.store.all(ECS_CLUSTER, namespace)):
        if not body["metadata"].get("deletionTimestamp"):
            await _reconcile_one(ctx, body)
    return OK


def cluster_status(
    body: dict[str, Any], all_nodes: list[dict[str, Any]], pods: list[dict[str, Any]], services: int
) -> dict[str, Any]:
    """The counts ``describe-clusters`` shows, from the store's nodes and pods (pure). A
    provider's instances are the nodes its tasks are placed on (render/capacity.py)."""
    spec = body.get("spec") or {}
    definitions = capacity_providers(body)
    selectors = {
        provider: provider_placement(provider, definitions).node_selector
        for provider in spec.get("capacityProviders") or []
    }
    ec2 = {p: s for p, s in selectors.items() if p not in FARGATE_PROVIDERS}

    def labels(obj: dict[str, Any]) -> dict[str, str]:
        return obj["metadata"].get("labels") or {}

    if ec2:
        instances = [n for n in all_nodes if any(matches(labels(n), s) for s in ec2.values())]
    else:
        instances = [n for n in all_nodes if labels(n).get(nodes.LABEL_VK_TYPE) != nodes.VK_TYPE]

    def phase(pod: dict[str, Any]) -> Any:
        return (pod.get("status") or {}).get("phase", "Pending")

    def pending(pod: dict[str, Any]) -> bool:
        """ECS's PENDING: placed, not running yet (before a node takes it, it is PROVISIONING)."""
        return phase(pod) == "Pending" and bound(pod)

    running = [p for p in pods if phase(p) == "Running"]
    pending_pods = [p for p in pods if pending(p)]
    providers = []
    for provider in selectors:
        # (counted by phase, not by membership in the lists above: a scan of the list per pod
        # made a cluster of N pods cost N² dict comparisons at every refresh)
        mine = [
            p for p in pods if labels(p).get(keys.LABEL_CAPACITY_PROVIDER) == label_value(provider)
        ]
        providers.append(
            {
                "name": provider,
                "runningTasksCount": sum(1 for p in mine if phase(p) == "Running"),
                "pendingTasksCount": sum(1 for p in mine if pending(p)),
            }
        )
    generation = body["metadata"].get("generation")
    previous = body.get("status") or {}
    return {
        **previous,
        "clusterName": cluster_name_of(body),
        "status": "ACTIVE",
        "registeredContainerInstancesCount": len(instances),
        "runningTasksCount": len(running),
        "pendingTasksCount": len(pending_pods),
        "activeServicesCount": services,
        "capacityProviders": providers,
        "conditions": merge(
            previous.get("conditions"), [condition("Ready", True, "Active")], generation
        ),
        "observedGeneration": generation,
    }


async def _reconcile_one(ctx: Context, body: dict[str, Any]) -> None:
    try:
        parse_cluster(ecs_spec(body, "Cluster"))
    except EcsValidationError as error:
        await report_invalid(ctx, ECS_CLUSTER, body, error)
        return
    namespace = body["metadata"]["namespace"]
    name = cluster_name_of(body)
    label = label_value(name)
    ours = {keys.LABEL_CLUSTER: label, keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY}
    pods = [
        p for p in ctx.store.all(POD, namespace) if matches(p["metadata"].get("labels") or {}, ours)
    ]
    services = sum(
        1
        for s in ctx.store.all(ECS_SERVICE, namespace)
        if cluster_of(s) == name and not s["metadata"].get("deletionTimestamp") and not deleted(s)
    )
    status = cluster_status(body, list(ctx.store.all(NODE)), pods, services)
    await write_status(ctx, ECS_CLUSTER, body, status)
