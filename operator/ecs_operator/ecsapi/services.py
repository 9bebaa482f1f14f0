"""Services: the Service objects of a cluster, by ``serviceName``.

Two answers must not wait for the operator, because clients poll right after them:

- A new deployment (CreateService, UpdateService to another task definition) is PRIMARY and
  ``IN_PROGRESS`` at once: its id and target are recorded in the annotation
  ``ecs-operator.dev/api-deployment`` and shown until the operator's own PRIMARY deployment runs
  that task definition, which then goes by the recorded id (the deploy Action looks for the id
  UpdateService gave it after the waiter). Without it the ``services-stable`` waiter, which
  polls before it sleeps, would see the old deployment steady and return at once.
  ``forceNewDeployment`` also sets ``ecs-operator.dev/force-new-deployment`` (a fresh value,
  which makes the operator replace the tasks) and records it as the deployment's ``restart``:
  the deployment stays the API's own until no pod of the service runs another value
  (``recorded_deployments.py``).
- DeleteService keeps the object as a tombstone (``ecs-operator.dev/deleted-at``, desiredCount
  0): DRAINING while tasks run, then INACTIVE, describable for :data:`TOMBSTONE` seconds or
  until the name is used again. ListServices leaves tombstones out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import role_arn, short_name
from ecs_operator.api.parse import parse_service
from ecs_operator.kube.resources import ECS_SERVICE, POD
from ecs_operator.plugin.views import current_deployment, service_name, service_view
from ecs_operator.render import keys
from ecs_operator.render.names import dns_label, label_value
from ecs_operator.status.cluster import cluster_of
from ecs_operator.status.service import deleted, lifecycle

from . import clusters, errors, idempotency, taskdefinitions, wire
from .caller import MANAGED, Caller
from .recorded_deployments import (
    annotations_of,
    pending,
    recorded_deployment,
    restarted,
    with_recorded,
)
from .wording import refusal

Body = dict[str, Any]
#: seconds an INACTIVE service stays describable (ECS: "for a period of time", about an hour)
TOMBSTONE = 3600.0
#: how long CreateService waits for an INACTIVE service of its name to be removed
TOMBSTONE_REMOVAL_SECONDS = 30.0
#: UpdateService members that are the Service's spec members
UPDATABLE = frozenset(
    {
        "desiredCount",
        "taskDefinition",
        "capacityProviderStrategy",
        "deploymentConfiguration",
        "availabilityZoneRebalancing",
        "networkConfiguration",
        "placementConstraints",
        "placementStrategy",
        "platformVersion",
        "healthCheckGracePeriodSeconds",
        "deploymentController",
        "enableExecuteCommand",
        "enableECSManagedTags",
        "loadBalancers",
        "propagateTags",
        "serviceRegistries",
        "serviceConnectConfiguration",
    }
)
#: members ECS answers with, empty, when a service has none (awscli's describe-services examples)
SERVICE_DEFAULTS: Body = {
    "loadBalancers": [],
    "serviceRegistries": [],
    "placementConstraints": [],
    "placementStrategy": [],
}
#: UpdateService members that address the service or ask for a deployment
ADDRESSING = frozenset({"cluster", "service", "forceNewDeployment"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _primary_id(body: Body) -> str:
    """The id of the operator's PRIMARY deployment, which a new one replaces ("" for none)."""
    deployments = (body.get("status") or {}).get("deployments") or [{}]
    return str(deployments[0].get("id", ""))


def service_pods(cluster: str) -> str:
    """The label selector of the cluster's services' pods (the operator's own)."""
    return f"{MANAGED},{keys.LABEL_CLUSTER}={label_value(cluster)},{keys.LABEL_SERVICE}"


def view(caller: Caller, body: Body, include: list[str] | None = None) -> Body:
    shown = {**SERVICE_DEFAULTS, **service_view(body, caller.arns)}
    recorded = None if deleted(body) else recorded_deployment(body)
    shown["deployments"] = with_recorded(caller, body, shown, recorded)
    if shown["deployments"]:
        shown["taskDefinition"] = shown["deployments"][0]["taskDefinition"]
        name, deployments = shown["serviceName"], shown["deployments"]
        shown.update(current_deployment(deployments, cluster_of(body), name, caller.arns))
    if deleted(body):
        shown["status"] = lifecycle(True, shown["runningCount"] + shown["pendingCount"])
    elif shown["status"] != "DRAINING":
        shown["status"] = "ACTIVE"
    shown.pop("tags", None)
    if "TAGS" in (include or ()):
        shown.update(wire.tags_member(body))
    role = (body.get("spec") or {}).get("role")
    if role:
        shown["roleArn"] = role_arn(role, caller.credential.account)
    return shown


