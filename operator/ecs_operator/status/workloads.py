"""Deployment and DaemonSet status, reduced to what an ECS service reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..render.keys import ANNOTATION_TASK_DEFINITION
from ..render.metadata import essential_containers
from .start_failures import failed_attempts


@dataclass(frozen=True)
class WorkloadState:
    """One workload's progress: ECS counts tasks, Kubernetes counts pods."""

    desired: int
    replicas: int
    updated: int
    ready: int
    available: int
    current: bool  # the controller has seen the latest spec
    failed: bool  # the rollout exceeded its progress deadline
    #: why the controller cannot create pods (ReplicaFailure: the API server's refusal, such as
    #: Pod Security admission or a quota); empty when it can
    failure: str = ""

    @property
    def complete(self) -> bool:
        return (
            self.current
            and self.updated == self.desired
            and self.replicas == self.desired
            and self.available == self.desired
        )


def status_current(obj: dict[str, Any]) -> bool:
    """Whether the object's status was written for its spec as it is now (its
    ``observedGeneration`` has caught up with ``metadata.generation``)."""
    status = obj.get("status") or {}
    return int(status.get("observedGeneration", 0)) >= int(obj["metadata"].get("generation", 0))


def deployment_state(obj: dict[str, Any]) -> WorkloadState:
    status = obj.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing", {})
    return WorkloadState(
        desired=int(obj["spec"].get("replicas", 1)),
        replicas=int(status.get("replicas", 0)),
        updated=int(status.get("updatedReplicas", 0)),
        ready=int(status.get("readyReplicas", 0)),
        available=int(status.get("availableReplicas", 0)),
        current=status_current(obj),
        failed=progressing.get("reason") == "ProgressDeadlineExceeded",
        failure=_replica_failure(conditions.get("ReplicaFailure", {})),
    )


def _replica_failure(condition: dict[str, Any]) -> str:
    """The message of a Deployment's ReplicaFailure condition (copied from its ReplicaSet when
    a pod create fails), while it holds."""
    if condition.get("status") != "True":
        return ""
    return str(condition.get("message") or condition.get("reason") or "pods cannot be created")


def daemon_set_state(obj: dict[str, Any]) -> WorkloadState:
    status = obj.get("status") or {}
    desired = int(status.get("desiredNumberScheduled", 0))
    return WorkloadState(
        desired=desired,
        replicas=int(status.get("currentNumberScheduled", 0)),
        updated=int(status.get("updatedNumberScheduled", 0)),
        ready=int(status.get("numberReady", 0)),
        available=int(status.get("numberAvailable", 0)),
        current=status_current(obj),
        failed=False,
    )


def workload_state(obj: dict[str, Any]) -> WorkloadState:
    return daemon_set_state(obj) if obj.get("kind") == "DaemonSet" else deployment_state(obj)


@dataclass(frozen=True)
class TaskSummary:
    """What a service's pods tell beyond the workload counts.

    ``failed``: failures of the tasks running the deployment's task definition (container
    restarts, a container that ended in error, a failed pod); ``failed_unhealthy``: the same,
    counting only tasks that are not healthy now (ECS's ``resetOnHealthyTask``); a pod the
    kubelet fails to start counts as the tasks ECS would have started and stopped meanwhile
    (status/start_failures.py). ``unplaced``:
    tasks the scheduler cannot place, with the scheduler's reason for the first one;
    ``unbound``: tasks no node has taken yet (those, and those the scheduler has not looked at
    yet), and ``unbound_revision`` those of them running the deployment's task definition. ECS
    has no task before it placed it, so the service's counts and its "has started" event leave
    them out until a node takes them.
    """

    failed: int = 0
    failed_unhealthy: int = 0
    unplaced: int = 0
    placement_reason: str = ""
    unbound: int = 0
    unbound_revision: int = 0
    #: the tasks running the deployment's task definition that are ready (None: not counted).
    #: A Deployment's readyReplicas counts its old pods and new ones alike.
    ready_revision: int | None = None
    #: seconds until a pod failing to start counts once more (None: none is failing)
    recount_after: float | None = None
    #: the tasks its scheduler stopped (scale-in, a rollout's replacements) that the written
    #: status does not record yet: ECS's "has stopped N running tasks"
    stopped: int = 0
    #: each task definition that has tasks, and how many of them are ready (empty: not
    #: counted), so that each older deployment still draining shows its own
    revisions: Mapping[str, int] = field(default_factory=dict)


