"""A Service's ECS-shaped status (what ``aws ecs describe-services`` shows) from its
workloads, and the ECS service events that go with the change.

ECS speaks of deployments: the PRIMARY one runs the current task definition; ACTIVE ones are
older deployments still draining. We keep that history in the status itself, so a restart of
the operator loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import condition, merge, now
from .workloads import WorkloadState

MAX_EVENTS = 10


@dataclass(frozen=True)
class ServiceView:
    status: dict[str, Any]
    events: list[str]


def _rollout(workloads: Sequence[WorkloadState]) -> str:
    if any(w.failed for w in workloads):
        return "FAILED"
    if workloads and all(w.complete for w in workloads):
        return "COMPLETED"
    return "IN_PROGRESS"


def _deployments(
    previous: Sequence[dict[str, Any]],
    task_definition: str,
    desired: int,
    workloads: Sequence[WorkloadState],
) -> list[dict[str, Any]]:
    ready = sum(w.ready for w in workloads)
    updated_ready = sum(min(w.updated, w.ready) for w in workloads)
    updated = sum(w.updated for w in workloads)
    state = _rollout(workloads)
    primary = next((d for d in previous if d.get("status") == "PRIMARY"), None)
    stamp = now()
    if primary is None or primary.get("taskDefinition") != task_definition:
        older = [] if primary is None else [{**primary, "status": "ACTIVE", "updatedAt": stamp}]
        primary = {"id": f"ecs-svc/{uuid.uuid4().int % 10**19:019d}", "createdAt": stamp}
    else:
        older = [d for d in previous if d.get("status") == "ACTIVE"]
    fields = {
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "runningCount": updated_ready,
        "pendingCount": max(updated - updated_ready, 0),
        "rolloutState": state,
    }
    if any(primary.get(k) != v for k, v in fields.items()):
        primary = {**primary, **fields, "updatedAt": stamp}
    if state == "COMPLETED":
        older = []
    draining = max(ready - updated_ready, 0)
    older = [
        {**d, "runningCount": draining, "desiredCount": 0, "pendingCount": 0} for d in older[:1]
    ]
    return [primary, *older]


def service_status(
    name: str,
    desired: int,
    task_definition: str,
    workloads: Sequence[WorkloadState],
    previous: dict[str, Any],
    generation: int | None,
) -> ServiceView:
    """The new status and the ECS events (messages) that the change calls for."""
    running = sum(w.ready for w in workloads)
    pending = max(sum(w.replicas for w in workloads) - running, 0)
    deployments = _deployments(
        previous.get("deployments") or [], task_definition, desired, workloads
    )
    state = deployments[0]["rolloutState"]
    steady = state == "COMPLETED" and running == desired
    messages = []
    total = sum(w.replicas for w in workloads)
    started = total - int(previous.get("runningCount", 0)) - int(previous.get("pendingCount", 0))
    if started > 0:
        messages.append(f"(service {name}) has started {started} tasks.")
    was_steady = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in previous.get("conditions") or []
    )
    if steady and not was_steady:
        messages.append(f"(service {name}) has reached a steady state.")
    if state == "FAILED" and previous.get("deployments", [{}])[0].get("rolloutState") != "FAILED":
        messages.append(
            f"(service {name}) deployment {deployments[0]['id']} deployment failed: "
            "tasks failed to start."
        )
    events = [
        {"id": str(uuid.uuid4()), "createdAt": now(), "message": m} for m in reversed(messages)
    ]
    conditions = merge(
        previous.get("conditions"),
        [
            condition(
                "Ready",
                steady,
                "SteadyState" if steady else "NotSteady",
                f"{running}/{desired} tasks running",
            ),
            condition(
                "Progressing", state == "IN_PROGRESS", f"Rollout{state.title().replace('_', '')}"
            ),
            condition(
                "Degraded",
                state == "FAILED",
                "RolloutFailed" if state == "FAILED" else "AsExpected",
            ),
        ],
        generation,
    )
    status = {
        **{k: v for k, v in previous.items() if k not in ("deployments", "events", "conditions")},
        "status": "ACTIVE",
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": pending,
        "taskDefinition": task_definition,
        "deployments": deployments,
        "events": (events + list(previous.get("events") or []))[:MAX_EVENTS],
        "conditions": conditions,
        "observedGeneration": generation,
    }
    return ServiceView(status, messages)