def _expired(body: Body) -> bool:
    """Whether a deleted service's tombstone has had its time; one whose deletion time is not
    a time (written with kubectl) is kept."""
    try:
        at = datetime.fromisoformat(annotations_of(body).get(keys.ANNOTATION_DELETED_AT) or "")
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (datetime.now(UTC) - at).total_seconds() > TOMBSTONE


async def services_in(
    caller: Caller, cluster: str, name: str | None = None, pods: list[Body] | None = None
) -> dict[str, Body]:
    """The cluster's services by name (tombstones included; expired ones are removed). With
    ``name``, a call about one service reads that one by its selectable ``spec.serviceName``
    rather than the namespace's Services (the others may be there too, on an API server that
    cannot select: ``Caller.list``). ``pods``, the cluster's service pods where the caller has
    read them already, say whether a forced restart is done; else they are read when one is
    pending."""
    found = {}
    fields = None if name is None else {"spec.serviceName": name}
    for body in await caller.list(ECS_SERVICE, fields=fields):
        if body["metadata"].get("deletionTimestamp") or cluster_of(body) != cluster:
            continue
        if _expired(body):
            await caller.delete(ECS_SERVICE, body["metadata"]["name"])
            continue
        found[service_name(body)] = body
    if any("restart" in (recorded_deployment(b) or {}) for b in found.values()):
        if pods is None:
            pods = await caller.list(POD, service_pods(cluster))
        found = {name: restarted(body, pods) for name, body in found.items()}
    return found


async def _target(caller: Caller, reference: str, new: bool = True) -> str:
    """``family:revision`` of a task definition reference, or ECS's ClientException; ``new``:
    the service is put on it, which takes an ACTIVE revision (a service already on an
    INACTIVE one keeps it, and may be scaled or redeployed on it, as on ECS)."""
    resolve = taskdefinitions.resolve_for_use if new else taskdefinitions.resolve
    family, revision = await resolve(caller, reference)
    return f"{family.name}:{revision}"


def _validated(spec: Body) -> None:
    try:
        parse_service(spec)
    except EcsValidationError as error:
        raise refusal(error, spec) from None


async def create(caller: Caller, request: Body) -> Body:
    cluster, found = await clusters.required(caller, request.get("cluster"), first_use=True)
    spec = {**request, "cluster": cluster} if "cluster" in request else dict(request)
    spec.update(clusters.capacity_at_launch(found, request))
    _validated(spec)
    name = request["serviceName"]
    # the call sent again with its client token answers the service it created
    mark = idempotency.call_mark({**request, "cluster": cluster})
    for body in await caller.list(ECS_SERVICE, fields={"spec.serviceName": name}):
        if service_name(body) != name or body["metadata"].get("deletionTimestamp"):
            continue
        if not deleted(body):  # ECS names are unique per cluster; here per namespace
            if idempotency.made_by(body, mark):
                return {"service": view(caller, body, ["TAGS"])}
            raise _not_idempotent()
        await _free_the_name(caller, body)
    metadata: Body = {"name": dns_label(name)}
    if "taskDefinition" in request:
        # ECS runs the revision a bare family meant at the time, not each new one after it
        spec["taskDefinition"] = await _target(caller, request["taskDefinition"])
        metadata["annotations"] = pending(caller, name, spec["taskDefinition"], "")
    service = {"metadata": idempotency.marked(metadata, mark), "spec": spec}
    # found taken: the service of this very call if a create whose answer was lost had landed
    created, new = await caller.create_or_get(ECS_SERVICE, service)
    if not (new or idempotency.made_by(created, mark)):
        raise _not_idempotent()
    return {"service": view(caller, created, ["TAGS"])}


async def _free_the_name(caller: Caller, tombstone: Body) -> None:
    """Remove a deleted service's tombstone for a new service of its name. ECS refuses the
    name while the old service is DRAINING. An INACTIVE one's object goes with its workloads
    (a foreground deletion, waited for): the new Service's Deployment takes the old one's
    name, and while the old one was left to the garbage collector the new Service met it as
    another's (a name conflict, no task, for half a minute)."""
    if view(caller, tombstone)["status"] == "DRAINING":
        raise _not_idempotent()
    name, uid = tombstone["metadata"]["name"], tombstone["metadata"]["uid"]
    await caller.delete(ECS_SERVICE, name, propagation="Foreground")
    if not await caller.gone(ECS_SERVICE, name, uid, TOMBSTONE_REMOVAL_SECONDS):
        raise errors.server_error("The previous service of this name is still being removed.")


