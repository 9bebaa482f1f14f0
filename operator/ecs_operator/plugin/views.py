"""Custom resources and pods -> the JSON the aws CLI prints for ECS's read commands.

Pure functions over the objects ``source`` fetched: ``describe_services`` returns what
``aws ecs describe-services`` would (``{"services": [...], "failures": [...]}``, ECS member
names), and so on. The operator already writes ECS-shaped status (``status/``); these views add
what the aws CLI shows beside it (ARNs, the spec's placement and capacity choices) and read a
service's tasks off its pods with the same mapping the operator uses (``status.task``).

ARNs use the operator's conventions (region ``local``, account ``000000000000`` unless
``--account-id``), so they match the ``taskDefinitionArn`` the operator reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import DEFAULT_CLUSTER, cluster_name, short_name
from ecs_operator.api.parse import parse_task_definition
from ecs_operator.api.providers import FARGATE, FARGATE_PROVIDERS
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.kube.owners import controlled_by
from ecs_operator.plan.service import CAPACITY_MEMBERS
from ecs_operator.plan.taskdefinition import revision_name
from ecs_operator.render import keys
from ecs_operator.status.task import task_state
from ecs_operator.status.taskdefinition import (
    DEFAULT_ACCOUNT,
    REGION,
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
#: Members of a Task's spec that describe-tasks repeats.
TASK_SPEC_MEMBERS = ("launchType", "platformVersion", "startedBy", "overrides", "tags")


@dataclass(frozen=True)
class Arns:
    """ARNs in the operator's convention (see ``status.taskdefinition.arn``)."""

    account: str = DEFAULT_ACCOUNT

    def _arn(self, resource: str) -> str:
        return f"arn:aws:ecs:{REGION}:{self.account}:{resource}"

    def cluster(self, name: str) -> str:
        return self._arn(f"cluster/{name}")

    def service(self, cluster: str, name: str) -> str:
        return self._arn(f"service/{cluster}/{name}")

    def task(self, cluster: str, task_id: str) -> str:
        return self._arn(f"task/{cluster}/{task_id}")

    def task_definition(self, reference: str | None) -> str | None:
        """The ARN of ``family:revision`` (None for a bare family or no reference)."""
        try:
            ref = TaskDefinitionRef.parse(reference or "")
        except InvalidTaskDefinitionRef:
            return None
        return None if ref.revision is None else arn(ref.family, ref.revision, self.account)


def _spec(body: Body) -> Body:
    return body.get("spec") or {}


def _status(body: Body) -> Body:
    return body.get("status") or {}


def _deleting(body: Body) -> bool:
    return bool(body["metadata"].get("deletionTimestamp"))


def cluster_of(body: Body) -> str:
    """The ECS cluster a Service or Task names (``default`` when it names none)."""
    return cluster_name(_spec(body).get("cluster"))


def in_cluster(bodies: Iterable[Body], cluster: str) -> list[Body]:
    return [b for b in bodies if cluster_of(b) == cluster]


def picked(source: Body, members: Sequence[str]) -> Body:
    """The ``members`` ``source`` has, as they are there."""
    return {m: source[m] for m in members if m in source}


# Services -----------------------------------------------------------------------------------


def service_name(body: Body) -> str:
    return str(_spec(body).get("serviceName") or body["metadata"]["name"])


def desired_count(body: Body) -> int:
    """ECS's ``desiredCount`` of a service. The status holds what the operator runs, an
    autoscaler's choice included, but it lags a spec changed since: then the spec's count is
    the answer, as ECS answers UpdateService and the next DescribeServices at once (Terraform
    reads it back straight after an update). With ``autoScaling`` the autoscaler's count
    stands, as ECS keeps it through an UpdateService that names no count."""
    spec, status = _spec(body), _status(body)
    if "desiredCount" in status and (status_current(body) or spec.get("autoScaling")):
        return int(status["desiredCount"])
    return int(spec.get("desiredCount", status.get("desiredCount")) or 0)


def service_view(body: Body, arns: Arns) -> Body:
    """One service as describe-services shows it."""
    spec, status = _spec(body), _status(body)
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
    names = sorted(service_name(b) for b in in_cluster(bodies, cluster))
    return {"serviceArns": [arns.service(cluster, n) for n in names]}


