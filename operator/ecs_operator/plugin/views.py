"""Custom resources and pods -> the JSON the aws CLI prints for ECS's read commands.

Pure functions over the objects ``source`` fetched: ``describe_services`` returns what
``aws ecs describe-services`` would (``{"services": [...], "failures": [...]}``, ECS member
names), and so on. The operator already writes ECS-shaped status (``status/``); these views add
what the aws CLI shows beside it (ARNs, the spec's placement and capacity choices). Tasks
have their own module, :mod:`.tasks`.

ARNs use the operator's conventions (region ``local``, account ``000000000000`` unless
``--account-id``), so they match the ``taskDefinitionArn`` the operator reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeGuard

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import DEFAULT_CLUSTER, short_name
from ecs_operator.api.parse import parse_task_definition
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.kube.owners import controlled_by
from ecs_operator.plan.service import CAPACITY_MEMBERS
from ecs_operator.plan.taskdefinition import revision_name
from ecs_operator.status.cluster import cluster_name_of, cluster_of
from ecs_operator.status.service import deleted
from ecs_operator.status.task_placement import on_fargate
from ecs_operator.status.taskdefinition import (
    Arns,
    arn,
    compatibilities,
    marked_revisions,
    revision_entry,
)
from ecs_operator.status.workloads import status_current

Body = dict[str, Any]

#: Members of a Service's spec that describe-services repeats as they were requested.
SERVICE_SPEC_MEMBERS = (
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "placementConstraints",
    "placementStrategy",
    "networkConfiguration",
    "deploymentConfiguration",
    "loadBalancers",
    "serviceRegistries",
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "propagateTags",
    "tags",
)


def spec_of(body: Body) -> Body:
    return body.get("spec") or {}


def status_of(body: Body) -> Body:
    return body.get("status") or {}


def _deleting(body: Body) -> bool:
    return bool(body["metadata"].get("deletionTimestamp"))


def live(bodies: list[Body]) -> list[Body]:
    """The objects not being deleted: what ECS still lists."""
    return [b for b in bodies if not _deleting(b)]


def in_cluster(bodies: Iterable[Body], cluster: str) -> list[Body]:
    return [b for b in bodies if cluster_of(b) == cluster]


class ClusterNotFound(LookupError):
    """ECS's ClusterNotFoundException: nothing in the namespace is of the cluster."""


def require_cluster(cluster: str, namespace: str, read: Callable[[str], list[Body]]) -> None:
    """Raise :class:`ClusterNotFound` unless the namespace has the cluster: its Cluster object,
    or (before the operator has written one) a Service or Task naming it. ``read`` lists a
    kind's objects; the kinds are read only as far as needed."""
    if any(cluster_name_of(b) == cluster for b in read("clusters")):
        return
    if any(in_cluster(read(plural), cluster) for plural in ("services", "tasks")):
        return
    raise ClusterNotFound(
        f"ClusterNotFoundException: Cluster not found: no cluster {cluster} in namespace "
        f"{namespace} (-n names another namespace)"
    )


def picked(source: Body, members: Sequence[str]) -> Body:
    """The ``members`` ``source`` has, as they are there."""
    return {m: source[m] for m in members if m in source}


# Services -----------------------------------------------------------------------------------


def service_name(body: Body) -> str:
    return str(spec_of(body).get("serviceName") or body["metadata"]["name"])


def behind_their_spec(bodies: Iterable[Body], task_definitions: Iterable[Body]) -> set[str]:
    """The services whose status the operator wrote for an older spec than theirs (ECS's
    UpdateService shows its new deployment at once; here the next status does), and those
    following a family (``taskDefinition: web``) whose status is not yet on its latest ACTIVE
    revision, or whose family's TaskDefinition has a change the operator has not registered
    yet: a new revision changes no Service's spec, so its generation says nothing of it."""
    families = {spec_of(td).get("family"): td for td in task_definitions if not _deleting(td)}
    behind = set()
    for body in bodies:
        if not status_current(body) or not _on_latest(body, families):
            behind.add(service_name(body))
    return behind


def _on_latest(body: Body, families: dict[Any, Body]) -> bool:
    """Whether a service following a family runs its latest ACTIVE revision (one naming a
    revision always does)."""
    try:
        ref = TaskDefinitionRef.parse(str(spec_of(body).get("taskDefinition") or ""))
    except InvalidTaskDefinitionRef:
        return True
    family = families.get(ref.family)
    if ref.revision is not None or family is None:
        return True
    if not status_current(family):
        return False
    latest = marked_revisions(family).newest_outside(int(status_of(family).get("revision") or 0))
    return latest is None or status_of(body).get("taskDefinition") == f"{ref.family}:{latest}"


