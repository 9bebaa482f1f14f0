"""Tasks: a RunTask is a Task object (``count`` pods); a service's tasks are its pods.

A task's ECS id is 32 hex digits derived from its namespace and pod name (``task_id``): stable
across restarts of the operator and of this API, and the same for every replica. A Task object
this API creates gets a random 32-hex name, so ids are not reused, or with a client token a
hash of it, so that the call sent again finds its Task (idempotency.py). Stopped tasks stay
describable while their Task object keeps them in its status (``--task-retention``, an hour by
default).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.identifiers import short_name, task_id
from ecs_operator.api.parse import parse_task, parse_task_definition
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.api.shapes import TaskOverride
from ecs_operator.kube.owners import age
from ecs_operator.kube.resources import ECS_TASK, POD
from ecs_operator.plugin.task_views import all_tasks, as_described, list_tasks
from ecs_operator.render import apply_overrides
from ecs_operator.render.capacity import default_launch_type
from ecs_operator.render.keys import ANNOTATION_STOP_REASON, ANNOTATION_STOPPED_TASKS
from ecs_operator.status.task import STOP_REASONS, USER_INITIATED, stopped_alone

from . import clusters, errors, families, idempotency, services, taskdefinitions, wire
from .caller import Caller, Conflict
from .wording import refusal

Body = dict[str, Any]

#: uses of one client token, each after the previous one's lifetime, that a call follows
EXPIRED_TOKEN_USES = 16
TOKEN_REUSED = (
    "The client token was used by another RunTask call in this cluster, with other parameters, "
    "within the last 24 hours."
)


class Found:
    """A task as ECS shows it, and the object that holds it: a Task, a service's pod, or for
    a service's task whose pod is gone (``gone``), the Service whose status records it."""

    def __init__(
        self, caller: Caller, cluster: str, shown: Body, source: Body, gone: bool = False
    ) -> None:
        pod = shown.pop("taskId")
        #: the task's pod's name (a Task's ``<task>-<i>``, even before its pod exists)
        self.pod = pod
        self.id = task_id(caller.namespace, pod)
        self.shown = {**shown, "taskArn": caller.arn(f"task/{cluster}/{self.id}")}
        self.source = source
        self.gone = gone

    @property
    def standalone(self) -> bool:
        return self.source.get("kind") == "Task"


async def standalone_tasks(caller: Caller, cluster: str) -> list[Found]:
    """The cluster's standalone tasks (RunTask's): its Task objects' status alone tells them."""
    return [
        found for body in await caller.list(ECS_TASK) for found in _started(caller, cluster, body)
    ]


async def tasks_in(
    caller: Caller,
    cluster: str,
    with_services: bool = True,
    standalone: list[Found] | None = None,
) -> list[Found]:
    """The cluster's tasks (its ``standalone`` tasks, if read already, and its services'). With
    ``with_services``, what only its Services' status tells as well (one read of the
    cluster's Services more): the deployment that started each service task, and the
    services' stopped tasks, whose pods are gone."""
    found = list(standalone) if standalone is not None else await standalone_tasks(caller, cluster)
    # the cluster's services' pods (a Task's pods are in its status), each started by one of
    # its service's deployments as DescribeServices shows them
    pods = await caller.list(POD, services.service_pods(cluster))
    bodies = await services.services_in(caller, cluster, pods=pods) if with_services else {}
    # (a service's deployments name what started its running tasks: none to name, none read)
    views = bodies.items() if pods else ()
    deployments = {n: services.view(caller, b)["deployments"] for n, b in views}
    for pod in pods:
        for shown in all_tasks([], [pod], cluster, caller.arns, deployments):
            found.append(Found(caller, cluster, shown, pod))
    running = {f.id for f in found}
    for body in bodies.values():
        for shown in all_tasks([], [], cluster, caller.arns, services=[body]):
            stopped = Found(caller, cluster, shown, body, gone=True)
            if stopped.id not in running:
                found.append(stopped)
    return found


def _with_tags(found: Found, include: list[str] | None) -> Body:
    shown = {k: v for k, v in found.shown.items() if k != "tags"}
    if "TAGS" in (include or ()) and found.standalone:
        shown.update(wire.tags_member(found.source))
    return shown


