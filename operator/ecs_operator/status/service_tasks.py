"""A service's tasks in ECS terms beyond what their pods show while they run: the deployment
that started each one, and the record of one that has stopped.

ECS keeps a stopped task describable (``aws ecs describe-tasks``, ``list-tasks
--desired-status STOPPED``) with its ``stopCode``, ``stoppedReason`` and container exit codes
for at least an hour: the first thing anyone reads when a service's tasks keep stopping. A
service's task is a pod that its ReplicaSet deletes (scale-in, a rollout replacing it), that
StopTask or an eviction deletes, or that stops when its essential container exits; once the
pod is gone nothing in Kubernetes remembers it. So the operator records each service pod it
sees go, as the last watch event showed it, in the Service's ``status.stoppedTasks``: the
newest :data:`KEPT`, each kept until newer ones push it out (a record is never dropped for its
age alone: that would be a status write of its own, with nothing else to tell).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ecs_operator.api.identifiers import short_name
from ecs_operator.render import keys
from ecs_operator.render.metadata import essential_containers

from .conditions import rfc3339
from .containers import UNHEALTHY, task_health
from .containers import containers as container_views
from .start_failures import failing_to_start
from .task import (
    FAILED_TO_START,
    STOP_REASONS,
    USER_INITIATED,
    all_stopped,
    disrupted,
    ecs_names,
    essential_exit,
    task_state,
)
from .task_moments import task_moments
from .task_placement import where_placed

#: the Service status member that holds them
STOPPED_TASKS = "stoppedTasks"
#: the stopped tasks a Service's status keeps, newest first
KEPT = 20
#: ECS's stop code for a task its service scheduler stopped (scale-in, a deployment, a drain)
SERVICE_SCHEDULER = "ServiceSchedulerInitiated"
#: ECS's stopped reason of a task the service scheduler replaced for an unhealthy essential
#: container
FAILED_HEALTH_CHECKS = "Task failed container health checks"


def started_by(pod: Mapping[str, Any], deployments: Sequence[Mapping[str, Any]]) -> str | None:
    """ECS's ``startedBy`` of a service's task: the id of the deployment that started it. Of
    the service's deployments (PRIMARY first) that run the pod's task definition, the newest
    created before the pod (a forced new deployment runs the same one); none when no
    deployment shown runs it any more."""
    metadata = pod["metadata"]
    revision = (metadata.get("annotations") or {}).get(keys.ANNOTATION_TASK_DEFINITION)
    created = _moment(metadata.get("creationTimestamp"))
    running = [d for d in deployments if short_name(str(d.get("taskDefinition") or "")) == revision]
    for deployment in running:
        began = _moment(deployment.get("createdAt"))
        if created is None or began is None or began <= created:
            return str(deployment["id"])
    return str(running[-1]["id"]) if running else None


def _moment(text: Any) -> datetime | None:
    """An RFC 3339 time (the API server's, or a status's), or None."""
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def stopped_task(
    pod: dict[str, Any],
    deployments: Sequence[Mapping[str, Any]],
    at: float,
    seen: Mapping[str, Any] | None = None,
    live: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ECS record of a service's task whose pod is gone (``pod`` as its deletion event
    showed it), stopped at ``at`` (seconds since the epoch); ``deployments`` are its
    service's, as its status shows them. ``seen``: the pod as its deletion began (else as the
    event before showed it), which tells when the deletion began (the kubelet's last delete,
    once the containers stopped, moves its time to its end). ``live``: the pod as it was
    before its deletion began, which tells whether a container had exited or could not start
    (the kubelet that stops a pod's containers reports them all ended); else ``seen``, if not
    yet deleting."""
    metadata = pod["metadata"]
    annotations = metadata.get("annotations") or {}
    began = (_deletion_began(seen) if seen else None) or _deletion_began(pod)
    code, reason = _why(pod, seen, live, essential_containers(annotations), deployments)
    record: dict[str, Any] = {
        "taskId": metadata["name"],
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": code,
        "stoppedReason": reason,
        "taskDefinition": annotations.get(keys.ANNOTATION_TASK_DEFINITION),
        "containers": _last_health(
            all_stopped(container_views(pod, ecs_names(pod))), _before_deletion(seen, live)
        ),
        "createdAt": metadata.get("creationTimestamp"),
        "stoppedAt": rfc3339(datetime.fromtimestamp(at, UTC)),
    }
    for member, value in (
        ("startedAt", (pod.get("status") or {}).get("startTime")),
        ("stoppingAt", rfc3339(began) if began else None),
        ("startedBy", started_by(pod, deployments)),
    ):
        if value:
            record[member] = value
    return record | where_placed(pod) | task_moments(pod)


