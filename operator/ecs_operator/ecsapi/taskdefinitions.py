"""Task definitions: a family is a TaskDefinition object, a revision one of its
ControllerRevisions (``handlers/taskdefinition.py``).

RegisterTaskDefinition writes the family's spec and records revision N+1 itself, with the
plan's own ``controller_revision`` (plan/taskdefinition.py), so it answers with the revision
at once (the operator, finding the latest revision already records the spec, adds none). As in
ECS, every registration is a new revision, even of an unchanged definition.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.parse import parse_task_definition
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.kube.owners import child_of, controlled_by
from ecs_operator.kube.resources import CONTROLLER_REVISION, TASK_DEFINITION
from ecs_operator.plan.taskdefinition import controller_revision
from ecs_operator.plugin.views import describe_task_definition
from ecs_operator.render import keys
from ecs_operator.render.names import dns_label, json_digest
from ecs_operator.status.taskdefinition import DEREGISTERED, parse_revisions, revision_entries

from . import errors, wire
from .caller import Caller
from .wording import refusal

Body = dict[str, Any]
#: attempts at recording a revision while other registrations of the family race ours
ATTEMPTS = 5
#: how long a registration waits for the garbage collector to remove the revisions of a
#: TaskDefinition deleted under the same name (they hold the names of the new one's)
STALE_REVISIONS_S = 15.0
#: ours: the objects the operator (and this API, for revisions) created
MANAGED = f"{keys.LABEL_APP_MANAGED_BY}={keys.MANAGED_BY}"
#: revisions DeleteTaskDefinitions deleted ("1,3"): DELETE_IN_PROGRESS here; the operator, which
#: keeps them as INACTIVE revisions, never reads this annotation
DELETED_REVISIONS = "ecs-operator.dev/deleted-revisions"
FAILURE_INVALID = (
    "The specified task definition identifier is invalid. Specify a valid name or ARN and try "
    "again."
)
FAILURE_MISSING = (
    "The specified task definition does not exist. Specify a valid account, family, revision "
    "and try again."
)
FAILURE_ACTIVE = (
    "The specified task definition is still in ACTIVE status. Please deregister the target and "
    "try again."
)


#: members ECS answers with when a registration left them out (a container's, a definition's)
CONTAINER_DEFAULTS: Body = {
    "cpu": 0,
    "essential": True,
    "portMappings": [],
    "environment": [],
    "mountPoints": [],
    "volumesFrom": [],
}
DEFINITION_DEFAULTS: Body = {"networkMode": "bridge", "volumes": [], "placementConstraints": []}


def with_ecs_defaults(definition: Body) -> Body:
    """A registered definition as ECS describes it: the defaults it fills in are present
    (``networkMode: bridge``, a container's ``cpu: 0`` and empty lists, an EFS volume's
    ``rootDirectory: /``)."""
    volumes = [
        {**v, "efsVolumeConfiguration": {"rootDirectory": "/", **v["efsVolumeConfiguration"]}}
        if "efsVolumeConfiguration" in v
        else v
        for v in definition.get("volumes") or []
    ]
    containers = [{**CONTAINER_DEFAULTS, **c} for c in definition["containerDefinitions"]]
    return {
        **DEFINITION_DEFAULTS,
        **definition,
        "containerDefinitions": containers,
        "volumes": volumes,
    }


def replacement(old: Any, new: Any) -> Any:
    """A merge patch that turns ``old`` into ``new`` (members ``new`` lacks are removed)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    patch = {k: None for k in old if k not in new}
    patch.update({k: replacement(old.get(k), v) for k, v in new.items()})
    return patch


def _live(bodies: list[Body]) -> list[Body]:
    return [b for b in bodies if not b["metadata"].get("deletionTimestamp")]


def family_of(body: Body) -> str:
    return str((body.get("spec") or {}).get("family") or body["metadata"]["name"])


def owner(bodies: list[Body], family: str) -> Body | None:
    """The TaskDefinition of a family (the oldest, as the operator resolves it)."""
    matches = [b for b in _live(bodies) if family_of(b) == family]
    return min(matches, key=lambda b: b["metadata"].get("creationTimestamp", ""), default=None)


class Family:
    """A TaskDefinition with its ControllerRevisions: what every operation here reads."""

    def __init__(self, body: Body, revisions: list[Body]) -> None:
        uid = body["metadata"]["uid"]
        self.body = body
        self.revisions = {int(r["revision"]): r for r in revisions if controlled_by(r, uid)}
        annotations = body["metadata"].get("annotations") or {}
        deleted = parse_revisions(annotations.get(DELETED_REVISIONS))
        self.entries = [
            {**e, "status": "DELETE_IN_PROGRESS"} if e["revision"] in deleted else e
            for e in revision_entries(
                self.revisions.values(), parse_revisions(annotations.get(DEREGISTERED))
            )
        ]

    @property
    def name(self) -> str:
        return family_of(self.body)

    def entry(self, revision: int) -> Body | None:
        return next((e for e in self.entries if e["revision"] == revision), None)

    def latest_active(self) -> int | None:
        active = [e["revision"] for e in self.entries if e["status"] == "ACTIVE"]
        return max(active, default=None)

    def describe(self, caller: Caller, revision: int) -> Body:
        """``{"taskDefinition": ..., "tags": ...}`` as DescribeTaskDefinition answers."""
        body = {**self.body, "status": {"revisions": self.entries}}
        stored = self.revisions.get(revision)
        answer = describe_task_definition(body, revision, stored, caller.arns)
        answer["taskDefinition"].pop("tags", None)  # a request member, not a definition's
        definition = with_ecs_defaults(answer["taskDefinition"])
        return {"taskDefinition": definition, **wire.tags_member(self.body)}


