"""Tasks as the aws CLI shows them: standalone tasks read off their Task objects' status,
services' tasks off their pods with the same mapping the operator uses (``status.task``), and
``describe-tasks`` / ``list-tasks`` over both. Pure, like :mod:`.views`, whose ARNs and service
views it uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import DEFAULT_CLUSTER, container_arn, short_name, task_id
from ecs_operator.api.parse import parse_task
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.plan.task import placed_as_planned, pod_name
from ecs_operator.render import keys
from ecs_operator.render.metadata import essential_containers
from ecs_operator.status.cluster import cluster_of
from ecs_operator.status.service_tasks import STOPPED_TASKS, started_by, stopping
from ecs_operator.status.task import (
    FAILED_TO_START,
    STOP_REASONS,
    USER_INITIATED,
    failed_to_start,
    task_state,
)
from ecs_operator.status.task_moments import task_moments
from ecs_operator.status.task_records import ecs_record
from ecs_operator.status.taskdefinition import Arns
from ecs_operator.status.workloads import status_current

from .views import (
    Body,
    in_cluster,
    picked,
    service_name,
    service_view,
    spec_of,
    status_of,
)

#: Members of a Task's spec that describe-tasks repeats.
TASK_SPEC_MEMBERS = ("launchType", "platformVersion", "startedBy", "overrides", "tags")


def _service_task(pod: Body, cluster: str, arns: Arns, deployments: Sequence[Body]) -> Body:
    """A service's task, read off its pod as the operator reads standalone tasks' pods;
    ``deployments`` are its service's, as describe-services shows them."""
    metadata = pod["metadata"]
    annotations = metadata.get("annotations") or {}
    task_id = metadata["name"]
    # the kubelet restarts a service pod's exited container in place: its task runs on until
    # the pod goes (ECS's STOPPED is final; showing it and then RUNNING again was not)
    state = task_state(
        pod,
        essential_containers(annotations),
        bool(metadata.get("deletionTimestamp")),
        restarted_in_place=True,
    )
    view: Body = {
        "taskArn": arns.task(cluster, task_id),
        "clusterArn": arns.cluster(cluster),
        "taskDefinitionArn": arns.task_definition(annotations.get(keys.ANNOTATION_TASK_DEFINITION)),
        "group": f"service:{annotations.get(keys.ANNOTATION_SERVICE, '')}",
        "createdAt": metadata.get("creationTimestamp"),
        **ecs_record(state.to_ecs(task_id)),
    }
    started = (pod.get("status") or {}).get("startTime")
    if started and state.last_status == "RUNNING":
        view["startedAt"] = started
    if state.last_status == "DEPROVISIONING":
        view.update(stopping(pod, deployments))
    view.update(task_moments(pod))
    deployment = started_by(pod, deployments)
    if deployment:
        view["startedBy"] = deployment
    return view


def _unstarted(body: Body) -> list[Body]:
    """The tasks of a Task the operator has not started: PROVISIONING, each where it will run
    (the ECS API's RunTask names it: ``plan.task.placed_as_planned``), until the operator
    starts them or refuses to (the Task's ``Stalled`` condition for its generation: the
    admin's policy, an ECS rule the API server could not check). ECS stops a task that cannot
    start, ``TaskFailedToStart`` with why, and the ``tasks-stopped`` waiter returns on it."""
    spec, status = spec_of(body), status_of(body)
    try:
        placed = placed_as_planned(parse_task(spec))
    except EcsValidationError:  # the operator says why, in the Task's status
        placed = []
    conditions = {c.get("type"): c for c in status.get("conditions") or ()}
    stalled: Body = conditions.get("Stalled") or {}
    refused = stalled.get("status") == "True" and status_current(body)
    common: Body = {
        "lastStatus": "PROVISIONING",
        "desiredStatus": "RUNNING",
        "containers": [],
        "createdAt": body["metadata"].get("creationTimestamp"),
    }
    if refused:
        reason = failed_to_start(stalled.get("message"))
        common |= _stopped(FAILED_TO_START, reason, stalled.get("lastTransitionTime"))
    elif status.get("lastStatus") == "STOPPED":  # stopped before it started (StopTask)
        asked = (body["metadata"].get("annotations") or {}).get(keys.ANNOTATION_STOP_REASON)
        reason = asked or STOP_REASONS[USER_INITIATED]
        common |= _stopped(USER_INITIATED, reason, None)
    count = spec.get("count") or 1
    placed += [{}] * (count - len(placed))
    return [
        {"taskId": pod_name(body["metadata"]["name"], i), **common, **placed[i]}
        for i in range(count)
    ]