async def run(caller: Caller, request: Body) -> Body:
    cluster, found = await clusters.required(caller, request.get("cluster"), first_use=True)
    spec = {**request, "cluster": cluster} if "cluster" in request else dict(request)
    try:
        parse_task(spec)
    except EcsValidationError as error:
        raise refusal(error, spec) from None
    # ECS runs the latest ACTIVE revision of a bare family as of the call, and answers with it
    family, revision = await taskdefinitions.resolve_for_use(caller, request["taskDefinition"])
    mark = idempotency.call_mark({**request, "cluster": cluster})
    spec["taskDefinition"] = f"{family.name}:{revision}"
    stored = await family.stored(revision)
    _check_overrides(stored, request.get("overrides"))
    spec.update(_placement_at_run(found, request, stored))
    body = await _task_of_call(caller, cluster, spec, mark)
    # a call sent again answers what the first one started, from its revision (read once)
    started = _reference(str((body.get("spec") or {}).get("taskDefinition") or ""))
    stored = await family.stored((started and started.revision) or revision)
    tasks = [as_described(_with_tags(f, ["TAGS"]), stored) for f in _started(caller, cluster, body)]
    return {"tasks": tasks, "failures": []}


def _check_overrides(stored: Body | None, overrides: Body | None) -> None:
    """ECS refuses at the call overrides its task definition cannot take (a container it
    lacks, a size its rules refuse): InvalidParameterException, and no task; they used to be
    accepted and the task read STOPPED TaskFailedToStart later."""
    spec = (((stored or {}).get("data") or {}).get("spec")) or None
    if not overrides or spec is None:
        return
    try:
        apply_overrides(parse_task_definition(spec), TaskOverride.model_validate(overrides))
    except EcsValidationError as error:
        raise errors.invalid_parameter("; ".join(str(v) for v in error.violations)) from None


def _placement_at_run(cluster: Body, request: Body, stored: Body | None) -> Body:
    """Where a RunTask's tasks run, decided at the call as ECS decides it and kept in the Task's
    spec (so RunTask's answer shows each task's launch type and capacity provider at once):
    the request's launch type or strategy, else the cluster's default strategy, else the
    launch type the revision runs with (EC2, or FARGATE for a Fargate-only one)."""
    if "launchType" in request or "capacityProviderStrategy" in request:
        return {}
    at_launch = clusters.capacity_at_launch(cluster, request)
    if at_launch:
        return at_launch
    requires = (((stored or {}).get("data") or {}).get("spec") or {}).get("requiresCompatibilities")
    return {"launchType": default_launch_type(requires)}


def _started(caller: Caller, cluster: str, body: Body) -> list[Found]:
    body = {**body, "kind": "Task"}
    return [Found(caller, cluster, s, body) for s in all_tasks([body], [], cluster, caller.arns)]


async def _task_of_call(caller: Caller, cluster: str, spec: Body, mark: str) -> Body:
    """The Task this call creates, or created before: a call with a client token sent again
    (idempotency.py), or a create retried after its answer was lost. A token's Task is named
    after the token; a call without one gets a random name, so ids are not reused."""
    token = spec.get("clientToken")
    name = idempotency.token_name(cluster, token) if token else uuid.uuid4().hex
    for _ in range(EXPIRED_TOKEN_USES):
        task = {"metadata": idempotency.marked({"name": name}, mark), "spec": spec}
        body, created = await caller.create_or_get(ECS_TASK, task)
        if token is not None and not created and age(body) >= idempotency.TOKEN_LIFETIME_S:
            name = idempotency.token_name(cluster, token, body["metadata"]["uid"])
            continue
        if created or idempotency.made_by(body, mark):
            return body
        arns = [found.shown["taskArn"] for found in _started(caller, cluster, body)]
        raise errors.conflict(TOKEN_REUSED, arns)
    raise errors.server_error(f"the client token {token} was used {EXPIRED_TOKEN_USES} times")


def _reference(arn: str) -> TaskDefinitionRef | None:
    try:
        return TaskDefinitionRef.parse(arn)
    except InvalidTaskDefinitionRef:  # a task shown before its revision was resolved
        return None


async def _as_described(caller: Caller, tasks: list[Body]) -> list[Body]:
    """``tasks`` as describe-tasks shows them (``as_described``): one read of each family they
    run, and of each revision."""
    parsed = {
        arn: ref
        for arn in {t.get("taskDefinitionArn") or "" for t in tasks}
        if (ref := _reference(arn)) is not None
    }
    names = sorted({ref.family for ref in parsed.values()})
    read = await asyncio.gather(*(families.family(caller, name) for name in names))
    by_name = dict(zip(names, read, strict=True))

    async def stored(ref: TaskDefinitionRef) -> Body | None:
        found = by_name[ref.family]
        return await found.stored(ref.revision or 0) if found is not None else None

    revisions = await asyncio.gather(*(stored(ref) for ref in parsed.values()))
    by_arn = dict(zip(parsed, revisions, strict=True))
    return [as_described(t, by_arn.get(t.get("taskDefinitionArn") or "")) for t in tasks]