def _conditions(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type", ""): c for c in (pod.get("status") or {}).get("conditions") or []}


def pod_failures(pod: dict[str, Any]) -> int:
    """How often the task failed: its containers' restarts, plus one per container that ended
    in error and was not restarted (yet), at least one for a failed pod; of the containers
    whose failure fails the task (:func:`_task_failing`)."""
    status = pod.get("status") or {}
    containers = _task_failing(pod)
    restarts = sum(int(c.get("restartCount", 0)) for c in containers)
    ended = sum(
        1
        for c in containers
        if int(((c.get("state") or {}).get("terminated") or {}).get("exitCode", 0)) != 0
    )
    failures = restarts + ended
    return max(failures, 1) if status.get("phase") == "Failed" else failures


def _task_failing(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The statuses of the containers whose failure fails the task: the essential ones, and
    the run-to-completion steps (init containers) they wait for. A non-essential container's
    exit does not touch its task on ECS; in a pod that does not say which containers are
    essential, every one counts."""
    status = pod.get("status") or {}
    essential = set(essential_containers((pod.get("metadata") or {}).get("annotations") or {}))
    sidecars = {
        c.get("name")
        for c in (pod.get("spec") or {}).get("initContainers") or ()
        if c.get("restartPolicy") == "Always"
    }
    inits = status.get("initContainerStatuses") or ()
    steps = [c for c in inits if c.get("name") not in sidecars]
    lasting = [
        *(c for c in inits if c.get("name") in sidecars),
        *(status.get("containerStatuses") or ()),
    ]
    return [*steps, *(c for c in lasting if not essential or c.get("name") in essential)]


def pod_ready(pod: dict[str, Any]) -> bool:
    return _conditions(pod).get("Ready", {}).get("status") == "True"


#: what the scheduler says when a node's labels or affinity rule out the pod
SELECTOR_MISMATCH = "didn't match Pod's node affinity/selector"


def unschedulable(pod: dict[str, Any]) -> str | None:
    """The scheduler's message when it cannot place the pod, else None. When nodes' labels
    ruled it out, the message names the pod's nodeSelector (the capacity provider's nodes, the
    task definition's platform): the scheduler counts the nodes, it does not say which labels."""
    scheduled = _conditions(pod).get("PodScheduled", {})
    if scheduled.get("status") != "False" or scheduled.get("reason") != "Unschedulable":
        return None
    message = str(scheduled.get("message") or "no node fits")
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    if selector and SELECTOR_MISMATCH in message:
        labels = ", ".join(f"{k}={v}" for k, v in selector.items())
        message = f"{message} The task's nodeSelector: {labels}"
    return message


def placement_failure(unplaced: str, reason: str) -> str:
    """ECS's words for a task it cannot place (``unplaced``: which, and whose), with the
    scheduler's ``reason`` (:func:`unschedulable`)."""
    return f"{unplaced} because no container instance met all of its requirements. Reason: {reason}"


def task_summary(
    pods: Sequence[dict[str, Any]], task_definition: str, now: float, start_failure_grace: float
) -> TaskSummary:
    """The summary of a service's pods; failures count for the pods that run
    ``task_definition`` (``family:revision``, as the renderer annotates them), a pod failing to
    start once per ``start_failure_grace`` seconds (status/start_failures.py) at ``now``."""
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    revision = [
        p
        for p in live
        if (p["metadata"].get("annotations") or {}).get(ANNOTATION_TASK_DEFINITION)
        == task_definition
    ]
    failed, failed_unhealthy, recounts = 0, 0, []
    for pod in revision:
        attempts, recount = failed_attempts(pod, now, start_failure_grace)
        failures = pod_failures(pod) + attempts
        failed += failures
        if not pod_ready(pod):
            failed_unhealthy += failures
        if recount is not None:
            recounts.append(recount)
    reasons = [reason for reason in map(unschedulable, live) if reason]
    ready = _ready_by_revision(live)
    return TaskSummary(
        failed=failed,
        failed_unhealthy=failed_unhealthy,
        unplaced=len(reasons),
        placement_reason=reasons[0] if reasons else "",
        unbound=sum(1 for p in live if not bound(p)),
        unbound_revision=sum(1 for p in revision if not bound(p)),
        ready_revision=ready.get(task_definition, 0),
        recount_after=min(recounts, default=None),
        revisions=ready,
    )


def _ready_by_revision(pods: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Each task definition ``pods`` run, and how many of its pods are ready."""
    ready: dict[str, int] = {}
    for pod in pods:
        name = (pod["metadata"].get("annotations") or {}).get(ANNOTATION_TASK_DEFINITION)
        if name:
            ready[name] = ready.get(name, 0) + pod_ready(pod)
    return ready


def bound(pod: dict[str, Any]) -> bool:
    """Whether a node took the pod (the scheduler bound it, or it was made for that node)."""
    return bool((pod.get("spec") or {}).get("nodeName"))
