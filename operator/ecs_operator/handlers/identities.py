"""Task-role ServiceAccounts, shared per (namespace, role) by every Service and Task using
that role, and removed by the garbage collector when none does: each user is an owner (not
the controller) of the account, added by a strategic merge so that no user's write drops
another's. It is shared across the namespace's clusters too, so it carries no cluster label
(users in two clusters would otherwise rewrite it back and forth)."""

from __future__ import annotations

from typing import Any

from ecs_operator.kube import apply
from ecs_operator.kube.owners import owner_reference
from ecs_operator.kube.resources import SERVICE_ACCOUNT
from ecs_operator.render import keys

from .runtime import runtime


async def ensure(account: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """The account applied (without owners, so its hash never depends on who uses it), then
    ``user`` added to its owners unless it is there already."""
    rt = runtime()
    namespace = user["metadata"]["namespace"]
    labels = {
        k: v
        for k, v in (account["metadata"].get("labels") or {}).items()
        if k != keys.LABEL_CLUSTER
    }
    metadata = {**account["metadata"], "labels": labels, "namespace": namespace}
    live = rt.store.get(SERVICE_ACCOUNT, namespace, metadata["name"])
    result = await apply.ensure(rt.client, {**account, "metadata": metadata}, live)
    owners = result["metadata"].get("ownerReferences") or []
    if not any(ref["uid"] == user["metadata"]["uid"] for ref in owners):
        reference = owner_reference(user, controller=False)
        result = await rt.client.add_owner(SERVICE_ACCOUNT, namespace, metadata["name"], reference)
    if result is not live:
        rt.store.put(SERVICE_ACCOUNT, result)
    return result