def desired_count(body: Body) -> int:
    """ECS's ``desiredCount`` of a service. The status holds what the operator runs, an
    autoscaler's choice included, but it lags a spec changed since: then the spec's count is
    the answer, as ECS answers UpdateService and the next DescribeServices at once (Terraform
    reads it back straight after an update). With ``autoScaling`` the autoscaler's count
    stands, as ECS keeps it through an UpdateService that names no count."""
    spec, status = spec_of(body), status_of(body)
    if "desiredCount" in status and (status_current(body) or spec.get("autoScaling")):
        return int(status["desiredCount"])
    return int(spec.get("desiredCount", status.get("desiredCount")) or 0)


def current_deployment(deployments: Sequence[Body], cluster: str, service: str, arns: Arns) -> Body:
    """describe-services' ``currentServiceDeployment`` (the PRIMARY deployment's, the first)
    and ``currentServiceRevisions`` (each deployment's revision and its task counts): what a
    deploy script polls DescribeServiceDeployments with after UpdateService."""
    if not deployments:
        return {}
    return {
        "currentServiceDeployment": arns.service_deployment(cluster, service, deployments[0]["id"]),
        "currentServiceRevisions": [
            {
                "arn": arns.service_revision(cluster, service, d["id"]),
                "requestedTaskCount": d.get("desiredCount", 0),
                "runningTaskCount": d.get("runningCount", 0),
                "pendingTaskCount": d.get("pendingCount", 0),
            }
            for d in deployments
        ],
    }


def service_view(body: Body, arns: Arns) -> Body:
    """One service as describe-services shows it."""
    spec, status = spec_of(body), status_of(body)
    cluster = cluster_of(body)
    name = service_name(body)
    desired = desired_count(body)
    # the capacity in force: the spec's own, else the operator's report (the cluster's default
    # strategy, EC2 for a spec naming neither); the PRIMARY deployment runs with it too
    capacity = picked(spec, CAPACITY_MEMBERS) or picked(status, CAPACITY_MEMBERS)
    deployments = status.get("deployments") or []
    if deployments:
        primary = {**capacity, **deployments[0], "desiredCount": desired}
        deployments = [primary, *deployments[1:]]
    view: Body = {
        "serviceArn": arns.service(cluster, name),
        "serviceName": name,
        "clusterArn": arns.cluster(short_name(status.get("clusterArn") or cluster)),
        "status": "DRAINING" if _deleting(body) else status.get("status", "ACTIVE"),
        "desiredCount": desired,
        "runningCount": status.get("runningCount", 0),
        "pendingCount": status.get("pendingCount", 0),
        "taskDefinition": arns.task_definition(status.get("taskDefinition"))
        or spec.get("taskDefinition"),
        "deployments": deployments,
        **current_deployment(deployments, cluster, name, arns),
        "events": status.get("events") or [],
        "createdAt": body["metadata"].get("creationTimestamp"),
        "schedulingStrategy": spec.get("schedulingStrategy", "REPLICA"),
        # not ECS's: the Kubernetes conditions (Ready, Degraded...) say what ECS's members
        # cannot, such as a service that cannot start any task
        "conditions": status.get("conditions") or [],
    }
    return view | capacity | picked(spec, SERVICE_SPEC_MEMBERS)


def describe_services(
    bodies: Iterable[Body], cluster: str, wanted: Sequence[str], arns: Arns
) -> Body:
    """``describe-services``; ``wanted`` empty means every service of the cluster (the aws CLI
    requires ``--services``; listing them all is the kubectl habit)."""
    mine = {service_name(b): b for b in in_cluster(bodies, cluster)}
    names = [short_name(w) for w in wanted] or sorted(mine)
    return {
        "services": [service_view(mine[n], arns) for n in names if n in mine],
        "failures": [
            {"arn": arns.service(cluster, n), "reason": "MISSING"} for n in names if n not in mine
        ],
    }


def list_services(bodies: Iterable[Body], cluster: str, arns: Arns) -> Body:
    """``list-services``: as ECS lists them, a deleted service (DRAINING, INACTIVE) left out."""
    names = sorted(service_name(b) for b in in_cluster(bodies, cluster) if not deleted(b))
    return {"serviceArns": [arns.service(cluster, n) for n in names]}


# Task definitions ---------------------------------------------------------------------------


class TaskDefinitionNotFound(LookupError):
    """No TaskDefinition object registers the family, or not that revision."""


def find_task_definition(bodies: Iterable[Body], reference: str) -> tuple[Body, int]:
    """The TaskDefinition object of a reference and the revision it means (latest ACTIVE for a
    bare family, as ECS resolves it: the newest revision its status reports, less those its
    annotation deregistered). Whether that revision is registered, its ControllerRevision
    says (:func:`describe_task_definition`)."""
    try:
        ref = TaskDefinitionRef.parse(reference)
    except InvalidTaskDefinitionRef as error:
        raise TaskDefinitionNotFound(str(error)) from None
    owners = [b for b in bodies if spec_of(b).get("family") == ref.family and not _deleting(b)]
    if not owners:
        raise TaskDefinitionNotFound(f"no TaskDefinition registers family {ref.family}")
    body = min(owners, key=lambda b: b["metadata"].get("creationTimestamp", ""))
    revision = ref.revision
    if revision is None:
        revision = marked_revisions(body).newest_outside(int(status_of(body).get("revision") or 0))
    if revision is None:
        raise TaskDefinitionNotFound(f"{ref} has no ACTIVE revision (yet)")
    return body, revision


