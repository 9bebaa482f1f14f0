"""kstatus-style conditions (``Ready``, ``Progressing``, ``Degraded``, ``Valid``) with
``observedGeneration``, so Argo CD, Flux and ``kubectl wait`` judge our objects correctly.

Every list of conditions also carries kstatus's own two, derived from the others
(:func:`with_kstatus`): ``Stalled=True`` for a problem no retry mends (kstatus and so Flux: the
object *Failed*), else ``Reconciling=True`` while ``Ready`` is not True (*InProgress*). The
mapping is tabled in docs/gitops.md.

A condition's ``lastTransitionTime`` only moves when its status flips: rewriting it on every
reconcile would turn every status update into a change and defeat "no write when unchanged".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def rfc3339(moment: datetime) -> str:
    """``moment`` as Kubernetes and ECS's status write a time: RFC 3339, UTC, in seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return rfc3339(datetime.now(UTC))


def now_precise() -> str:
    """Now in RFC 3339, UTC, with milliseconds (ECS's times have them)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def condition(kind: str, status: bool, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
    }


#: Reasons of a ``Degraded=True`` condition that no retry mends, only a change of the spec (or
#: of the admin's policy, or removing someone else's object in the way): kstatus reads them as
#: Stalled, so Flux fails the apply instead of waiting out its timeout.
STALLED_REASONS = frozenset(
    {
        "InvalidSpec",  # the spec breaks an ECS rule the API server could not check
        "InvalidReference",  # taskDefinition is not a family, family:revision or ARN
        "InvalidCapacityProviderStrategy",  # a strategy mixing Fargate and EC2 providers
        "TaskDefinitionInvalid",  # the task definition it names was refused
        "TaskDefinitionInactive",  # ... or deregistered (no new use)
        "NameConflict",  # an object of someone else's holds a name we need
        "WriteRefused",  # the admin's RBAC, quota or admission policy refuses a child
        "TaskRoleNotAllowed",  # the admin's policy refuses its task role (policy.py)
        "PrivilegeNotAllowed",  # ... or what its tasks need of Pod Security
        "DeploymentFailed",  # the deployment circuit breaker failed the rollout
        "RolledBack",  # ... and rolled back to the last completed task definition
        "RolloutFailed",
        "TaskFailedToStart",  # a task's pod was refused (policy) or could not start
        "EssentialContainerExited",  # a task's essential container exited non-zero
        "TerminationNotice",  # Kubernetes took a task (evicted, its node gone): it did not finish
    }
)

KSTATUS_TYPES = ("Reconciling", "Stalled")


def with_kstatus(conditions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``conditions`` plus kstatus's ``Reconciling`` and ``Stalled`` (never both True), each
    with the reason and message of the condition it follows."""
    kept = [c for c in conditions if c["type"] not in KSTATUS_TYPES]
    by_type = {c["type"]: c for c in kept}
    degraded, valid, ready = (by_type.get(t, {}) for t in ("Degraded", "Valid", "Ready"))
    if valid.get("status") == "False":
        stalled: dict[str, Any] | None = valid
    elif degraded.get("status") == "True" and degraded.get("reason") in STALLED_REASONS:
        stalled = degraded
    else:
        stalled = None
    reconciling = None if stalled or ready.get("status") == "True" else ready
    return [
        *kept,
        _following("Reconciling", reconciling, "Reconciled"),
        _following("Stalled", stalled, "NotStalled"),
    ]


def _following(kind: str, cause: dict[str, Any] | None, otherwise: str) -> dict[str, Any]:
    if cause is None:
        return condition(kind, False, otherwise)
    return condition(kind, True, cause.get("reason") or kind, cause.get("message") or "")


def merge(
    previous: Sequence[dict[str, Any]] | None, new: Sequence[dict[str, Any]], generation: int | None
) -> list[dict[str, Any]]:
    """The new conditions with kstatus's (:func:`with_kstatus`), keeping each one's previous
    transition time when its status held."""
    before = {c.get("type"): c for c in previous or []}
    merged = []
    for item in with_kstatus(new):
        old = before.get(item["type"])
        moved = old is None or old.get("status") != item["status"]
        merged.append(
            {
                **item,
                "observedGeneration": generation,
                "lastTransitionTime": (
                    now() if moved or old is None else old.get("lastTransitionTime", now())
                ),
            }
        )
    return merged


def override(
    conditions: Sequence[dict[str, Any]], replacements: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``conditions`` with those of the types in ``replacements`` replaced by them (a problem
    that outranks what the rest of the status says)."""
    replaced = {c["type"] for c in replacements}
    return [*(c for c in conditions if c["type"] not in replaced), *replacements]
