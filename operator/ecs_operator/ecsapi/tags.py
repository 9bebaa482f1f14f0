"""TagResource, UntagResource, ListTagsForResource on clusters, services, task definitions
and standalone tasks.

A resource's tags are its spec's ``tags`` (what CreateCluster, CreateService,
RegisterTaskDefinition or RunTask sent) until a tag call changes them; from then on they live in
the annotation ``ecs-operator.dev/tags`` (a JSON list), so tagging never changes a spec: no new
task definition revision, no rollout. A task definition's tags are its family's (ECS tags each
revision).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.rules.tags import tag_violations
from ecs_operator.api.shapes import Tag
from ecs_operator.kube.client import Resource
from ecs_operator.kube.resources import ECS_CLUSTER, ECS_SERVICE, ECS_TASK, TASK_DEFINITION
from ecs_operator.status.service import deleted

from . import clusters, errors, services, taskdefinitions, tasks
from .caller import Caller
from .wire import TAGS, tags_member, tags_of
from .wording import refusal

Body = dict[str, Any]
_ARN = re.compile(
    r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:"
    r"(?P<kind>cluster|service|task-definition|task)/(?P<path>[^\s]+)$"
)


async def _tagged(caller: Caller, arn: str) -> tuple[Resource, Body]:
    """The object behind a resource ARN, or the error ECS gives for that kind of resource."""
    match = _ARN.match(arn)
    if match is None:
        raise errors.invalid_parameter("The ARN provided is invalid.")
    kind, path = match["kind"], match["path"].split("/")
    if kind == "cluster":
        body = clusters.named(await caller.list(ECS_CLUSTER), path[-1])
        if body is None:
            raise errors.cluster_not_found()
        return ECS_CLUSTER, body
    if kind == "service":
        cluster, name = path[0] if len(path) > 1 else "default", path[-1]
        service = (await services.services_in(caller, cluster, name)).get(name)
        if service is None or deleted(service):
            raise errors.service_not_found()
        return ECS_SERVICE, service
    if kind == "task-definition":
        family, _ = await taskdefinitions.resolve(caller, path[-1])
        return TASK_DEFINITION, family.body
    cluster = path[0] if len(path) > 1 else "default"
    task = next((t for t in await tasks.tasks_in(caller, cluster) if t.id == path[-1]), None)
    if task is None or not task.standalone:
        raise errors.invalid_parameter("The specified task is not found or cannot be tagged.")
    return ECS_TASK, task.source


async def _write(caller: Caller, resource: Resource, body: Body, tags: list[Body]) -> None:
    patch = {
        "metadata": {
            "resourceVersion": body["metadata"]["resourceVersion"],
            "annotations": {TAGS: json.dumps(tags, separators=(",", ":"))},
        }
    }
    await caller.patch(resource, body["metadata"]["name"], patch)


async def tag(caller: Caller, request: Body) -> Body:
    violations = tag_violations([Tag.model_validate(t) for t in request["tags"]])
    if violations:
        raise refusal(EcsValidationError(violations, "TagResource"), request, "TagResource")
    resource, body = await _tagged(caller, request["resourceArn"])
    added = {t["key"]: t for t in request["tags"]}
    kept = [t for t in tags_of(body) if t["key"] not in added]
    await _write(caller, resource, body, [*kept, *added.values()])
    return {}


async def untag(caller: Caller, request: Body) -> Body:
    resource, body = await _tagged(caller, request["resourceArn"])
    gone = set(request["tagKeys"])
    await _write(caller, resource, body, [t for t in tags_of(body) if t["key"] not in gone])
    return {}


async def list_tags(caller: Caller, request: Body) -> Body:
    """A resource never tagged has no ``tags`` member; once a tag call changed its tags, the
    list is there even when empty (as moto records ECS: after UntagResource of the last tag)."""
    _, body = await _tagged(caller, request["resourceArn"])
    if TAGS in (body["metadata"].get("annotations") or {}):
        return {"tags": tags_of(body)}
    return tags_member(body)