def _stopped(code: str, reason: str, at: str | None) -> Body:
    stopped = {"lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stopCode": code}
    return {**stopped, "stoppedReason": reason, **({"stoppedAt": at} if at else {})}


def _standalone_tasks(body: Body, arns: Arns) -> list[Body]:
    """A Task object's tasks (RunTask's ``count``), from the records in its status (or, before
    the operator has started them, :func:`_unstarted`)."""
    spec, status = spec_of(body), status_of(body)
    cluster = cluster_of(body)
    reference = status.get("taskDefinition") or spec.get("taskDefinition")
    try:
        family = TaskDefinitionRef.parse(reference or "").family
    except InvalidTaskDefinitionRef:
        family = reference or ""
    common: Body = {
        "clusterArn": arns.cluster(cluster),
        "taskDefinitionArn": arns.task_definition(reference),
        "group": spec.get("group") or f"family:{family}",
        **picked(spec, TASK_SPEC_MEMBERS),
    }
    return [
        {"taskArn": arns.task(cluster, record["taskId"]), **common, **ecs_record(record)}
        for record in status.get("tasks") or _unstarted(body)
    ]


def all_tasks(
    task_bodies: Iterable[Body],
    pods: Iterable[Body],
    cluster: str,
    arns: Arns,
    deployments: Mapping[str, Sequence[Body]] | None = None,
    services: Iterable[Body] = (),
) -> list[Body]:
    """Every task of the cluster: standalone tasks (Task objects), services' tasks (pods) and
    the stopped tasks of ``services`` (Service objects; their status keeps them);
    ``deployments``, by service name, say which deployment started each service task."""
    tasks = [t for body in in_cluster(task_bodies, cluster) for t in _standalone_tasks(body, arns)]
    for pod in pods:
        annotations = pod["metadata"].get("annotations") or {}
        service = annotations.get(keys.ANNOTATION_SERVICE)
        if service and annotations.get(keys.ANNOTATION_CLUSTER, DEFAULT_CLUSTER) == cluster:
            started = (deployments or {}).get(service, ())
            tasks.append(_service_task(pod, cluster, arns, started))
    running = {t["taskArn"] for t in tasks}
    for body in in_cluster(services, cluster):
        for stopped in _stopped_service_tasks(body, cluster, arns):
            if stopped["taskArn"] not in running:
                tasks.append(stopped)
    return sorted(tasks, key=lambda t: t["taskArn"])


def _stopped_service_tasks(body: Body, cluster: str, arns: Arns) -> list[Body]:
    """A service's stopped tasks, from the records its status keeps (their pods are gone)."""
    return [
        {
            "taskArn": arns.task(cluster, record["taskId"]),
            "clusterArn": arns.cluster(cluster),
            "taskDefinitionArn": arns.task_definition(record.get("taskDefinition")),
            "group": f"service:{service_name(body)}",
            **{k: v for k, v in ecs_record(record).items() if k != "taskDefinition"},
        }
        for record in status_of(body).get(STOPPED_TASKS) or []
    ]


