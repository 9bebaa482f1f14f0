"""The admin's tenancy policy (policy.py) as it applies to a namespace, and the refusals it
makes before anything runs: a task role not allowed, pods that need more privilege than the
namespace's ceiling. Both are reported as a reference that does not resolve is (Ready=False,
Degraded=True, a Warning Event), and retried only when the namespace's annotations change
(handlers/watch.py) or the object does."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ecs_operator import policy
from ecs_operator.kube.resources import NAMESPACE
from ecs_operator.policy import Policy
from ecs_operator.render import keys
from ecs_operator.render.findings import Finding

from .context import Context
from .references import Unresolved

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


def check(
    allowed: Policy, namespace: str, account: Mapping[str, Any], findings: Iterable[Finding]
) -> None:
    """Raise :class:`Unresolved` (not retried) when the rendered task-role ServiceAccount
    ``account`` or the ``privileged`` findings break the namespace's policy."""
    role = ((account.get("metadata") or {}).get("annotations") or {}).get(keys.ANNOTATION_IRSA_ROLE)
    refusal = policy.task_role_refusal(allowed, role, namespace)
    if refusal is not None:
        raise Unresolved(policy.TASK_ROLE_NOT_ALLOWED, refusal, retry=False)
    refusal = policy.privilege_refusal(allowed, findings, namespace)
    if refusal is not None:
        raise Unresolved(policy.PRIVILEGE_NOT_ALLOWED, refusal, retry=False)