def _not_idempotent() -> errors.EcsApiError:
    return errors.invalid_parameter("Creation of service was not idempotent.")


async def _active(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    name = short_name(request["service"])
    body = (await services_in(caller, cluster, name)).get(name)
    if body is None:
        raise errors.service_not_found()
    if deleted(body):
        raise errors.EcsApiError("ServiceNotActiveException", "Service was not ACTIVE.")
    return body


async def describe(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    wanted = request["services"]
    one = short_name(wanted[0]) if len(wanted) == 1 else None  # a waiter's poll, a deploy's
    found, failures = wire.described(
        wanted,
        await services_in(caller, cluster, one),
        lambda name: caller.arn(f"service/{name}"),  # ECS names a missing one so
    )
    services = [view(caller, body, request.get("include")) for body in found]
    return {"services": services, "failures": failures}


async def list_services(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    names = [
        name
        for name, body in (await services_in(caller, cluster)).items()
        if not deleted(body)
        and all(
            request.get(k) is None or (body.get("spec") or {}).get(k, default) == request[k]
            for k, default in (("launchType", None), ("schedulingStrategy", "REPLICA"))
        )
    ]
    filters = [cluster, request.get("launchType"), request.get("schedulingStrategy")]
    chosen, token = wire.page(
        names, request.get("nextToken"), request.get("maxResults"), filters, default=10
    )
    return {
        "serviceArns": [caller.arn(f"service/{cluster}/{n}") for n in chosen],
        **({"nextToken": token} if token else {}),
    }


async def update(caller: Caller, request: Body) -> Body:
    unsupported = sorted(
        k
        for k in request
        if k not in UPDATABLE | ADDRESSING and not (k == "volumeConfigurations" and not request[k])
    )
    if unsupported:
        raise errors.client_error(
            f"{', '.join(unsupported)}: not supported by this endpoint (docs/ecs-api.md)"
        )
    body = await _active(caller, request)
    spec = body.get("spec") or {}
    wanted = {**spec, **{k: v for k, v in request.items() if k in UPDATABLE}}
    if request.get("capacityProviderStrategy"):
        # ECS: "Update the Amazon EC2 launch type to a Fargate capacity provider" is a valid
        # transition; the strategy replaces the launch type
        wanted.pop("launchType", None)
    _validated(wanted)
    metadata: Body = {"resourceVersion": body["metadata"]["resourceVersion"]}
    force = bool(request.get("forceNewDeployment"))
    if "taskDefinition" in request or (force and wanted.get("taskDefinition")):
        # a forced deployment of a bare family (a kubectl Service's, which follows new
        # revisions) is one of the revision it runs now
        target = await _target(caller, wanted["taskDefinition"], "taskDefinition" in request)
        if "taskDefinition" in request:
            wanted["taskDefinition"] = target
        recorded = recorded_deployment(body) or {}
        if force or recorded.get("taskDefinition") != target:
            metadata["annotations"] = pending(
                caller, service_name(body), target, _primary_id(body), restart=force
            )
    patch = {"metadata": metadata, "spec": taskdefinitions.replacement(spec, wanted)}
    updated = await caller.patch(ECS_SERVICE, body["metadata"]["name"], patch)
    return {"service": view(caller, updated, ["TAGS"])}


async def delete(caller: Caller, request: Body) -> Body:
    body = await _active(caller, request)
    spec = body.get("spec") or {}
    daemon = spec.get("schedulingStrategy") == "DAEMON"
    if not daemon and spec.get("desiredCount", 0) > 0 and not request.get("force"):
        raise errors.invalid_parameter("The service cannot be stopped while it is scaled above 0.")
    name = body["metadata"]["name"]
    if daemon:  # a daemon has no count to drain to: it goes at once
        await caller.delete(ECS_SERVICE, name)
        return {"service": {**view(caller, body, ["TAGS"]), "status": "DRAINING"}}
    patch = {
        "metadata": {"annotations": {keys.ANNOTATION_DELETED_AT: _now()}},
        "spec": {"desiredCount": 0, "autoScaling": None},
    }
    updated = await caller.patch(ECS_SERVICE, name, patch)
    return {"service": {**view(caller, updated, ["TAGS"]), "status": "DRAINING"}}
