"""The admin's tenancy policy (policy.py) as it applies to a namespace. The plan (plan/) turns
it into the refusals made before anything runs (a task role not allowed, pods that need more
privilege than the namespace's ceiling); the reconcilers report them as a reference that does
not resolve is (Ready=False, Degraded=True, a Warning Event), retried only when the
namespace's annotations change (handlers/watch.py) or the object does.

A namespace's annotations can lower its ceiling, so a namespace the watch has not brought yet
(one created together with its ECS objects) is read from the API server before anything is
decided for it: the cluster-wide policy is not a safe guess. One the operator may not read
decides nothing (``NamespaceUnreadable``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ecs_operator import policy
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.resources import NAMESPACE
from ecs_operator.policy import Policy

from .context import Context
from .references import Unresolved

log = logging.getLogger("ecs_operator.tenancy")


def policy_annotations(namespace: Mapping[str, Any] | None) -> dict[str, str]:
    """The tenancy annotations of a Namespace object (none for a namespace not seen)."""
    found = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    return {key: value for key, value in found.items() if key in policy.ANNOTATIONS}


async def policy_for(ctx: Context, namespace: str) -> Policy:
    """The cluster-wide policy as the namespace's annotations extend or replace it (an
    annotation the operator cannot understand is the admin's to fix: logged, never the
    tenant's); :class:`Unresolved` when the Namespace cannot be read."""
    body = ctx.store.get(NAMESPACE, "", namespace)
    if body is None:
        try:
            body = await ctx.writer.client.get(NAMESPACE, None, namespace)
        except ApiError as error:
            raise Unresolved(
                "NamespaceUnreadable",
                f"the operator cannot read Namespace {namespace}, whose annotations hold the "
                f"admin's policy for it: {error.message}",
            ) from error
    found = ctx.settings.policy.for_namespace(policy_annotations(body))
    for problem in found.problems:
        log.warning("namespace %s: %s", namespace, problem)
    return found
