"""TaskDefinition: a family of immutable revisions.

Each change of the spec registers a new revision, stored as an ``apps/v1`` ControllerRevision
owned by the TaskDefinition (immutable, like ECS's). The annotation
``ecs-operator.dev/deregistered-revisions: "1,3"`` deregisters revisions (INACTIVE: no new use,
running users unaffected). While a Service or Task still uses the family, deletion is held by
a finalizer and an Event names the users. A revision's name already held by a
ControllerRevision the TaskDefinition did not create is a ``NameConflict``: left alone, and the
revision waits for the name.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.parse import parse_task_definition
from ecs_operator.kube.apply import NameConflict, desired_hash
from ecs_operator.kube.owners import child_of, controlled_by
from ecs_operator.kube.resources import CONTROLLER_REVISION, TASK_DEFINITION
from ecs_operator.render import keys
from ecs_operator.status import taskdefinition as td_status
from ecs_operator.status.conditions import merge, override

from . import references
from .common import report_conflicts, report_invalid, set_finalizer, write_status
from .context import Context
from .indexes import spec_member, task_definition_spec
from .queue import CONFLICT, OK, Outcome, Result
from .references import revision_name

SPEC_HASH = "ecs-operator.dev/spec-hash"


def controller_revision(
    body: dict[str, Any], spec: dict[str, Any], number: int, digest: str
) -> dict[str, Any]:
    """Revision ``number`` of the TaskDefinition ``body``, recording ``spec`` (its hash
    ``digest``). ``ecs-operator api`` registers with it too, so that RegisterTaskDefinition
    answers with its revision at once."""
    family = spec["family"]
    child = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": revision_name(body["metadata"]["name"], number),
            "labels": {
                keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY,
                keys.LABEL_REVISION: str(number),
            },
            "annotations": {SPEC_HASH: digest, keys.ANNOTATION_FAMILY: family},
        },
        "revision": number,
        "data": {"spec": spec},
    }
    return child_of(child, body)


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    body = ctx.store.get(TASK_DEFINITION, namespace, name)
    if body is None:
        return OK
    if body["metadata"].get("deletionTimestamp"):
        return await _release(ctx, body)
    try:
        spec = parse_task_definition(task_definition_spec(body)).to_ecs()
    except EcsValidationError as error:
        body = await set_finalizer(ctx, TASK_DEFINITION, body, True)
        await report_invalid(ctx, TASK_DEFINITION, body, error)
        return Outcome(Result.INVALID)
    revisions = ctx.store.owned(CONTROLLER_REVISION, body["metadata"]["uid"])
    digest = desired_hash(spec)
    latest = max(revisions, key=lambda r: int(r["revision"]), default=None)
    conflicts: list[NameConflict] = []
    if latest is None or (latest["metadata"].get("annotations") or {}).get(SPEC_HASH) != digest:
        number = int(latest["revision"]) + 1 if latest else 1
        # the revision and the finalizer are independent writes: one round trip for both
        revision = controller_revision(body, spec, number, digest)
        finalized, created = await asyncio.gather(
            set_finalizer(ctx, TASK_DEFINITION, body, True), _register(ctx, revision, body)
        )
        body = finalized
        if isinstance(created, NameConflict):
            conflicts.append(created)
    else:
        body = await set_finalizer(ctx, TASK_DEFINITION, body, True)
    # Users resolve revisions from the store, so they can go on before the status is written;
    # they need waking only when the revisions changed (registered or deregistered), not at
    # each of the family's own events.
    entries = references.family_revisions(ctx.store, body)
    if entries != (body.get("status") or {}).get("revisions"):
        for user in references.users_of_family(ctx.store, namespace, spec["family"]):
            ctx.queue.add(user)
    status = td_status.task_definition_status(
        spec["family"],
        entries,
        body.get("status") or {},
        body["metadata"].get("generation"),
        account=ctx.settings.account_id,
    )
    if conflicts:
        conditions = override(status["conditions"], report_conflicts(ctx, body, conflicts))
        before = (body.get("status") or {}).get("conditions")
        status["conditions"] = merge(before, conditions, body["metadata"].get("generation"))
    await write_status(ctx, TASK_DEFINITION, body, status)
    return CONFLICT if conflicts else OK


async def _register(
    ctx: Context, revision: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any] | NameConflict:
    """Create the revision's ControllerRevision: the one created, the TaskDefinition's own that
    already had the name, or the conflict with another one that has it."""
    uid = body["metadata"]["uid"]
    try:
        return await ctx.writer.claim_name(revision, lambda found: controlled_by(found, uid))
    except NameConflict as conflict:
        return conflict


async def _release(ctx: Context, body: dict[str, Any]) -> Outcome:
    """Hold deletion while the family is in use; let it go once nobody uses it."""
    family = spec_member(body, "family") or ""
    users = [
        f"{kind} {name}"
        for kind, _, name in references.users_of_family(
            ctx.store, body["metadata"]["namespace"], family, live_only=True
        )
    ]
    if users:
        ctx.events.record(
            body,
            "DeletionBlocked",
            f"task definition family {family} is still used by {', '.join(sorted(users))}; "
            "deletion waits until they are gone",
            warning=True,
        )
        return Outcome(Result.WAITING, retry=True, after=ctx.timers.deletion_hold_retry)
    await set_finalizer(ctx, TASK_DEFINITION, body, False)
    return OK
