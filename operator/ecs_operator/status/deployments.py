"""A Service's ECS deployments (what ``describe-services`` lists under ``deployments``): the
PRIMARY one and those that still have tasks, their counts and ``rolloutState``, and the
deployment circuit breaker's verdict (its threshold and the Rollout: status/rollout.py).

An ECS deployment, once COMPLETED, stays so; without a breaker none fails (a Deployment past
its progress deadline stays IN_PROGRESS); with one, the deployment whose new tasks keep failing,
or whose Deployment passes its progress deadline while no task waits for a node, is FAILED, and
with ``rollback`` the service rolls back to the last COMPLETED task definition.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .conditions import now
from .rollout import Rollout, deployment_id, failed_deployment
from .workloads import TaskSummary, WorkloadState

BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."


def _rollout_state(workloads: Sequence[WorkloadState]) -> str:
    if any(w.failed for w in workloads):
        return "FAILED"
    if workloads and all(w.complete for w in workloads):
        return "COMPLETED"
    return "IN_PROGRESS"


def _deadline_fails(rollout: Rollout, tasks: TaskSummary) -> bool:
    """Whether a Deployment past its progress deadline fails its ECS deployment: only with a
    circuit breaker (without one ECS keeps trying for good), the backstop for tasks stuck
    before they start in ways the failure count does not see (a volume that never mounts); and
    not while tasks wait for a node, which ECS does not count as failed."""
    return rollout.breaker is not None and not tasks.unplaced


def _reason(deployment_id: str, state: str, tripped: bool, rolling_back_to: str = "") -> str:
    if tripped:
        return BREAKER_REASON
    if rolling_back_to and state == "IN_PROGRESS":
        # what ECS says of the deployment a circuit breaker's rollback started
        return f"ECS deployment circuit breaker: rolling back to deploymentId {rolling_back_to}."
    if state == "FAILED":
        return f"ECS deployment {deployment_id} failed: it did not reach a steady state in time."
    return (
        f"ECS deployment {deployment_id} {'completed' if state == 'COMPLETED' else 'in progress'}."
    )


def _failures(primary: Mapping[str, Any], tasks: TaskSummary, rollout: Rollout) -> int:
    """Failed tasks of the primary deployment: with ``resetOnHealthyTask`` (the default) those
    of tasks that are not healthy now; otherwise every failure seen since it started."""
    breaker = rollout.breaker
    if breaker is None or breaker.reset_on_healthy:
        return tasks.failed_unhealthy
    return max(int(primary.get("failedTasks", 0)), tasks.failed)


def _trips(state: str, failures: int, rollout: Rollout, running: str) -> bool:
    """Whether the breaker fails the deployment of the spec's own task definition now."""
    breaker = rollout.breaker
    if breaker is None or running != rollout.target:
        return False
    return state == "FAILED" or (state == "IN_PROGRESS" and failures >= breaker.threshold)


def _is_new(
    primary: Mapping[str, Any] | None,
    running: str,
    previous: Mapping[str, Any],
    marker: Mapping[str, Any] | None,
) -> bool:
    """A new deployment: another task definition, or the spec changed after a failure."""
    if primary is None or primary.get("taskDefinition") != running:
        return True
    recorded = previous.get("failedDeployment") or {}
    return marker is None and recorded.get("id") == primary.get("id")