async def describe(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    if not request["tasks"]:
        raise errors.invalid_parameter("Tasks cannot be empty.")
    found, failures = wire.described(
        request["tasks"],
        await _known(caller, cluster, request["tasks"]),
        lambda task: caller.arn(f"task/{cluster}/{task}"),
    )
    tasks = [_with_tags(f, request.get("include")) for f in found]
    return {"tasks": await _as_described(caller, tasks), "failures": failures}


async def _known(caller: Caller, cluster: str, wanted: list[str]) -> dict[str, Found]:
    """The cluster's tasks by id, as far as finding ``wanted`` (ids or ARNs) needs: standalone
    tasks first, as a RunTask's waiter (tasks-stopped) and a pipeline's StopTask ask about
    those alone; the services' pods and their Services are read only when one of ``wanted``
    is not among them."""
    standalone = await standalone_tasks(caller, cluster)
    known = {f.id: f for f in standalone}
    if any(short_name(task) not in known for task in wanted):
        known = {f.id: f for f in await tasks_in(caller, cluster, standalone=standalone)}
    return known


async def list_cluster_tasks(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    if request.get("containerInstance"):
        raise errors.invalid_parameter("containerInstance: there are no container instances.")
    read_services = request.get("desiredStatus") == "STOPPED" or bool(request.get("startedBy"))
    shown = [f.shown for f in await tasks_in(caller, cluster, read_services)]
    if request.get("startedBy"):
        shown = [t for t in shown if t.get("startedBy") == request["startedBy"]]
    if request.get("launchType"):
        shown = [t for t in shown if t.get("launchType") == request["launchType"]]
    arns = list_tasks(
        shown,
        service=request.get("serviceName"),
        family=request.get("family"),
        desired_status=request.get("desiredStatus") or "RUNNING",
    )["taskArns"]
    filters = [cluster, *(request.get(k) for k in sorted(request) if k not in ("nextToken",))]
    chosen, token = wire.page(arns, request.get("nextToken"), request.get("maxResults"), filters)
    return {"taskArns": chosen, **({"nextToken": token} if token else {})}


async def stop(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    found = (await _known(caller, cluster, [request["task"]])).get(short_name(request["task"]))
    if found is None:
        raise errors.invalid_parameter("The referenced task was not found.")
    if found.gone or found.shown.get("lastStatus") == "STOPPED":
        # stopped already: ECS answers with the task as it is, and why it stopped stands
        [task] = await _as_described(caller, [_with_tags(found, ["TAGS"])])
        return {"task": task}
    name = found.source["metadata"]["name"]
    reason = request.get("reason") or STOP_REASONS[USER_INITIATED]
    if found.standalone and _one_of_several(found):  # ECS stops each task alone
        asked = {**stopped_alone(found.source), found.pod: request.get("reason") or ""}
        text = json.dumps(asked, sort_keys=True, separators=(",", ":"))
        await caller.patch(
            ECS_TASK,
            name,
            {
                "metadata": {
                    "resourceVersion": found.source["metadata"]["resourceVersion"],
                    "annotations": {ANNOTATION_STOPPED_TASKS: text},
                }
            },
        )
    elif found.standalone:  # the Task's one task: StopTask is the Task's desiredStatus
        patch: Body = {"spec": {"desiredStatus": "STOPPED"}}
        if request.get("reason"):
            patch["metadata"] = {"annotations": {ANNOTATION_STOP_REASON: request["reason"]}}
        await caller.patch(ECS_TASK, name, patch)
    else:  # a service's task: its Deployment starts another, as ECS's scheduler does
        await _note_stop(caller, name, request.get("reason") or "")
        await caller.delete(POD, name)
    stopping = {"desiredStatus": "STOPPED", "stopCode": USER_INITIATED, "stoppedReason": reason}
    [task] = await _as_described(caller, [{**_with_tags(found, ["TAGS"]), **stopping}])
    return {"task": task}


def _one_of_several(found: Found) -> bool:
    """Whether the task is one of several its Task started (a RunTask ``count`` above one)."""
    return len((found.source.get("status") or {}).get("tasks") or []) > 1


async def _note_stop(caller: Caller, pod: str, reason: str) -> None:
    """Write the stop's reason on a service task's pod before it is deleted: its stopped task
    then reads ``UserInitiated`` with that reason, as ECS records it, where a pod's deletion
    alone does not say who asked for it. A key whose account may delete pods but not patch
    them (the role documented before this) still stops the task, whose record then reads as
    its scheduler's. A pod gone meanwhile is the delete's to find gone."""
    patch = {"metadata": {"annotations": {ANNOTATION_STOP_REASON: reason}}}
    try:
        await caller.patch(POD, pod, patch)
    except Conflict:  # deleted meanwhile
        pass
    except errors.EcsApiError as error:
        if error.code != errors.ACCESS_DENIED:
            raise
