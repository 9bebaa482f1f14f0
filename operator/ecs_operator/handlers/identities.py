"""Task-role ServiceAccounts, shared per (namespace, role) by every Service and Task using
that role, and removed by the garbage collector when none does: each user is an owner (not
the controller) of the account, and the account is applied with the full set of users. It is
shared across the namespace's clusters too, so it carries no cluster label (users in two
clusters would otherwise rewrite it back and forth)."""

from __future__ import annotations

from typing import Any

from ecs_operator.kube import apply
from ecs_operator.kube.owners import owner_reference
from ecs_operator.kube.resources import SERVICE_ACCOUNT
from ecs_operator.render import keys

from .runtime import runtime


async def ensure(account: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    rt = runtime()
    namespace = user["metadata"]["namespace"]
    name = account["metadata"]["name"]
    live = rt.store.get(SERVICE_ACCOUNT, namespace, name)
    owners = {
        ref["uid"]: ref for ref in (live or {}).get("metadata", {}).get("ownerReferences") or []
    }
    owners[user["metadata"]["uid"]] = owner_reference(user, controller=False)
    labels = {
        k: v
        for k, v in (account["metadata"].get("labels") or {}).items()
        if k != keys.LABEL_CLUSTER
    }
    metadata = {
        **account["metadata"],
        "labels": labels,
        "namespace": namespace,
        "ownerReferences": sorted(owners.values(), key=lambda ref: ref["uid"]),
    }
    result = await apply.ensure(rt.client, {**account, "metadata": metadata}, live)
    if result is not live:
        rt.store.put(SERVICE_ACCOUNT, result)
    return result