def service_deployments(bodies: Iterable[Body], cluster: str, arns: Arns) -> dict[str, list[Body]]:
    """The deployments of the cluster's services, by service name (for :func:`all_tasks`)."""
    return {
        service_name(b): service_view(b, arns)["deployments"] for b in in_cluster(bodies, cluster)
    }


def plugin_task_id(wanted: str, namespace: str, known: Iterable[str]) -> str:
    """The task id (a pod's name) that ``wanted`` names: itself, or the task whose ECS id it is
    (``api.identifiers.task_id``: what the ECS API, ``aws ecs`` and the task metadata endpoint
    show for it); an ARN is read as its id."""
    short = short_name(wanted)
    return next((name for name in known if task_id(namespace, name) == short), short)


def describe_tasks(
    tasks: Sequence[Body], wanted: Sequence[str], arns: Arns, cluster: str, namespace: str
) -> Body:
    """``describe-tasks``; ``wanted`` (task ids or ARNs, ours or the ECS API's) empty means all
    of them."""
    by_id = {t["taskId"]: t for t in tasks}
    ids = [plugin_task_id(w, namespace, by_id) for w in wanted] or list(by_id)
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


#: the sizes describe-tasks shows of a task, and of each of its containers
TASK_SIZES = ("cpu", "memory")
CONTAINER_SIZES = ("cpu", "memory", "memoryReservation")


def as_described(task: Body, stored: Body | None) -> Body:
    """``task`` as describe-tasks (and RunTask and StopTask) answer it, completed from the
    revision it runs (its ControllerRevision ``stored``) and its ``overrides``:
    - the sizes ECS shows, as strings as ECS writes them: the task-level ``cpu`` and
      ``memory`` where either has them (a Fargate revision always does), and each container's
      ``cpu``, ``memory`` and ``memoryReservation``;
    - a task whose pod is not there yet (PROVISIONING, RunTask's answer) lists the revision's
      containers PENDING, as ECS lists a task's containers from its start, and one that
      stopped without a pod (refused) lists them STOPPED;
    - each container named (``named_containers``)."""
    spec = ((stored or {}).get("data") or {}).get("spec") or {}
    overrides = task.get("overrides") or {}
    out = {**task, **_sizes({**spec, **overrides}, TASK_SIZES)}
    defined = {c.get("name"): c for c in spec.get("containerDefinitions") or []}
    changed = {c.get("name"): c for c in overrides.get("containerOverrides") or []}
    containers = task.get("containers") or []
    if not containers and task.get("lastStatus") in ("PROVISIONING", "STOPPED"):
        containers = [_unreported(c, task["lastStatus"]) for c in defined.values()]
    if containers:
        out["containers"] = [
            {**c, **_sizes({**defined.get(c["name"], {}), **changed.get(c["name"], {})})}
            for c in containers
        ]
    return named_containers(out)


def _unreported(definition: Body, task_status: str) -> Body:
    """A container of the revision that no pod reports: PENDING in a task not started yet,
    STOPPED in one that stopped without starting."""
    last = "STOPPED" if task_status == "STOPPED" else "PENDING"
    container = {"name": definition.get("name"), "lastStatus": last, "healthStatus": "UNKNOWN"}
    return {**container, "image": definition["image"]} if definition.get("image") else container


def named_containers(task: Body) -> Body:
    """``task`` with each container's ``taskArn`` and ``containerArn`` (``container_arn``), as
    ECS shows them (``task`` with the ARN it is shown with: the ECS API's ids are not
    ``kubectl ecs``'s)."""
    arn = task["taskArn"]

    def named(container: Body) -> Body:
        return {**container, "taskArn": arn, "containerArn": container_arn(arn, container["name"])}

    containers = [named(c) for c in task.get("containers") or []]
    return {**task, "containers": containers} if containers else task


def _sizes(members: Body, names: Sequence[str] = CONTAINER_SIZES) -> Body:
    return {k: str(members[k]) for k in names if members.get(k) is not None}