def is_revision_of(stored: Body | None, body: Body) -> TypeGuard[Body]:
    """Whether the ControllerRevision ``stored`` records a revision of the TaskDefinition
    ``body`` (not one of an object deleted under the same name, which lingers a moment)."""
    return stored is not None and controlled_by(stored, body["metadata"]["uid"])


def revision_object_name(body: Body, revision: int) -> str:
    """The ControllerRevision holding a revision's spec (plan/taskdefinition.py)."""
    return revision_name(body["metadata"]["name"], revision)


def _compatibilities(spec: Body) -> list[str]:
    """What the registered spec satisfies (status.taskdefinition.compatibilities); a spec that
    no longer parses (one registered by an older version) says what it asked."""
    try:
        return compatibilities(parse_task_definition(spec))
    except EcsValidationError:
        return list(spec.get("requiresCompatibilities") or ["EC2"])


def describe_task_definition(body: Body, revision: int, stored: Body | None, arns: Arns) -> Body:
    """``describe-task-definition``: the spec revision ``revision`` registered (its
    ControllerRevision ``stored``; None: it is not registered) with ECS's read-only members."""
    family = str(spec_of(body).get("family"))
    if not is_revision_of(stored, body):
        raise TaskDefinitionNotFound(f"{family}:{revision} is not registered (yet)")
    spec = stored["data"]["spec"]
    entry = revision_entry(stored, marked_revisions(body))
    definition: Body = {
        "taskDefinitionArn": arn(family, revision, arns.account),
        **spec,
        "family": family,
        "revision": revision,
        "status": entry["status"],
        "compatibilities": _compatibilities(spec),
        "registeredAt": entry["registeredAt"],
    }
    return {"taskDefinition": definition, "tags": spec.get("tags") or []}


# Clusters -----------------------------------------------------------------------------------


def _statistics(tasks: Iterable[Body]) -> list[Body]:
    """describe-clusters' STATISTICS: running and pending tasks on EC2 and on Fargate, counted
    from the tasks themselves (a DAEMON service's tasks have no capacity provider)."""
    totals = {
        f"{state}{kind}TasksCount": 0
        for state in ("running", "pending")
        for kind in ("EC2", "Fargate")
    }
    for task in tasks:
        state = {"RUNNING": "running", "PENDING": "pending", "PROVISIONING": "pending"}.get(
            task.get("lastStatus", "")
        )
        if state:
            totals[f"{state}{'Fargate' if on_fargate(task) else 'EC2'}TasksCount"] += 1
    return [{"name": name, "value": str(value)} for name, value in totals.items()]


def cluster_view(body: Body, tasks: Iterable[Body], arns: Arns) -> Body:
    """One cluster as describe-clusters shows it; ``tasks`` are its tasks (``all_tasks``)."""
    spec, status = spec_of(body), status_of(body)
    name = cluster_name_of(body)
    view: Body = {
        "clusterArn": arns.cluster(name),
        "clusterName": name,
        "status": "INACTIVE" if _deleting(body) else status.get("status", "PROVISIONING"),
        "registeredContainerInstancesCount": status.get("registeredContainerInstancesCount", 0),
        "runningTasksCount": status.get("runningTasksCount", 0),
        "pendingTasksCount": status.get("pendingTasksCount", 0),
        "activeServicesCount": status.get("activeServicesCount", 0),
        "statistics": _statistics(tasks),
        "capacityProviders": spec.get("capacityProviders") or [],
        "defaultCapacityProviderStrategy": spec.get("defaultCapacityProviderStrategy") or [],
        "settings": spec.get("settings") or [],
        "tags": spec.get("tags") or [],
    }
    return view


def describe_clusters(
    bodies: Iterable[Body],
    wanted: Sequence[str],
    arns: Arns,
    tasks_of: Callable[[str], list[Body]],
) -> Body:
    """``describe-clusters``; ``wanted`` empty means ``default``, as in ECS. ``tasks_of`` gives
    a cluster's tasks (for the statistics)."""
    by_name = {cluster_name_of(b): b for b in bodies}
    names = [short_name(w) for w in wanted] or [DEFAULT_CLUSTER]
    return {
        "clusters": [cluster_view(by_name[n], tasks_of(n), arns) for n in names if n in by_name],
        "failures": [
            {"arn": arns.cluster(n), "reason": "MISSING"} for n in names if n not in by_name
        ],
    }
