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
from ecs_operator.render import keys
from ecs_operator.render.names import dns_label, json_digest
from ecs_operator.status.revision_set import RevisionSet
from ecs_operator.status.taskdefinition import DEREGISTERED, marked_revisions

from . import errors, families, idempotency, wire
from .caller import Caller, Conflict
from .wording import refusal

Body = dict[str, Any]
#: attempts at recording a revision while other registrations of the family race ours
ATTEMPTS = 5
#: ECS's refusal when they keep winning (clients such as Terraform retry it)
TOO_MANY_REGISTRATIONS = (
    "Too many concurrent attempts to create a new revision of the specified family."
)


def family_race() -> Conflict:
    """Registrations of one family racing this one: the server runs it again, and a client
    whose every attempt lost gets ECS's own refusal."""
    return Conflict(TOO_MANY_REGISTRATIONS, "ClientException")


#: how long a registration waits for the garbage collector to remove the revisions of a
#: TaskDefinition deleted under the same name (they hold the names of the new one's)
STALE_REVISIONS_S = 15.0
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


def replacement(old: Any, new: Any) -> Any:
    """A merge patch that turns ``old`` into ``new`` (members ``new`` lacks are removed)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    patch = {k: None for k in old if k not in new}
    patch.update({k: replacement(old.get(k), v) for k, v in new.items()})
    return patch


def parsed(reference: str) -> TaskDefinitionRef:
    """A task definition reference, or ECS's ClientException (ECS words a bad revision so)."""
    try:
        return TaskDefinitionRef.parse(reference)
    except InvalidTaskDefinitionRef as error:
        if ":" in reference and not reference.startswith("arn:"):
            number = reference.rsplit(":", 1)[1]
            raise errors.client_error(f"Invalid revision number. Number: {number}") from None
        raise errors.client_error(str(error)) from None


async def resolve(caller: Caller, reference: str) -> tuple[families.Family, int]:
    """The family and revision a reference means (latest ACTIVE for a bare family), or ECS's
    ClientException."""
    ref = parsed(reference)
    found = await families.family(caller, ref.family)
    revision = ref.revision
    if found is not None and revision is None:
        revision = await found.latest_active()
    if found is None or revision is None or await found.stored(revision) is None:
        raise errors.client_error("Unable to describe task definition.")
    return found, revision


async def resolve_for_use(caller: Caller, reference: str) -> tuple[families.Family, int]:
    """:func:`resolve`, refusing a revision that is not ACTIVE, as ECS does: "You can't use an
    INACTIVE task definition to run new tasks or create new services, and you can't update an
    existing service to reference an INACTIVE task definition" (DeregisterTaskDefinition)."""
    found, revision = await resolve(caller, reference)
    if found.status_of(revision) != "ACTIVE":
        raise errors.client_error("TaskDefinition is inactive")
    return found, revision


def _annotation(revision: Body, key: str) -> str | None:
    return (revision["metadata"].get("annotations") or {}).get(key)


async def record_revision(family: families.Family, spec: Body, after: int | None) -> int:
    """Record ``spec`` as the family's next revision; its number. ``after``: the latest
    revision before this call changed the spec (None: it did not), so that a revision the
    operator recorded for the change meanwhile is the answer, not a reason for one more. So is
    the revision this call created when its answer was lost and the create retried (the
    client retries on a dropped connection or a busy server): each call marks its own."""
    digest, mark = json_digest(spec), idempotency.call_mark(spec)
    body, uid = family.body, family.uid
    number = (after if after is not None else await family.latest()) + 1
    attempts, deadline = 0, time.monotonic() + STALE_REVISIONS_S
    while attempts < ATTEMPTS:
        revision = controller_revision(
            body["metadata"]["name"], uid, spec, number, digest, body["metadata"]["generation"]
        )
        revision["metadata"] = idempotency.marked(revision["metadata"], mark)
        live, created = await family.caller.create_or_get(
            CONTROLLER_REVISION, child_of(revision, body)
        )
        ours = controlled_by(live, uid) and (
            idempotency.made_by(live, mark)
            or (_annotation(live, keys.ANNOTATION_SPEC_HASH) == digest and after is not None)
        )
        if created or ours:
            family.remember(live)
            return number
        if controlled_by(live, uid):
            attempts += 1  # another registration of this family took the number: the next
            number += 1
        elif time.monotonic() < deadline:
            # the revision of a TaskDefinition deleted under the same name, which the garbage
            # collector removes soon (a family deleted and registered again at once)
            await asyncio.sleep(0.5)
        else:
            raise errors.client_error(
                f"{spec['family']}: the ControllerRevision {live['metadata']['name']} that "
                f"would record revision {number} belongs to another object"
            )
    raise family_race()


