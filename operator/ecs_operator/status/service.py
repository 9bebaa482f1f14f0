"""A Service's ECS-shaped status (what ``aws ecs describe-services`` shows) from its
workloads and pods, and the ECS service events that go with the change.

ECS speaks of deployments: the PRIMARY one runs the current task definition; ACTIVE ones are
older deployments still draining. We keep that history in the status itself, so a restart of
the operator loses nothing.

The deployments and the circuit breaker's verdict are status/deployments.py's; this module
adds the counts, the service events, the conditions, and what a deleted service reads.
``status.failedDeployment`` records a failure together with what the spec said (the task
definition and a hash of the rest), and with ``rollback`` the last COMPLETED task definition it
rolls back to: the operator then renders that one while the spec still names the failed one,
until the spec changes (a new deployment). ``status.lastCompletedTaskDefinition`` is the
rollback target.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..render import keys
from .conditions import condition, merge, now_precise
from .deployments import service_deployments
from .rollout import Rollout
from .workloads import TaskSummary, WorkloadState, placement_failure

#: ECS's Service.events: "At most the 100 latest are returned"
MAX_EVENTS = 100
#: ECS omits a duplicate service event "until either the cause is resolved or six hours passes"
#: (Developer Guide, "Service event messages")
DUPLICATE_WINDOW = timedelta(hours=6)
STEADY = "has reached a steady state."
#: status members this module owns and may clear (merge patches keep what they do not name)
CLEARABLE = ("failedDeployment", "lastCompletedTaskDefinition")


@dataclass(frozen=True)
class ServiceView:
    """The new status, the ECS service events of the change (in the order they happened), and
    which of them report a failure (posted as Warning Events)."""

    status: dict[str, Any]
    events: list[str]
    warnings: frozenset[str] = frozenset()
    #: seconds until a task failing to start counts once more towards a circuit breaker that
    #: may still trip (None: no such task, or no such breaker): the service is looked at again
    recount_after: float | None = None


def with_problem_event(status: dict[str, Any], name: str, problem: str) -> dict[str, Any]:
    """The status of a service that cannot start tasks at all (a reference that does not
    resolve, an invalid spec, a refusal) with the problem as a service event, once:
    describe-services shows a service's events, not its conditions."""
    message = f"(service {name}) failed to launch a task with (error {problem})."
    events = status.get("events") or []
    if events and events[0].get("message") == message:
        return status
    return {**status, "events": add_events(events, [message])}


def add_events(events: Sequence[Mapping[str, Any]] | None, messages: Sequence[str]) -> list[Any]:
    """``status.events`` after ``messages`` (oldest first): newest first, at most
    :data:`MAX_EVENTS`, as describe-services lists them."""
    # milliseconds, as ECS's: an event found within the second its deployment began is still
    # newer than the deployment (fabfuel's ecs-deploy reads only events after its createdAt)
    stamp = now_precise()
    new = [{"id": str(uuid.uuid4()), "createdAt": stamp, "message": m} for m in reversed(messages)]
    return (new + list(events or []))[:MAX_EVENTS]


def _newly_failed(
    deployments: Sequence[Mapping[str, Any]],
    marker: Mapping[str, Any] | None,
    previous: Mapping[str, Any],
) -> Mapping[str, Any] | None:
    """The deployment that failed with this change: the circuit breaker's, else a PRIMARY that
    exceeded its progress deadline; None when it had already failed before."""
    wanted = marker.get("id") if marker else deployments[0]["id"]
    current = next((d for d in deployments if d.get("id") == wanted), None)
    if current is None or current.get("rolloutState") != "FAILED":
        return None
    was_failed = any(
        d.get("id") == wanted and d.get("rolloutState") == "FAILED"
        for d in previous.get("deployments") or []
    )
    return None if was_failed else current


def _launch_failure(workloads: Sequence[WorkloadState]) -> str:
    """Why tasks cannot be created at all (the first workload's ReplicaFailure), or ""."""
    return next((w.failure for w in workloads if w.failure), "")


def _messages(
    name: str,
    deployments: Sequence[Mapping[str, Any]],
    marker: Mapping[str, Any] | None,
    total: int,
    steady: bool,
    tasks: TaskSummary,
    previous: Mapping[str, Any],
    failure: str,
) -> tuple[list[str], set[str]]:
    """The ECS service events this change calls for, in the order they happened, and those of
    them that report a failure."""
    messages = []
    warnings = set()
    primary = deployments[0]
    before = (previous.get("deployments") or [{}])[0]
    placed = total - tasks.unbound
    started = placed - int(previous.get("runningCount", 0)) - int(previous.get("pendingCount", 0))
    if started > 0:
        messages.append(f"(service {name}) has started {started} tasks.")
    if tasks.stopped:
        messages.append(stopped_event(name, tasks.stopped))
    failed = _newly_failed(deployments, marker, previous)
    if failed is not None:
        messages.append(
            f"(service {name}) deployment {failed['id']} deployment failed: tasks failed to start."
        )
        warnings.add(messages[-1])
    if marker and marker.get("rolledBackTo") == primary["taskDefinition"] != before.get(
        "taskDefinition"
    ):
        messages.append(f"(service {name}) rolling back to deployment {primary['id']}.")
    known = _unresolved(previous.get("events") or [])
    if tasks.unplaced:
        unplaced = placement_failure(
            f"(service {name}) was unable to place a task", tasks.placement_reason
        )
        if unplaced not in known:
            messages.append(unplaced)
            warnings.add(unplaced)
    launch = f"(service {name}) failed to launch a task with (error {failure})."
    if failure and launch not in known:
        messages.append(launch)
        warnings.add(launch)
    was_steady = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in previous.get("conditions") or []
    )
    if steady and not was_steady:
        messages.append(f"(service {name}) has reached a steady state.")
    return messages, warnings


