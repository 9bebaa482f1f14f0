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

from ecs_operator.api.errors import EcsValidationError, Violation
from ecs_operator.api.parse import parse_task_definition
from ecs_operator.kube.apply import NameConflict
from ecs_operator.kube.owners import child_of, controlled_by
from ecs_operator.kube.resources import TASK_DEFINITION
from ecs_operator.plan.taskdefinition import (
    RecordedRevision,
    TaskDefinitionContext,
    plan_taskdefinition,
)
from ecs_operator.status import taskdefinition as td_status
from ecs_operator.status.conditions import merge, override

from . import references
from .common import report_invalid, report_unwritten, set_finalizer, write_status
from .context import Context
from .indexes import FAMILY, spec_member, task_definition_spec
from .queue import CONFLICT, OK, Key, Kind, Outcome, Result


async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
    body = ctx.store.get(TASK_DEFINITION, namespace, name)
    if body is None:
        return OK
    if body["metadata"].get("deletionTimestamp"):
        return await _release(ctx, body)
    try:
        spec = parse_task_definition(task_definition_spec(body))
    except EcsValidationError as error:
        body = await set_finalizer(ctx, TASK_DEFINITION, body, True)
        await report_invalid(ctx, TASK_DEFINITION, body, error)
        return Outcome(Result.INVALID)
    uid = body["metadata"]["uid"]
    holder = references.task_definition_named(ctx.store, namespace, spec.family)
    if holder is not None and holder["metadata"]["uid"] != uid:
        body = await set_finalizer(ctx, TASK_DEFINITION, body, True)
        await report_invalid(ctx, TASK_DEFINITION, body, _family_held(spec.family, holder))
        return Outcome(Result.INVALID)
    newest = references.recorded(ctx.store, body, references.newest_recorded(ctx.store, body))
    latest = RecordedRevision.of(newest) if newest is not None else None
    generation = int(body["metadata"].get("generation") or 1)
    context = TaskDefinitionContext(
        name, uid, generation, latest, account_id=ctx.settings.account_id
    )
    plan = plan_taskdefinition(spec, context)
    conflicts: list[NameConflict] = []
    if plan.revision is not None:
        # the revision and the finalizer are independent writes: one round trip for both
        finalized, created = await asyncio.gather(
            set_finalizer(ctx, TASK_DEFINITION, body, True),
            _register(ctx, child_of(plan.revision, body), body),
        )
        body = finalized
        if isinstance(created, NameConflict):
            conflicts.append(created)
    else:
        body = await set_finalizer(ctx, TASK_DEFINITION, body, True)
    family = plan.status_inputs.family
    previous = body.get("status") or {}
    status = td_status.task_definition_status(
        family,
        references.newest_revisions(ctx.store, body, td_status.STATUS_REVISIONS),
        previous,
        body["metadata"].get("generation"),
        account=plan.status_inputs.account_id,
    )
    # Users resolve revisions from the store, so they can go on before the status is written;
    # they need waking only when the revisions changed (registered or deregistered), not at
    # each of the family's own events. The status lists the newest revisions: a change to an
    # older one concerns only the users pinned to it, which run it on (ECS's INACTIVE rule).
    if status.get("revisions") != previous.get("revisions"):
        for user in references.users_of_family(ctx.store, namespace, family):
            ctx.queue.add(user)
    if conflicts:
        conditions = override(status["conditions"], report_unwritten(ctx, body, conflicts))
        before = (body.get("status") or {}).get("conditions")
        status["conditions"] = merge(before, conditions, body["metadata"].get("generation"))
    await write_status(ctx, TASK_DEFINITION, body, status)
    return CONFLICT if conflicts else OK


def _family_held(family: str, holder: dict[str, Any]) -> EcsValidationError:
    """A family is one TaskDefinition object (the oldest, if several claim it): its spec's
    changes are the family's revisions. Another object of the same family would register a
    second revision 1 that no reference could ever mean."""
    name = holder["metadata"]["name"]
    return EcsValidationError(
        [
            Violation(
                "family",
                f"family {family} is TaskDefinition {name}'s in this namespace: a family's "
                f"revisions are the changes of one object's spec, so change {name}, or give "
                "this one a family of its own",
            )
        ]
    )


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
    """Hold deletion while the family is in use; let it go once nobody uses it. Another
    TaskDefinition that claims the family (refused while this one held it) is woken: the
    family's references resolve to it from now on. (Not one being deleted too: two would wake
    each other for as long as the store holds them, a loop that never yields.)"""
    family = spec_member(body, "family") or ""
    namespace = body["metadata"]["namespace"]
    for other in ctx.store.indexed(TASK_DEFINITION, FAMILY, namespace, family):
        metadata = other["metadata"]
        if metadata["uid"] != body["metadata"]["uid"] and not metadata.get("deletionTimestamp"):
            ctx.queue.add(Key(Kind.TASK_DEFINITION, namespace, metadata["name"]))
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
