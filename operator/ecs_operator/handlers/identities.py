"""Task-role ServiceAccounts, shared per (namespace, role) by every Service and Task using that
role, and deleted once nothing runs under them any more.

They carry no owner references: with one per user, an account shared by N services took N
writes to one object (each a conflict-prone rewrite of a growing owner list, each echoed to
every watcher), which made a burst of N services cost N². Instead the account is created once
and the namespace's accounts are swept shortly after a workload or pod of ours goes: an account
that no Deployment, DaemonSet or pod of ours names is deleted, unless it is younger than its
grace period (``Timers.account_grace``, 30 s: a user being reconciled right now may not have
applied its workload yet). Shared across the namespace's clusters too, so it carries no
cluster label (users in two clusters would otherwise rewrite it back and forth).

Without owner references, what makes an account ours is its marker (render/identity.py,
``is_operator_account``): an account of that name without it is a :class:`NameConflict`, never
applied over, and the sweep deletes only marked accounts, with the uid and resourceVersion it
decided on as preconditions, so an account changed meanwhile is left to whoever changed it.
"""

from __future__ import annotations

from typing import Any

from ecs_operator.kube import apply
from ecs_operator.kube.owners import age
from ecs_operator.kube.resources import DAEMON_SET, DEPLOYMENT, POD, SERVICE_ACCOUNT
from ecs_operator.kube.store import Store
from ecs_operator.render.identity import is_operator_account

from .context import Context
from .flights import SingleFlight
from .queue import OK, Outcome, Result


async def ensure(ctx: Context, account: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The account as planned, created in ``namespace``, or applied when ours and the live one
    differs; :class:`~ecs_operator.kube.apply.NameConflict` when an account of that name is
    not ours."""
    metadata = {**account["metadata"], "namespace": namespace}
    desired = {**account, "metadata": metadata}
    live = ctx.store.get(SERVICE_ACCOUNT, namespace, metadata["name"])
    if live is not None and not is_operator_account(live):
        raise apply.NameConflict(desired)
    if live is not None and apply.in_sync(desired, live):
        return live

    async def ensured() -> dict[str, Any]:
        return await ctx.writer.ensure(desired, live, is_operator_account)

    # every Service of the namespace shares it: one write for those that find it missing
    return await _applying.run((namespace, metadata["name"]), ensured)


_applying: SingleFlight[tuple[str, str], dict[str, Any]] = SingleFlight()


def in_use(store: Store, namespace: str) -> set[str]:
    """The accounts our workloads' pod templates and our pods name."""
    templates = [
        workload["spec"]["template"]
        for resource in (DEPLOYMENT, DAEMON_SET)
        for workload in store.all(resource, namespace)
    ]
    specs = [t.get("spec") or {} for t in templates]
    specs += [pod.get("spec") or {} for pod in store.all(POD, namespace)]
    return {spec.get("serviceAccountName") or "default" for spec in specs}


async def sweep(ctx: Context, namespace: str, _: str) -> Outcome:
    """Delete the namespace's accounts nothing uses; come back for those still in their grace
    period."""
    used = in_use(ctx.store, namespace)
    grace = ctx.timers.account_grace
    wait: float | None = None
    for account in list(ctx.store.all(SERVICE_ACCOUNT, namespace)):
        if not is_operator_account(account) or account["metadata"]["name"] in used:
            continue
        elapsed = age(account, ctx.clock())
        if elapsed < grace:
            wait = min(wait or grace, grace - elapsed)
            continue
        # an account changed since it was read is left as it is, for a later sweep to judge
        await ctx.writer.delete_ours(SERVICE_ACCOUNT, account, unchanged=True)
    return Outcome(Result.WAITING, retry=True, after=wait) if wait is not None else OK