def _unresolved(events: Sequence[Mapping[str, Any]]) -> set[Any]:
    """The messages of ``events`` (newest first) that ECS would still omit when they occur
    again: those since the service last reached a steady state (their cause resolved since),
    of the last six hours."""
    since = datetime.now(UTC) - DUPLICATE_WINDOW
    known = set()
    for event in events:
        message = event.get("message")
        if str(message).endswith(STEADY):
            break
        try:
            if datetime.fromisoformat(str(event.get("createdAt"))) < since:
                break
        except ValueError:
            pass
        known.add(message)
    return known


def stopped_event(name: str, count: int) -> str:
    """ECS's service event for tasks its scheduler stopped (scale-in, a rollout's replacements)."""
    return f"(service {name}) has stopped {count} running tasks."


def _conditions(
    running: int,
    desired: int,
    state: str,
    marker: Mapping[str, Any] | None,
    tasks: TaskSummary,
    failure: str,
    stuck: bool,
) -> list[dict[str, Any]]:
    steady = state == "COMPLETED" and running == desired
    summary = f"{running}/{desired} tasks running"
    if tasks.unplaced:
        summary += f"; {tasks.unplaced} cannot be placed: {tasks.placement_reason}"
    if failure:
        summary += f"; tasks cannot be created: {failure}"
    if marker is not None:
        target = marker.get("taskDefinition")
        back = marker.get("rolledBackTo")
        degraded = condition(
            "Degraded",
            True,
            "RolledBack" if back else "DeploymentFailed",
            f"deployment {marker.get('id')} of {target} failed: tasks failed to start"
            + (f"; rolled back to {back}" if back else ""),
        )
    elif failure:
        # e.g. Pod Security admission refusing a privileged task's pods: the ReplicaSet retries
        # in vain until the namespace allows them
        degraded = condition(
            "Degraded", True, "TaskLaunchFailed", f"tasks cannot be created: {failure}"
        )
    elif state == "FAILED":
        degraded = condition("Degraded", True, "RolloutFailed")
    elif stuck:
        # ECS keeps trying; Kubernetes' progress deadline says the rollout has stopped moving
        degraded = condition(
            "Degraded",
            True,
            "RolloutStuck",
            "no progress within the Deployment's progress deadline (ECS keeps trying)",
        )
    else:
        degraded = condition("Degraded", False, "AsExpected")
    return [
        condition("Ready", steady, "SteadyState" if steady else "NotSteady", summary),
        condition(
            "Progressing", state == "IN_PROGRESS", f"Rollout{state.title().replace('_', '')}"
        ),
        degraded,
    ]


def deleted(body: dict[str, Any]) -> bool:
    """Whether DeleteService was called for the Service object ``body`` (the ECS API keeps it,
    scaled to 0, as a tombstone: ``keys.ANNOTATION_DELETED_AT``)."""
    return keys.ANNOTATION_DELETED_AT in (body["metadata"].get("annotations") or {})


def lifecycle(deleted: bool, tasks: int) -> str:
    """ECS's ``status`` of a service: ACTIVE, or once deleted DRAINING, then INACTIVE."""
    if not deleted:
        return "ACTIVE"
    return "DRAINING" if tasks else "INACTIVE"


def service_status(
    name: str,
    desired: int,
    task_definition: str,
    workloads: Sequence[WorkloadState],
    previous: dict[str, Any],
    generation: int | None,
    *,
    rollout: Rollout | None = None,
    tasks: TaskSummary | None = None,
    service_uid: str = "",
    deleted: bool = False,
) -> ServiceView:
    """The new status and the ECS events (messages) that the change calls for.

    ``task_definition`` is what runs (rendered); ``rollout`` what the spec asks for (default:
    the same, without a circuit breaker); ``tasks`` what the pods say (failures, placement);
    ``service_uid`` seeds the ids of new deployments (``rollout.deployment_id``); ``deleted``:
    DeleteService was called (the ECS API's tombstone), so the service is DRAINING while any
    task remains and INACTIVE after, as ECS shows a deleted service.
    """
    rollout = rollout or Rollout(task_definition)
    tasks = tasks or TaskSummary()
    running = sum(w.ready for w in workloads)
    total = sum(w.replicas for w in workloads)
    deployments, marker = service_deployments(
        previous, task_definition, desired, workloads, tasks, rollout, service_uid
    )
    state = deployments[0]["rolloutState"]
    steady = state == "COMPLETED" and running == desired
    failure = _launch_failure(workloads)
    messages, warnings = _messages(
        name, deployments, marker, total, steady, tasks, previous, failure
    )
    owned = ("deployments", "events", "conditions", *CLEARABLE)
    status: dict[str, Any] = {
        **{k: v for k, v in previous.items() if k not in owned},
        "status": lifecycle(deleted, total),
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": max(total - running - tasks.unbound, 0),
        "taskDefinition": task_definition,
        "deployments": deployments,
        "events": add_events(previous.get("events"), messages),
        "conditions": merge(
            previous.get("conditions"),
            _conditions(
                running, desired, state, marker, tasks, failure, any(w.failed for w in workloads)
            ),
            generation,
        ),
        "observedGeneration": generation,
    }
    completed = task_definition if state == "COMPLETED" else None
    kept = {
        "failedDeployment": marker,
        "lastCompletedTaskDefinition": completed or previous.get("lastCompletedTaskDefinition"),
    }
    for key, value in kept.items():
        if value is not None:
            status[key] = value
        elif key in previous:
            status[key] = None  # a merge patch removes a member only when told to
    recount = tasks.recount_after if rollout.breaker and state == "IN_PROGRESS" else None
    return ServiceView(status, messages, frozenset(warnings), recount)