def service_deployments(
    previous: Mapping[str, Any],
    running: str,
    desired: int,
    workloads: Sequence[WorkloadState],
    tasks: TaskSummary,
    rollout: Rollout,
    service_uid: str = "",
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The deployments (PRIMARY first) and the failure record after this change; a new
    deployment's id is :func:`deployment_id` of the Service's uid (random without one)."""
    history: list[dict[str, Any]] = list(previous.get("deployments") or [])
    marker = failed_deployment(previous, rollout)
    primary = next((d for d in history if d.get("status") == "PRIMARY"), None)
    stamp = now()
    if _is_new(primary, running, previous, marker):
        replaced = [] if primary is None else [{**primary, "status": "ACTIVE", "updatedAt": stamp}]
        older = replaced + [d for d in history if d.get("status") == "ACTIVE"]
        replaces = "" if primary is None else str(primary.get("id", ""))
        new_id = (
            deployment_id(service_uid, running, replaces)
            if service_uid
            else f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"
        )
        primary = {"id": new_id, "createdAt": stamp}
    else:
        assert primary is not None
        older = [d for d in history if d.get("status") == "ACTIVE"]
    state = _rollout_state(workloads)
    if primary.get("rolloutState") == "COMPLETED":
        # an ECS deployment, once completed, stays so: a scale-up, or a task the kubelet
        # restarts (its pod ready again), is no new rollout
        state = "COMPLETED"
    elif state == "FAILED" and not _deadline_fails(rollout, tasks):
        state = "IN_PROGRESS"
    failures = _failures(primary, tasks, rollout)
    tripped = marker is None and _trips(state, failures, rollout, running)
    if tripped:
        marker = _record(primary["id"], rollout, previous)
    failed_here = marker is not None and marker.get("id") == primary["id"]
    if failed_here:
        state = "FAILED"
    rolling_back_to = ""
    if marker is not None and not failed_here and marker.get("rolledBackTo") == running:
        rolling_back_to = str(marker.get("rolledBackToDeployment") or "")
    ready = sum(w.ready for w in workloads)
    # the new pods' ready ones: at most the updated pods, and at most the ready pods of the
    # task definition (a forced new deployment of one revision cannot tell old from new)
    updated_ready = sum(min(w.updated, w.ready) for w in workloads)
    if tasks.ready_revision is not None:
        updated_ready = min(updated_ready, tasks.ready_revision)
    updated = sum(w.updated for w in workloads)
    fields = {
        "status": "PRIMARY",
        "taskDefinition": running,
        "desiredCount": desired,
        "runningCount": updated_ready,
        "pendingCount": max(updated - updated_ready - tasks.unbound_revision, 0),
        "failedTasks": failures,
        "rolloutState": state,
        "rolloutStateReason": _reason(primary["id"], state, failed_here, rolling_back_to),
    }
    if any(primary.get(k) != v for k, v in fields.items()):
        primary = {**primary, **fields, "updatedAt": stamp}
    if state == "COMPLETED":
        older = []
    return [primary, *_draining(older, running, max(ready - updated_ready, 0), tasks)], marker


def _draining(
    older: Sequence[Mapping[str, Any]], running: str, draining: int, tasks: TaskSummary
) -> list[dict[str, Any]]:
    """The older deployments still listed (newest first), as ECS lists every deployment that
    has tasks left, each with the ready tasks of its own task definition: a second update
    pushed while the first fails keeps the deployment that still serves. ``draining``: the
    ready tasks that are not the new deployment's, all that the one replaced can show where
    the pods' counts are missing or it ran the same task definition (a forced new deployment,
    whose old tasks and new ones cannot be told apart)."""
    if not tasks.revisions:
        older = older[:1]
    kept: list[dict[str, Any]] = []
    for deployment in older:
        ready = tasks.revisions.get(str(deployment.get("taskDefinition")))
        if deployment.get("taskDefinition") == running or not tasks.revisions:
            if any(k.get("taskDefinition") == running for k in kept):
                continue
            count = draining
        elif ready is None:
            continue  # its last task is gone
        else:
            count = ready
        kept.append({**deployment, "runningCount": count, "desiredCount": 0, "pendingCount": 0})
    return kept


def _record(deployment_id: str, rollout: Rollout, previous: Mapping[str, Any]) -> dict[str, Any]:
    """The failure record; with rollback, what to roll back to (none before a first success)."""
    marker = {
        "id": deployment_id,
        "taskDefinition": rollout.target,
        "specHash": rollout.spec_hash,
    }
    completed = previous.get("lastCompletedTaskDefinition")
    if rollout.breaker and rollout.breaker.rollback and completed and completed != rollout.target:
        marker["rolledBackTo"] = completed
        # the last COMPLETED deployment, which ECS names in the rollback's rolloutStateReason
        back = next(
            (
                d.get("id")
                for d in previous.get("deployments") or []
                if d.get("taskDefinition") == completed and d.get("rolloutState") == "COMPLETED"
            ),
            None,
        )
        if back:
            marker["rolledBackToDeployment"] = back
    return marker