# Tasks --------------------------------------------------------------------------------------


def _essential(pod: Body) -> list[str]:
    """The essential containers the renderer recorded (a JSON list annotation)."""
    text = (pod["metadata"].get("annotations") or {}).get(keys.ANNOTATION_ESSENTIAL) or "[]"
    try:
        names = json.loads(text)
    except ValueError:
        return []
    return [str(n) for n in names] if isinstance(names, list) else []


def _service_task(pod: Body, cluster: str, arns: Arns, deployments: Sequence[Body]) -> Body:
    """A service's task, read off its pod as the operator reads standalone tasks' pods;
    ``deployments`` are its service's, as describe-services shows them."""
    metadata = pod["metadata"]
    annotations = metadata.get("annotations") or {}
    labels = metadata.get("labels") or {}
    task_id = metadata["name"]
    state = task_state(pod, _essential(pod), bool(metadata.get("deletionTimestamp")))
    view: Body = {
        "taskArn": arns.task(cluster, task_id),
        "clusterArn": arns.cluster(cluster),
        "taskDefinitionArn": arns.task_definition(annotations.get(keys.ANNOTATION_TASK_DEFINITION)),
        "group": f"service:{annotations.get(keys.ANNOTATION_SERVICE, '')}",
        "createdAt": metadata.get("creationTimestamp"),
        **state.to_ecs(task_id),
    }
    started = (pod.get("status") or {}).get("startTime")
    if started and state.last_status == "RUNNING":
        view["startedAt"] = started
    if labels.get(keys.LABEL_LAUNCH_TYPE):
        view["launchType"] = labels[keys.LABEL_LAUNCH_TYPE]
    if labels.get(keys.LABEL_CAPACITY_PROVIDER):
        view["capacityProviderName"] = labels[keys.LABEL_CAPACITY_PROVIDER]
    deployment = started_by(pod, deployments)
    if deployment:
        view["startedBy"] = deployment
    return view


def started_by(pod: Body, deployments: Sequence[Body]) -> str | None:
    """ECS's ``startedBy`` of a service's task: the id of the deployment that started it. Of
    the service's deployments (PRIMARY first) that run the pod's task definition, the newest
    created before the pod (a forced new deployment runs the same one); none when no
    deployment shown runs it any more."""
    metadata = pod["metadata"]
    revision = (metadata.get("annotations") or {}).get(keys.ANNOTATION_TASK_DEFINITION)
    created = _moment(metadata.get("creationTimestamp"))
    running = [d for d in deployments if short_name(str(d.get("taskDefinition") or "")) == revision]
    for deployment in running:
        began = _moment(deployment.get("createdAt"))
        if created is None or began is None or began <= created:
            return str(deployment["id"])
    return str(running[-1]["id"]) if running else None


def _moment(text: Any) -> datetime | None:
    """An RFC 3339 time of a view (the API server's, or a status's), or None."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _standalone_tasks(body: Body, arns: Arns) -> list[Body]:
    """A Task object's tasks (RunTask's ``count``), from the records in its status."""
    spec, status = _spec(body), _status(body)
    cluster = cluster_of(body)
    reference = status.get("taskDefinition") or spec.get("taskDefinition")
    try:
        family = TaskDefinitionRef.parse(reference or "").family
    except InvalidTaskDefinitionRef:
        family = reference or ""
    common: Body = {
        "clusterArn": arns.cluster(cluster),
        "taskDefinitionArn": arns.task_definition(status.get("taskDefinition")),
        "group": spec.get("group") or f"family:{family}",
        **picked(spec, TASK_SPEC_MEMBERS),
    }
    strategy = spec.get("capacityProviderStrategy") or []
    if strategy:
        common["capacityProviderName"] = strategy[0]["capacityProvider"]
    return [
        {"taskArn": arns.task(cluster, record["taskId"]), **common, **record}
        for record in status.get("tasks") or []
    ]


def all_tasks(
    task_bodies: Iterable[Body],
    pods: Iterable[Body],
    cluster: str,
    arns: Arns,
    deployments: Mapping[str, Sequence[Body]] | None = None,
) -> list[Body]:
    """Every task of the cluster: standalone tasks (Task objects) and services' tasks (pods);
    ``deployments``, by service name, say which deployment started each service task."""
    tasks = [t for body in in_cluster(task_bodies, cluster) for t in _standalone_tasks(body, arns)]
    for pod in pods:
        annotations = pod["metadata"].get("annotations") or {}
        service = annotations.get(keys.ANNOTATION_SERVICE)
        if service and annotations.get(keys.ANNOTATION_CLUSTER, DEFAULT_CLUSTER) == cluster:
            started = (deployments or {}).get(service, ())
            tasks.append(_service_task(pod, cluster, arns, started))
    return sorted(tasks, key=lambda t: t["taskArn"])


def service_deployments(bodies: Iterable[Body], cluster: str, arns: Arns) -> dict[str, list[Body]]:
    """The deployments of the cluster's services, by service name (for :func:`all_tasks`)."""
    return {
        service_name(b): service_view(b, arns)["deployments"] for b in in_cluster(bodies, cluster)
    }


