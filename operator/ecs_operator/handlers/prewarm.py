"""The store filled before the first reconcile, and checked once the watches have caught up.

``prewarm`` LISTs everything at startup, so that a restart of a converged operator finds every
child where it is and writes nothing. kopf's watches start after it, each with a LIST of its
own, and report the deletion of what they listed only: an object deleted between the two
LISTs (a namespace being deleted as the operator restarts) would stay in the store for good.
Seen: a TaskDefinition held by the in-use finalizer for a Task that was gone, its namespace
stuck terminating until the next restart. So what prewarm puts is unconfirmed until an event
or a write confirms it; every live object is confirmed within moments, kopf's LIST reporting
each one; ``confirm`` looks up what is left and forgets what is gone. The same check follows the
watches' later listings (handlers/relists.py).
"""

from __future__ import annotations

import logging

from ecs_operator.kube.client import ApiError, Resource
from ecs_operator.kube.resources import NAMESPACE, NODE, SERVICE_ACCOUNT
from ecs_operator.render.keys import LABEL_APP_MANAGED_BY, MANAGED_BY

from .context import Context
from .queue import OK, Key, Kind, Outcome
from .watch import CHILDREN, CONFIRM, ECS_KINDS, UNLABELLED, owner_keys

log = logging.getLogger(__name__)


async def prewarm(ctx: Context, namespaces: list[str]) -> None:
    """Fill the store with a LIST of everything, and check it after the watches caught up."""
    scopes: list[str | None] = list(namespaces) or [None]
    for resource in (*ECS_KINDS, *CHILDREN):
        labelled = resource in CHILDREN and resource not in UNLABELLED
        selector = f"{LABEL_APP_MANAGED_BY}={MANAGED_BY}" if labelled else ""
        for namespace in scopes:
            await _listed(ctx, resource, namespace, selector)
    for cluster_scoped in (NODE, NAMESPACE):
        await _listed(ctx, cluster_scoped)
    # accounts whose users went while the operator was away
    for account in ctx.store.all(SERVICE_ACCOUNT):
        ctx.queue.add(Key(Kind.ACCOUNTS, account["metadata"]["namespace"], "*"))
    ctx.queue.add(CONFIRM, after=ctx.timers.prewarm_confirm)


async def _listed(
    ctx: Context, resource: Resource, namespace: str | None = None, selector: str = ""
) -> None:
    """Put what a LIST finds in the store. A kind the operator may not list (an admin's trim of
    its ClusterRole) is said once and skipped: the rest works on, and what needs that kind
    fails where it is written, where it is reported."""
    try:
        async for page in ctx.writer.client.list(resource, namespace, selector):
            for item in page:
                ctx.store.put(resource, item, confirmed=False)
    except ApiError as error:
        if error.status != 403:
            raise
        log.warning("may not list %s (%s): left out of the start", resource.plural, error.message)


async def confirm(ctx: Context, namespace: str, name: str) -> Outcome:
    """Look up each object prewarm put that no event or write has confirmed: keep what is
    there, forget what is gone (waking the ECS objects it belonged to)."""
    left = ctx.store.unconfirmed()
    if left:
        log.info("looking up %d objects no watch event confirmed since the start", len(left))
    for resource, space, object_name, uid in left:
        found = await ctx.writer.client.get(resource, space or None, object_name)
        if found is not None and found["metadata"].get("uid") == uid:
            ctx.store.put(resource, found)
            continue
        log.info("%s %s/%s is gone: forgotten", resource.kind, space, object_name)
        gone = ctx.store.get(resource, space, object_name)
        ctx.store.forget(resource, space, object_name, uid)
        woken = owner_keys(gone) if gone is not None else []
        if resource in ECS_KINDS:
            woken.append(Key(ECS_KINDS[resource], space, object_name))
        for key in woken:
            ctx.queue.add(key)
    return OK