def stopping(pod: dict[str, Any], deployments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What ECS shows of a service's task while it stops (its pod being deleted): why, as its
    record will say (:func:`stopped_task`), and since when."""
    essential = essential_containers(pod["metadata"].get("annotations") or {})
    code, reason = _why(pod, None, None, essential, deployments)
    began = _deletion_began(pod)
    since = {"stoppingAt": rfc3339(began)} if began else {}
    return {"stopCode": code, "stoppedReason": reason, **since}


def _why(
    pod: dict[str, Any],
    seen: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    essential: Collection[str],
    deployments: Sequence[Mapping[str, Any]],
) -> tuple[str, str]:
    """ECS's stop code and reason for a service pod that went. Its essential container's exit
    stopped it only if the pod showed it exited before anyone deleted it: a pod being deleted
    has every container stopped by the kubelet, whose end says nothing of why. A pod whose
    container the kubelet could not start never ran: it failed to start, as ECS records it."""
    metadata = pod["metadata"]
    requested = (metadata.get("annotations") or {}).get(keys.ANNOTATION_STOP_REASON)
    if requested is not None:  # annotated before its deletion, as a Task's pods are
        return USER_INITIATED, requested or STOP_REASONS[USER_INITIATED]
    before = _before_deletion(seen, live)
    if before is not None and essential_exit(before, essential) is not None:
        state = task_state(before, essential, stop_requested=False)
        return str(state.stop_code), str(state.stopped_reason)
    failure = failing_to_start(before or seen or pod)
    if failure is not None:  # its image could not be pulled (or it could not be started)
        return FAILED_TO_START, failure.reason
    disruption = disrupted(pod)
    if disruption is not None:  # evicted (a drain), preempted, a tainted or shut-down node
        return SERVICE_SCHEDULER, disruption
    if before is not None and task_health(before, essential) == UNHEALTHY:
        return SERVICE_SCHEDULER, FAILED_HEALTH_CHECKS
    primary = deployments[0]["id"] if deployments else "unknown"
    return SERVICE_SCHEDULER, f"Scaling activity initiated by (deployment {primary})"


def _before_deletion(
    seen: Mapping[str, Any] | None, live: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The pod as it was before its deletion began: ``live``, else ``seen`` if not deleting yet."""
    if live is None and seen and not seen["metadata"].get("deletionTimestamp"):
        live = seen
    return dict(live) if live is not None else None


def _last_health(
    containers: list[dict[str, Any]], live: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """A stopped task's containers with the health each last had while the task ran (the
    kubelet stopping a pod's containers leaves every one UNKNOWN), as ECS keeps it."""
    if live is None:
        return containers
    health = {c["name"]: c.get("healthStatus") for c in container_views(live, ecs_names(live))}
    return [
        c | {"healthStatus": health[c["name"]]}
        if health.get(c["name"]) not in (None, "UNKNOWN")
        else c
        for c in containers
    ]


def _deletion_began(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod's deletion was asked for: its ``deletionTimestamp`` is when the grace
    period the deletion gave ends."""
    metadata = pod["metadata"]
    deadline = _moment(metadata.get("deletionTimestamp"))
    if deadline is None:
        return None
    return deadline - timedelta(seconds=int(metadata.get("deletionGracePeriodSeconds") or 0))


def with_stopped(
    previous: Sequence[Mapping[str, Any]] | None, new: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The records a status keeps: ``new`` ones added to ``previous`` (a task recorded twice
    keeps its first record), newest first, at most :data:`KEPT`."""
    by_id = {str(r["taskId"]): dict(r) for r in previous or []}
    for record in new:
        by_id.setdefault(str(record["taskId"]), dict(record))
    newest = sorted(by_id.values(), key=lambda r: str(r.get("stoppedAt") or ""), reverse=True)
    return newest[:KEPT]