def describe_tasks(tasks: Sequence[Body], wanted: Sequence[str], arns: Arns, cluster: str) -> Body:
    """``describe-tasks``; ``wanted`` (task ids or ARNs) empty means all of them."""
    by_id = {t["taskId"]: t for t in tasks}
    ids = [short_name(w) for w in wanted] or list(by_id)
    return {
        "tasks": [by_id[i] for i in ids if i in by_id],
        "failures": [
            {"arn": arns.task(cluster, i), "reason": "MISSING"} for i in ids if i not in by_id
        ],
    }


def list_tasks(
    tasks: Iterable[Body],
    service: str | None = None,
    family: str | None = None,
    desired_status: str = "RUNNING",
) -> Body:
    """``list-tasks`` with its filters (``--desired-status`` defaults to RUNNING, as in ECS)."""
    chosen = [
        t
        for t in tasks
        if t.get("desiredStatus") == desired_status
        and (service is None or t.get("group") == f"service:{service}")
        and (family is None or _family_of(t) == family)
    ]
    return {"taskArns": [t["taskArn"] for t in chosen]}


def _family_of(task: Body) -> str | None:
    arn_text = task.get("taskDefinitionArn") or ""
    return short_name(arn_text).split(":")[0] if arn_text else None


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
    owners = [b for b in bodies if _spec(b).get("family") == ref.family and not _deleting(b)]
    if not owners:
        raise TaskDefinitionNotFound(f"no TaskDefinition registers family {ref.family}")
    body = min(owners, key=lambda b: b["metadata"].get("creationTimestamp", ""))
    revision = ref.revision
    if revision is None:
        revision = marked_revisions(body).newest_outside(int(_status(body).get("revision") or 0))
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
    family = str(_spec(body).get("family"))
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


def task_size(stored: Body | None) -> Body:
    """ECS's task-level ``cpu`` and ``memory`` of a task: as the revision it runs (its
    ControllerRevision ``stored``) registered them, where it has them (a Fargate revision
    always does)."""
    spec = ((stored or {}).get("data") or {}).get("spec") or {}
    return {k: str(spec[k]) for k in ("cpu", "memory") if spec.get(k) is not None}


# Clusters -----------------------------------------------------------------------------------


def cluster_display_name(body: Body) -> str:
    return str(_spec(body).get("clusterName") or body["metadata"]["name"])


def _on_fargate(task: Body) -> bool:
    provider = task.get("capacityProviderName")
    return provider in FARGATE_PROVIDERS or task.get("launchType") == FARGATE


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
            totals[f"{state}{'Fargate' if _on_fargate(task) else 'EC2'}TasksCount"] += 1
    return [{"name": name, "value": str(value)} for name, value in totals.items()]


def cluster_view(body: Body, tasks: Iterable[Body], arns: Arns) -> Body:
    """One cluster as describe-clusters shows it; ``tasks`` are its tasks (``all_tasks``)."""
    spec, status = _spec(body), _status(body)
    name = cluster_display_name(body)
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
    by_name = {cluster_display_name(b): b for b in bodies}
    names = [short_name(w) for w in wanted] or [DEFAULT_CLUSTER]
    return {
        "clusters": [cluster_view(by_name[n], tasks_of(n), arns) for n in names if n in by_name],
        "failures": [
            {"arn": arns.cluster(n), "reason": "MISSING"} for n in names if n not in by_name
        ],
    }