async def register(caller: Caller, request: Body) -> Body:
    try:
        spec = parse_task_definition(request).to_ecs()
    except EcsValidationError as error:
        raise refusal(error, request) from None
    body = await families.owner_of(caller, spec["family"])
    after: int | None = None
    # the registering key's account completes a role given by name, as ECS completes it
    account = {keys.ANNOTATION_ACCOUNT: caller.credential.account}
    if body is None:
        metadata = {"name": dns_label(spec["family"]), "annotations": account}
        body, created = await caller.create_or_get(
            TASK_DEFINITION, {"metadata": metadata, "spec": spec}
        )
        if not created and families.family_of(body) == spec["family"]:
            raise family_race()  # its first registration, racing this one: run it again
        if not created:
            raise errors.client_error(
                f"family {spec['family']}: the TaskDefinition name {body['metadata']['name']} "
                "is taken by another family"
            )
        found, after = families.Family(caller, body), 0
    else:
        found = families.Family(caller, body)
        if body.get("spec") != spec:
            after = await found.latest()
            patch = {
                "metadata": {
                    "resourceVersion": body["metadata"]["resourceVersion"],
                    "annotations": account,
                },
                "spec": replacement(body.get("spec"), spec),
            }
            try:
                patched = await caller.patch(TASK_DEFINITION, found.body["metadata"]["name"], patch)
            except Conflict:  # another registration (or the operator) wrote it first
                raise family_race() from None
            found = found.with_body(patched)
    number = await record_revision(found, spec, after)
    return await found.describe(number)


async def describe(caller: Caller, request: Body) -> Body:
    found, revision = await resolve(caller, request["taskDefinition"])
    answer = await found.describe(revision)
    if "TAGS" not in (request.get("include") or ()):
        answer.pop("tags", None)
    return answer


async def deregister(caller: Caller, request: Body) -> Body:
    reference = request["taskDefinition"]
    ref = parsed(reference)
    if ref.revision is None:
        raise errors.client_error("Revision is missing.")
    found, revision = await resolve(caller, reference)
    after = await _mark(found, DEREGISTERED, revision)
    return {"taskDefinition": (await after.describe(revision))["taskDefinition"]}


async def _mark(found: families.Family, annotation: str, revision: int) -> families.Family:
    """The family once ``revision`` is added to the revision list ``annotation``."""
    numbers = marked_revisions(found.body, annotation) | RevisionSet.of([revision])
    patch = {
        "metadata": {
            "resourceVersion": found.body["metadata"]["resourceVersion"],
            "annotations": {annotation: str(numbers)},
        }
    }
    body = await found.caller.patch(TASK_DEFINITION, found.body["metadata"]["name"], patch)
    return found.with_body(body)


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
        found = await families.family(caller, ref.family)
        entry = await found.entry(ref.revision) if found else None
        if found is None or entry is None or entry["status"] == "DELETE_IN_PROGRESS":
            failures.append({"arn": reference, "reason": FAILURE_MISSING})
            continue
        if entry["status"] == "ACTIVE":
            failures.append({"arn": reference, "reason": FAILURE_ACTIVE})
            continue
        after = await _mark(found, families.DELETED_REVISIONS, ref.revision)
        deleted.append((await after.describe(ref.revision))["taskDefinition"])
    return {"taskDefinitions": deleted, "failures": failures}


def _status_filter(request: Body, default: str) -> str:
    return str(request.get("status") or default)


async def list_definitions(caller: Caller, request: Body) -> Body:
    prefix, status = request.get("familyPrefix") or "", _status_filter(request, "ACTIVE")
    keys: dict[str, str] = {}
    if prefix:  # ECS: "the full family name", despite its name: one family's revisions
        named = await families.family(caller, prefix)
        listed = [named] if named is not None else []
    else:
        listed = await families.every_family(caller)
    for found in listed:
        for entry in await found.entries():
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
    # ECS: "By default, both ACTIVE and INACTIVE task definition families are listed"
    prefix, status = request.get("familyPrefix") or "", _status_filter(request, "ALL")
    names = set()
    for found in await families.every_family(caller):
        states = {e["status"] for e in await found.entries()}
        if not found.name.startswith(prefix) or not states:
            continue
        if status == "ALL" or (status == "ACTIVE") == ("ACTIVE" in states):
            names.add(found.name)
    chosen, token = wire.page(
        list(names), request.get("nextToken"), request.get("maxResults"), [prefix, status]
    )
    return {"families": chosen, **({"nextToken": token} if token else {})}