async def families(caller: Caller) -> list[Family]:
    bodies = _live(await caller.list(TASK_DEFINITION))
    revisions = await caller.list(CONTROLLER_REVISION, MANAGED)
    return [Family(b, revisions) for b in bodies]


async def _owner(caller: Caller, family: str) -> Body | None:
    """The TaskDefinition of ``family``, read by its selectable ``spec.family``."""
    return owner(await caller.list(TASK_DEFINITION, fields={"spec.family": family}), family)


async def family(caller: Caller, name: str) -> Family | None:
    body = await _owner(caller, name)
    if body is None:
        return None
    return Family(body, list((await _revisions(caller, body["metadata"]["uid"])).values()))


def parsed(reference: str) -> TaskDefinitionRef:
    """A task definition reference, or ECS's ClientException (ECS words a bad revision so)."""
    try:
        return TaskDefinitionRef.parse(reference)
    except InvalidTaskDefinitionRef as error:
        if ":" in reference and not reference.startswith("arn:"):
            number = reference.rsplit(":", 1)[1]
            raise errors.client_error(f"Invalid revision number. Number: {number}") from None
        raise errors.client_error(str(error)) from None


async def resolve(caller: Caller, reference: str) -> tuple[Family, int]:
    """The family and revision a reference means (latest ACTIVE for a bare family), or ECS's
    ClientException."""
    ref = parsed(reference)
    found = await family(caller, ref.family)
    revision = ref.revision
    if found is not None and revision is None:
        revision = found.latest_active()
    if found is None or revision is None or found.entry(revision) is None:
        raise errors.client_error("Unable to describe task definition.")
    return found, revision


async def _revisions(caller: Caller, uid: str) -> dict[int, Body]:
    """The ControllerRevisions of the TaskDefinition ``uid``, by number."""
    found = await caller.list(CONTROLLER_REVISION, f"{MANAGED},{keys.LABEL_CONTROLLER_UID}={uid}")
    return {int(r["revision"]): r for r in found if controlled_by(r, uid)}


def _digest_of(revision: Body) -> str | None:
    return (revision["metadata"].get("annotations") or {}).get(keys.ANNOTATION_SPEC_HASH)


async def _record(
    caller: Caller, body: Body, spec: Body, after: int | None
) -> tuple[int, list[Body]]:
    """Record ``spec`` as the family's next revision; its number, and the family's revisions
    (the answer's, without listing them again). ``after``: the latest revision before this
    call changed the spec (None: it did not), so that a revision the operator recorded for the
    change meanwhile is the answer, not a reason for one more."""
    digest = json_digest(spec)
    uid = body["metadata"]["uid"]
    attempts, deadline = 0, time.monotonic() + STALE_REVISIONS_S
    while attempts < ATTEMPTS:
        existing = await _revisions(caller, uid)
        if after is not None:
            theirs = [n for n, r in existing.items() if n > after and _digest_of(r) == digest]
            if theirs:
                return min(theirs), list(existing.values())
        number = max(existing, default=0) + 1
        revision = controller_revision(body["metadata"]["name"], uid, spec, number, digest)
        live, created = await caller.create_or_get(CONTROLLER_REVISION, child_of(revision, body))
        if created or (
            controlled_by(live, uid) and _digest_of(live) == digest and after is not None
        ):
            return number, [*existing.values(), live]
        if controlled_by(live, uid):
            attempts += 1  # another registration of this family took the number: the next
        elif time.monotonic() < deadline:
            # the revision of a TaskDefinition deleted under the same name, which the garbage
            # collector removes soon (a family deleted and registered again at once)
            await asyncio.sleep(0.5)
        else:
            raise errors.client_error(
                f"{spec['family']}: the ControllerRevision {live['metadata']['name']} that "
                f"would record revision {number} belongs to another object"
            )
    raise errors.EcsApiError(
        "UpdateInProgressException", f"{spec['family']}: too many registrations at once"
    )


