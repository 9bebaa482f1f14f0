"""The admin's tenancy policy (policy.py) as it applies to a namespace. The plan (plan/) turns
it into the refusals made before anything runs (a task role not allowed, pods that need more
privilege than the namespace's ceiling); the reconcilers report them as a reference that does
not resolve is (Ready=False, Degraded=True, a Warning Event), retried only when the
namespace's annotations change (handlers/watch.py) or the object does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ecs_operator import policy
from ecs_operator.kube.resources import NAMESPACE
from ecs_operator.policy import Policy

from .context import Context

log = logging.getLogger("ecs_operator.tenancy")


def policy_annotations(namespace: Mapping[str, Any] | None) -> dict[str, str]:
    """The tenancy annotations of a Namespace object (none for a namespace not seen)."""
    found = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    return {key: value for key, value in found.items() if key in policy.ANNOTATIONS}


def policy_for(ctx: Context, namespace: str) -> Policy:
    """The cluster-wide policy as the namespace's annotations extend or replace it (an
    annotation the operator cannot read is the admin's to fix: logged, never the tenant's)."""
    found = ctx.settings.policy.for_namespace(
        policy_annotations(ctx.store.get(NAMESPACE, "", namespace))
    )
    for problem in found.problems:
        log.warning("namespace %s: %s", namespace, problem)
    return found
