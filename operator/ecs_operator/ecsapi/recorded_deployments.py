"""The new deployment an UpdateService (or a CreateService) records on its Service, in the
annotation ``ecs-operator.dev/api-deployment``, and how the API shows it until the operator
runs it (``services.py`` says why clients need it at once).

A new task definition's deployment takes the id the operator will give it
(``rollout.deployment_id``); a forced one (``forceNewDeployment``) records its ``restart``
value too, and stays the API's own until no pod of the service runs another value.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from ecs_operator.plan.service import CAPACITY_MEMBERS
from ecs_operator.plugin.actions import force_new_deployment_patch
from ecs_operator.plugin.views import picked, service_name
from ecs_operator.render import keys
from ecs_operator.render.names import label_value
from ecs_operator.status.rollout import deployment_id

from .caller import Caller

Body = dict[str, Any]
#: the annotation that holds the recorded deployment (JSON)
DEPLOYMENT = "ecs-operator.dev/api-deployment"


def annotations_of(body: Body) -> dict[str, str]:
    return body["metadata"].get("annotations") or {}


def restart_id(service: str, target: str, at: str) -> str:
    """A forced deployment's id, ``ecs-svc/`` and 19 digits from the service, its target and
    the time: the operator keeps its deployment through a forced restart, so only the API
    names this one."""
    digits = int(hashlib.sha256(f"{service}/{target}/{at}".encode()).hexdigest(), 16) % 10**19
    return f"ecs-svc/{digits:019d}"


def recorded_id(body: Body, recorded: Body) -> str:
    """The recorded deployment's id: a forced one's own, else the id the operator gives the
    deployment of that task definition (``rollout.deployment_id``: the Service's uid, the task
    definition, the id of the deployment it replaces), so both name it alike."""
    if "id" in recorded:
        return str(recorded["id"])
    uid = body["metadata"]["uid"]
    return deployment_id(uid, recorded["taskDefinition"], recorded.get("replaces", ""))


def recorded_deployment(body: Body) -> Body | None:
    """The deployment an UpdateService recorded (``pending``); None when there is none, or
    when what the annotation holds is not one (a tenant may write it with kubectl)."""
    try:
        recorded = json.loads(annotations_of(body).get(DEPLOYMENT) or "null")
    except ValueError:
        return None
    if not isinstance(recorded, dict):
        return None
    members = [recorded.get(k) for k in ("taskDefinition", "at")] + [
        recorded.get(k, "") for k in ("replaces", "restart", "id")
    ]
    return recorded if all(isinstance(m, str) for m in members) else None


def pending(
    caller: Caller, name: str, target: str, replaces: str, restart: bool = False
) -> dict[str, str]:
    """The annotations that record a new deployment of ``target`` (``family:revision``); with
    ``restart``, the fresh force-new-deployment value too, which replaces the tasks."""
    at = datetime.now(UTC).isoformat()
    recorded = {"taskDefinition": target, "at": at, "replaces": replaces}
    annotations = {}
    if restart:
        annotations = force_new_deployment_patch()["metadata"]["annotations"]
        recorded["restart"] = annotations[keys.ANNOTATION_FORCE_NEW_DEPLOYMENT]
        recorded["id"] = restart_id(f"{caller.namespace}/{name}", target, at)
    return {**annotations, DEPLOYMENT: json.dumps(recorded, separators=(",", ":"))}


def restarted(body: Body, pods: list[Body]) -> Body:
    """``body`` as the API shows it once the operator has replaced its tasks for a recorded
    ``restart``: no pod of the service (terminating ones included) runs another value. Then the
    record's restart is dropped (in this copy only) and the operator's deployment goes by the
    recorded id, as after a new task definition."""
    record = recorded_deployment(body)
    if not record or "restart" not in record:
        return body
    label = keys.LABEL_SERVICE
    name = label_value(service_name(body))
    mine = [p for p in pods if (p["metadata"].get("labels") or {}).get(label) == name]
    stamps = {
        (p["metadata"].get("annotations") or {}).get(keys.ANNOTATION_FORCE_NEW_DEPLOYMENT)
        for p in mine
    }
    if stamps - {record["restart"]}:
        return body
    done = {k: v for k, v in record.items() if k != "restart"}
    annotations = {**annotations_of(body), DEPLOYMENT: json.dumps(done, separators=(",", ":"))}
    return {**body, "metadata": {**body["metadata"], "annotations": annotations}}


def with_recorded(caller: Caller, body: Body, shown: Body, recorded: Body | None) -> list[Body]:
    """The deployments ``shown`` (the operator's), with the ``recorded`` new one as PRIMARY
    until the operator runs it."""
    deployments = [
        {**d, "taskDefinition": caller.arns.task_definition(d.get("taskDefinition"))}
        for d in shown.get("deployments") or []
    ]
    running = ((body.get("status") or {}).get("deployments") or [{}])[0].get("taskDefinition")
    if not recorded:
        return deployments
    deployment = recorded_id(body, recorded)
    if running == recorded["taskDefinition"] and "restart" not in recorded:
        # the operator's deployment of the target keeps the id the client was given (the
        # operator's own id for it, unless updates raced it: then the recorded one wins)
        return [{**deployments[0], "id": deployment}, *deployments[1:]]
    primary = {
        **picked(shown, CAPACITY_MEMBERS),
        "id": deployment,
        "status": "PRIMARY",
        "taskDefinition": caller.arns.task_definition(recorded["taskDefinition"]),
        "desiredCount": (body.get("spec") or {}).get("desiredCount", 0),
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": recorded["at"],
        "updatedAt": recorded["at"],
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment} in progress.",
    }
    return [primary, *({**d, "status": "ACTIVE"} for d in deployments[:1])]