async def register(caller: Caller, request: Body) -> Body:
    try:
        spec = parse_task_definition(request).to_ecs()
    except EcsValidationError as error:
        raise refusal(error, request) from None
    body = await _owner(caller, spec["family"])
    after: int | None = None
    if body is None:
        body, created = await caller.create_or_get(
            TASK_DEFINITION, {"metadata": {"name": dns_label(spec["family"])}, "spec": spec}
        )
        if not created:
            raise errors.client_error(
                f"family {spec['family']}: the TaskDefinition name {body['metadata']['name']} "
                "is taken by another family"
            )
        after = 0
    elif body.get("spec") != spec:
        after = max(await _revisions(caller, body["metadata"]["uid"]), default=0)
        patch = {
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
            "spec": replacement(body.get("spec"), spec),
        }
        body = await caller.patch(TASK_DEFINITION, body["metadata"]["name"], patch)
    number, revisions = await _record(caller, body, spec, after)
    return Family(body, revisions).describe(caller, number)


async def describe(caller: Caller, request: Body) -> Body:
    found, revision = await resolve(caller, request["taskDefinition"])
    answer = found.describe(caller, revision)
    if "TAGS" not in (request.get("include") or ()):
        answer.pop("tags", None)
    return answer


async def deregister(caller: Caller, request: Body) -> Body:
    reference = request["taskDefinition"]
    ref = parsed(reference)
    if ref.revision is None:
        raise errors.client_error("Revision is missing.")
    found, revision = await resolve(caller, reference)
    after = await _marked(caller, found, DEREGISTERED, revision)
    return {"taskDefinition": after.describe(caller, revision)["taskDefinition"]}


async def _marked(caller: Caller, found: Family, annotation: str, revision: int) -> Family:
    """The family once ``revision`` is added to the revision list ``annotation``."""
    annotations = found.body["metadata"].get("annotations") or {}
    numbers = parse_revisions(annotations.get(annotation)) | {revision}
    patch = {
        "metadata": {
            "resourceVersion": found.body["metadata"]["resourceVersion"],
            "annotations": {annotation: ",".join(str(n) for n in sorted(numbers))},
        }
    }
    body = await caller.patch(TASK_DEFINITION, found.body["metadata"]["name"], patch)
    return Family(body, list(found.revisions.values()))


async def delete_definitions(caller: Caller, request: Body) -> Body:
    """DeleteTaskDefinitions: INACTIVE revisions become DELETE_IN_PROGRESS (kept as the
    operator's INACTIVE revisions: a deviation, docs/ecs-api.md)."""
    deleted, failures = [], []
    for reference in request["taskDefinitions"]:
        try:
            ref = TaskDefinitionRef.parse(reference)
        except InvalidTaskDefinitionRef:
            ref = None
        if ref is None or ref.revision is None:
            failures.append({"arn": reference, "reason": FAILURE_INVALID})
            continue
        found = await family(caller, ref.family)
        entry = found.entry(ref.revision) if found else None
        if found is None or entry is None or entry["status"] == "DELETE_IN_PROGRESS":
            failures.append({"arn": reference, "reason": FAILURE_MISSING})
            continue
        if entry["status"] == "ACTIVE":
            failures.append({"arn": reference, "reason": FAILURE_ACTIVE})
            continue
        after = await _marked(caller, found, DELETED_REVISIONS, ref.revision)
        deleted.append(after.describe(caller, ref.revision)["taskDefinition"])
    return {"taskDefinitions": deleted, "failures": failures}


def _status_filter(request: Body) -> str:
    return str(request.get("status") or "ACTIVE")


async def list_definitions(caller: Caller, request: Body) -> Body:
    prefix, status = request.get("familyPrefix") or "", _status_filter(request)
    keys: dict[str, str] = {}
    if prefix:  # ECS: "the full family name", despite its name: one family's revisions
        named = await family(caller, prefix)
        listed = [named] if named is not None else []
    else:
        listed = await families(caller)
    for found in listed:
        for entry in found.entries:
            if status == "ALL" or entry["status"] == status:
                keys[f"{found.name}:{entry['revision']:010d}"] = caller.arn(
                    f"task-definition/{found.name}:{entry['revision']}"
                )
    # DESC reverses the whole order (family, then revision) before paging: its first page is
    # the newest revisions, which deploy scripts read with --sort DESC --max-results 1
    chosen, token = wire.page(
        list(keys),
        request.get("nextToken"),
        request.get("maxResults"),
        [prefix, status, request.get("sort")],
        descending=request.get("sort") == "DESC",
    )
    arns = [keys[k] for k in chosen]
    return {"taskDefinitionArns": arns, **({"nextToken": token} if token else {})}


async def list_families(caller: Caller, request: Body) -> Body:
    prefix, status = request.get("familyPrefix") or "", _status_filter(request)
    names = set()
    for found in await families(caller):
        states = {e["status"] for e in found.entries}
        if not found.name.startswith(prefix) or not states:
            continue
        if status == "ALL" or (status == "ACTIVE") == ("ACTIVE" in states):
            names.add(found.name)
    chosen, token = wire.page(
        list(names), request.get("nextToken"), request.get("maxResults"), [prefix, status]
    )
    return {"families": chosen, **({"nextToken": token} if token else {})}
