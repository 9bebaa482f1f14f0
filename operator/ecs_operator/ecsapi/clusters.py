"""Clusters: the Cluster objects of the caller's namespace (the key's ECS account).

Reads never create the ``default`` cluster; the operator creates it when a service or task
first uses it, as ECS does.
"""

from __future__ import annotations

from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import DEFAULT_CLUSTER, short_name
from ecs_operator.api.parse import parse_cluster
from ecs_operator.kube.resources import ECS_CLUSTER, ECS_SERVICE, ECS_TASK
from ecs_operator.plugin.views import cluster_view, live
from ecs_operator.render.names import dns_label
from ecs_operator.status.cluster import cluster_name_of, cluster_of
from ecs_operator.status.service import deleted

from . import errors, wire
from .caller import Caller
from .wording import refusal

Body = dict[str, Any]


def named(bodies: list[Body], name: str) -> Body | None:
    return next((b for b in live(bodies) if cluster_name_of(b) == name), None)


async def required(
    caller: Caller, reference: str | None, first_use: bool = False
) -> tuple[str, Body]:
    """The name and Cluster a request names (``default`` when none), or
    ClusterNotFoundException. On ``first_use`` (CreateService, RunTask) a missing ``default``
    is created, as the operator and ECS do; reads never create it. Most Clusters' objects bear
    their cluster's name (CreateCluster's, the default), so one GET answers where a LIST of
    the namespace's Clusters is needed only for the others."""
    name = short_name(reference or DEFAULT_CLUSTER)
    found = await caller.get(ECS_CLUSTER, dns_label(name))
    body = found if found is not None and named([found], name) is not None else None
    if body is None:
        body = named(await caller.list(ECS_CLUSTER), name)
    if body is None:
        if not (first_use and name == DEFAULT_CLUSTER):
            raise errors.cluster_not_found()
        spec = {"clusterName": DEFAULT_CLUSTER}
        body, _ = await caller.create_or_get(
            ECS_CLUSTER, {"metadata": {"name": name}, "spec": spec}
        )
    return name, body


async def require(caller: Caller, reference: str | None, first_use: bool = False) -> str:
    """The name of the cluster a request names (``required``)."""
    return (await required(caller, reference, first_use))[0]


def capacity_at_launch(cluster: Body, request: Body) -> Body:
    """ECS gives a service or standalone task that names neither a launch type nor a strategy
    its cluster's default strategy as it is created or run, and keeps it when that default
    changes later (a Service or Task written with kubectl follows the cluster's default
    instead: docs/ecs-api.md)."""
    if "launchType" in request or "capacityProviderStrategy" in request:
        return {}
    default = (cluster.get("spec") or {}).get("defaultCapacityProviderStrategy")
    return {"capacityProviderStrategy": default} if default else {}


def view(caller: Caller, body: Body, include: list[str] | None = None) -> Body:
    """One cluster as ECS shows it: ACTIVE unless being deleted (a Cluster has nothing to
    provision), statistics and tags only when asked for."""
    shown = cluster_view(body, [], caller.arns)
    if not body["metadata"].get("deletionTimestamp"):
        shown["status"] = "ACTIVE"
    shown.pop("tags", None)
    if "TAGS" in (include or ()):
        shown.update(wire.tags_member(body))
    if "STATISTICS" not in (include or ()):
        shown.pop("statistics", None)
    spec = body.get("spec") or {}
    shown.update({m: spec[m] for m in ("configuration", "serviceConnectDefaults") if m in spec})
    return shown


async def create(caller: Caller, request: Body) -> Body:
    request = {"clusterName": DEFAULT_CLUSTER, **request}
    try:
        spec = parse_cluster(request).to_ecs()
    except EcsValidationError as error:
        raise refusal(error, request) from None
    existing = named(await caller.list(ECS_CLUSTER), spec["clusterName"])
    if existing is None:
        existing, _ = await caller.create_or_get(
            ECS_CLUSTER, {"metadata": {"name": dns_label(spec["clusterName"])}, "spec": spec}
        )
    # ECS: creating a cluster that exists answers with it
    return {"cluster": view(caller, existing, ["TAGS"])}


async def describe(caller: Caller, request: Body) -> Body:
    found, failures = wire.described(
        request.get("clusters") or [DEFAULT_CLUSTER],
        {cluster_name_of(b): b for b in live(await caller.list(ECS_CLUSTER))},
        lambda name: caller.arn(f"cluster/{name}"),
    )
    clusters = [view(caller, body, request.get("include")) for body in found]
    return {"clusters": clusters, "failures": failures}


async def list_clusters(caller: Caller, request: Body) -> Body:
    names = [cluster_name_of(b) for b in live(await caller.list(ECS_CLUSTER))]
    chosen, token = wire.page(names, request.get("nextToken"), request.get("maxResults"), [])
    return {
        "clusterArns": [caller.arn(f"cluster/{n}") for n in chosen],
        **({"nextToken": token} if token else {}),
    }


async def _updated(caller: Caller, request: Body, members: tuple[str, ...]) -> Body:
    """UpdateCluster, PutClusterCapacityProviders: the spec's ``members`` as requested."""
    body = named(await caller.list(ECS_CLUSTER), short_name(request["cluster"]))
    if body is None:
        raise errors.cluster_not_found()
    changes = {m: request[m] for m in members if m in request}
    try:
        parse_cluster({**(body.get("spec") or {}), **changes})
    except EcsValidationError as error:
        raise refusal(error, changes) from None
    patch = {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "spec": changes}
    updated = await caller.patch(ECS_CLUSTER, body["metadata"]["name"], patch)
    return {"cluster": view(caller, updated, ["TAGS"])}


async def update(caller: Caller, request: Body) -> Body:
    return await _updated(caller, request, ("settings", "configuration", "serviceConnectDefaults"))


async def put_capacity_providers(caller: Caller, request: Body) -> Body:
    members = ("capacityProviders", "defaultCapacityProviderStrategy")
    return await _updated(caller, request, members)


async def delete(caller: Caller, request: Body) -> Body:
    name = short_name(request["cluster"])
    body = named(await caller.list(ECS_CLUSTER), name)
    if body is None:
        raise errors.cluster_not_found()
    services = [b for b in live(await caller.list(ECS_SERVICE)) if cluster_of(b) == name]
    if any(not deleted(b) for b in services):
        raise errors.EcsApiError(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.",
        )
    tasks = [
        b
        for b in await caller.list(ECS_TASK)
        if cluster_of(b) == name and (b.get("status") or {}).get("lastStatus") != "STOPPED"
    ]
    if tasks:
        raise errors.EcsApiError(
            "ClusterContainsTasksException",
            "The Cluster cannot be deleted while Tasks are active.",
        )
    await caller.delete(ECS_CLUSTER, body["metadata"]["name"])
    return {"cluster": {**view(caller, body, ["TAGS"]), "status": "INACTIVE"}}
