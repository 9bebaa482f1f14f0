"""A task's ECS lifecycle (what ``aws ecs describe-tasks`` shows) read off its Pod (a Task
object's status is put together from its tasks in task_status.py).

ECS: PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING -> STOPPING ->
DEPROVISIONING -> STOPPED. Kubernetes gives us: no node yet (PROVISIONING), bound but not
running (PENDING), Running (RUNNING), being deleted (DEPROVISIONING), finished (STOPPED).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecs_operator.render.keys import ANNOTATION_CONTAINER_NAMES, ANNOTATION_STOPPED_TASKS

from .containers import (
    UNKNOWN,
    container_view,
    statuses,
    task_health,
)
from .containers import containers as container_views
from .start_failures import StartFailure
from .task_moments import MOMENTS, task_moments
from .task_network import attachments
from .task_placement import placed_as_recorded, where_placed

#: ECS's task lifecycle, earliest first: a Task of several tasks is as far as its least advanced
LIFECYCLE = ("PROVISIONING", "PENDING", "RUNNING", "DEPROVISIONING", "STOPPED")
#: the task timestamps a status keeps once set
TIMESTAMPS = ("createdAt", "startedAt", "stoppingAt", "stoppedAt")

ESSENTIAL_EXITED = "EssentialContainerExited"
FAILED_TO_START = "TaskFailedToStart"
USER_INITIATED = "UserInitiated"
#: the infrastructure the task ran on took it: its pod evicted (a drain), its node gone, or
#: deleted by another hand than StopTask's
TERMINATION_NOTICE = "TerminationNotice"

STOP_REASONS = {
    ESSENTIAL_EXITED: "Essential container in task exited",
    FAILED_TO_START: "Task failed to start",
    USER_INITIATED: "Task stopped by user",
    TERMINATION_NOTICE: "Task stopped by Kubernetes: its pod was deleted before the task stopped",
}


@dataclass(frozen=True)
class TaskState:
    """One task as ECS describes it."""

    last_status: str
    desired_status: str
    containers: list[dict[str, Any]]
    stop_code: str | None = None
    stopped_reason: str | None = None
    health_status: str = UNKNOWN
    #: an awsvpc task's network interface (task_network.py)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    #: where it runs (``where_placed``)
    placed: Mapping[str, str] = field(default_factory=dict)
    #: the exit code of the essential container whose exit stopped it (the others' codes are
    #: those of being killed); the record keeps it as :data:`ESSENTIAL_EXIT_CODE`
    essential_exit_code: int | None = None
    #: why the API server refused its pod for now (a full quota): the record keeps it as
    #: :data:`START_HELD`, and the task is tried again
    held: str | None = None

    @property
    def stopped(self) -> bool:
        return self.last_status == "STOPPED"

    def to_ecs(self, task_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "taskId": task_id,
            "lastStatus": self.last_status,
            "desiredStatus": self.desired_status,
            "healthStatus": self.health_status,
            "containers": self.containers,
        }
        if self.attachments:
            out["attachments"] = self.attachments
        out.update(self.placed)
        if self.stop_code:
            out["stopCode"] = self.stop_code
            out["stoppedReason"] = self.stopped_reason
        if self.essential_exit_code is not None:
            out[ESSENTIAL_EXIT_CODE] = self.essential_exit_code
        if self.held is not None:
            out[START_HELD] = self.held
        return out


#: a task record's member that is the operator's, not ECS's: the exit code that stopped the
#: task (task_status.failure reads it; describe-tasks leaves it out, task_records.ecs_record)
ESSENTIAL_EXIT_CODE = "essentialExitCode"
#: the operator's member of the record of a task whose pod the API server refused for now (a
#: full quota): it is PROVISIONING, started again at the next try (left out by ecs_record)
START_HELD = "startHeld"


#: How the API server words a refusal of a pod for what it is (Pod Security admission, an
#: admission webhook's policy, a ValidatingAdmissionPolicy, a LimitRange's bounds) rather than
#: for who asks or when (permissions, a quota that fills and empties).
POLICY_REFUSALS = (
    "violates PodSecurity",
    "denied the request",
    "denied request",
    "usage per Container is",
    "usage per Pod is",
    "limit to request ratio per",
)


def start_refused(status: int, message: str) -> TaskState | None:
    """The task whose pod the API server refused to create (HTTP ``status``, ``message``):
    STOPPED with TaskFailedToStart and the server's reason, as ECS stops a task that cannot
    start rather than starting it again, when the refusal is about the pod itself (a policy, or
    an invalid pod); None when a retry may get through."""
    if not 400 <= status < 500 or (
        status != 422 and not any(words in message for words in POLICY_REFUSALS)
    ):
        return None
    return TaskState("STOPPED", "STOPPED", [], FAILED_TO_START, failed_to_start(message))


def failed_to_start(why: str | None) -> str:
    """The stopped reason of a task that could not start, with ``why`` when it is known."""
    return f"{STOP_REASONS[FAILED_TO_START]}: {why}" if why else STOP_REASONS[FAILED_TO_START]


def _string_map(body: Mapping[str, Any], annotation: str) -> dict[str, str]:
    """The JSON object an annotation of ``body`` holds, as strings; empty where it is missing
    or is not a JSON object (annotations are anyone's to edit)."""
    text = ((body.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def stopped_alone(body: Mapping[str, Any]) -> dict[str, str]:
    """The tasks of a Task that StopTask stopped alone, each with its reason (the annotation
    the ECS API writes)."""
    return _string_map(body, ANNOTATION_STOPPED_TASKS)


def ecs_names(pod: Mapping[str, Any]) -> dict[str, str]:
    """Container name -> ECS container name, from the annotation the renderer writes (a
    name it had to change, ``log_router`` as ``log-router``, is reported as ECS's)."""
    return _string_map(pod, ANNOTATION_CONTAINER_NAMES)


def essential_exit(pod: dict[str, Any], essential: Collection[str]) -> dict[str, Any] | None:
    """The first essential container that has terminated, if any (ECS then stops the task)."""
    for status in statuses(pod):
        if status["name"] in essential and "terminated" in (status.get("state") or {}):
            return container_view(pod, status, ecs_names(pod), False)
    return None


def task_state(
    pod: dict[str, Any] | None,
    essential: Collection[str],
    stop_requested: bool,
    cannot_start: StartFailure | None = None,
    *,
    restarted_in_place: bool = False,
) -> TaskState:
    """The ECS view of a task's pod (None: the pod is gone or not created yet);
    ``cannot_start``: a container of it the kubelet has failed to start for long enough
    (status/start_failures.py); ``restarted_in_place``: a service's pod, whose exited
    containers the kubelet restarts, so that an exit stops its task only once the pod goes."""
    state = _lifecycle(pod, essential, stop_requested, cannot_start, restarted_in_place)
    if state.stopped:
        state = replace(state, containers=all_stopped(state.containers))
    if pod is None:
        return state
    return replace(state, attachments=attachments(pod), placed=where_placed(pod))


def _lifecycle(
    pod: dict[str, Any] | None,
    essential: Collection[str],
    stop_requested: bool,
    cannot_start: StartFailure | None,
    restarted_in_place: bool = False,
) -> TaskState:
    desired = "STOPPED" if stop_requested else "RUNNING"
    if pod is None:
        if stop_requested:
            return TaskState("STOPPED", "STOPPED", [], USER_INITIATED, STOP_REASONS[USER_INITIATED])
        return TaskState("PROVISIONING", desired, [])
    status = pod.get("status") or {}
    names = ecs_names(pod)
    containers = container_views(pod, names)
    health = task_health(pod, essential)
    phase = status.get("phase", "Pending")
    exited = None if restarted_in_place else essential_exit(pod, essential)
    failing = names.get(cannot_start.container, cannot_start.container) if cannot_start else None
    # an essential container that ran and ended decides; one the runtime could not start
    # (terminated with StartError) never ran
    if (
        cannot_start is not None
        and not stop_requested
        and (exited is None or exited["name"] == failing)
    ):
        return TaskState(
            "STOPPED",
            "STOPPED",
            [_failed(view, failing, cannot_start.reason) for view in containers],
            FAILED_TO_START,
            cannot_start.reason,
        )
    taken = None if stop_requested else taken_by_kubernetes(pod)
    if taken is not None:
        # the kubelet stops a taken pod's containers before it goes: their ends are not why
        ended = phase in ("Succeeded", "Failed") or exited
        return TaskState(
            "STOPPED" if ended else "DEPROVISIONING",
            "STOPPED",
            containers,
            TERMINATION_NOTICE,
            taken,
        )
    if phase in ("Succeeded", "Failed") or exited:
        started = any(
            s.get("state", {}).get("terminated", {}).get("startedAt")
            for s in status.get("containerStatuses") or []
        )
        code = (
            USER_INITIATED
            if stop_requested
            else ESSENTIAL_EXITED
            if (exited or started)
            else FAILED_TO_START
        )
        reason = STOP_REASONS[code]
        exit_code = exited.get("exitCode") if exited and code == ESSENTIAL_EXITED else None
        if code == FAILED_TO_START:
            # its node refused it before any container ran (the kubelet's admission: a sysctl
            # not allowlisted, no room left), and says why in the pod's status
            reason = failed_to_start(status.get("message"))
            containers = [_failed(view, None, reason) for view in containers]
        return TaskState(
            "STOPPED", "STOPPED", containers, code, reason, essential_exit_code=exit_code
        )
    if pod["metadata"].get("deletionTimestamp") or stop_requested:
        if stop_requested:  # the operator stops its pod (handlers/task.py): it is on its way
            return TaskState(
                "DEPROVISIONING",
                "STOPPED",
                containers,
                USER_INITIATED,
                STOP_REASONS[USER_INITIATED],
            )
        return TaskState("DEPROVISIONING", "STOPPED", containers)
    if phase == "Running":
        return TaskState("RUNNING", desired, containers, health_status=health)
    if pod["spec"].get("nodeName"):
        return TaskState("PENDING", desired, containers)
    return TaskState("PROVISIONING", desired, containers)


def all_stopped(containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stopped task's containers as ECS lists them: every one STOPPED, one that never ran
    without the kubelet's word for its wait (``PodInitializing``)."""
    return [
        view
        if view.get("lastStatus") == "STOPPED"
        else {k: v for k, v in view.items() if k != "reason"} | {"lastStatus": "STOPPED"}
        for view in containers
    ]


def taken_by_kubernetes(pod: Mapping[str, Any]) -> str | None:
    """Why Kubernetes is taking a task's pod (None: it is not): evicted (a drain, the kubelet's
    own eviction), preempted, its node gone, or deleted by another hand than the operator's,
    which deletes only the pods of tasks recorded STOPPED or asked to stop."""
    disruption = disrupted(pod)
    if disruption is not None:
        return disruption
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return STOP_REASONS[TERMINATION_NOTICE]
    return None


def disrupted(pod: Mapping[str, Any]) -> str | None:
    """Kubernetes' words for disrupting a pod (its ``DisruptionTarget`` condition: evicted by a
    drain or the kubelet, preempted, a tainted or shut-down node), as a stopped reason; None
    when it has none."""
    disruption = next(
        (
            c
            for c in (pod.get("status") or {}).get("conditions") or []
            if c.get("type") == "DisruptionTarget" and c.get("status") == "True"
        ),
        None,
    )
    if disruption is None:
        return None
    return f"Task stopped by Kubernetes: {disruption.get('message') or disruption.get('reason')}"


def _failed(view: dict[str, Any], failing: str | None, reason: str) -> dict[str, Any]:
    """A container's view once its task failed to start, as ECS shows it: STOPPED, and the one
    that could not start (``failing``, its ECS name) with ECS's ``reason``."""
    if view["name"] != failing:
        return {**view, "lastStatus": "STOPPED"}
    return {**view, "lastStatus": "STOPPED", "reason": reason}


def current_state(
    pod: dict[str, Any] | None,
    record: Mapping[str, Any] | None,
    essential: Collection[str],
    stop_requested: bool,
    stop_reason: str | None = None,
    cannot_start: StartFailure | None = None,
) -> TaskState:
    """A task's state from its pod, or from its record in the status when the pod is gone
    (stopped and cleaned up, or deleted: the record is then the truth) or when the task failed
    to start (the record keeps why, which the pod stopped after it no longer shows). A task
    stopped by StopTask shows the ``reason`` its caller gave (``stop_reason``), as ECS shows
    it."""
    if (
        record is not None
        and record["lastStatus"] == "STOPPED"
        and (pod is None or record.get("stopCode") == FAILED_TO_START)
    ):
        return TaskState(
            "STOPPED",
            "STOPPED",
            record.get("containers", []),
            record.get("stopCode"),
            record.get("stoppedReason"),
            placed=placed_as_recorded(record),
            essential_exit_code=record.get(ESSENTIAL_EXIT_CODE),
        )
    if pod is None and record is not None and not stop_requested:
        return held(record) if record.get(START_HELD) else lost(record)
    if pod is None and record is not None:
        state = replace(
            task_state(None, essential, True),
            containers=all_stopped(record.get("containers") or []),
            placed=placed_as_recorded(record),
        )
    else:
        state = task_state(pod, essential, stop_requested, cannot_start)
    if record is not None and record["lastStatus"] == "STOPPED":
        # why and how it stopped are final (a StopTask of a stopped task changes nothing, as
        # on ECS); its pod, still there, may tell its containers' ends in more detail
        return replace(
            state,
            last_status="STOPPED",
            desired_status="STOPPED",
            stop_code=record.get("stopCode"),
            stopped_reason=record.get("stoppedReason"),
            essential_exit_code=record.get(ESSENTIAL_EXIT_CODE),
        )
    if stop_reason and state.stop_code == USER_INITIATED:
        return replace(state, stopped_reason=stop_reason)
    return state


def held(record: Mapping[str, Any]) -> TaskState:
    """A task whose pod the API server refused for now (its record's :data:`START_HELD`: the
    server's words, a full quota): PROVISIONING, as ECS shows a task that waits for room,
    until a try gets its pod created."""
    return TaskState(
        "PROVISIONING",
        "RUNNING",
        record.get("containers") or [],
        placed=placed_as_recorded(record),
        held=str(record[START_HELD]),
    )


def lost(record: Mapping[str, Any]) -> TaskState:
    """A task whose pod went before it stopped, with no StopTask (``record``: as the status
    has it): evicted, its node gone, or deleted by hand; or created just before the operator
    was stopped and gone before it came back. It is STOPPED for good, never started again: a
    task runs at most once."""
    return TaskState(
        "STOPPED",
        "STOPPED",
        all_stopped(record.get("containers") or []),
        TERMINATION_NOTICE,
        STOP_REASONS[TERMINATION_NOTICE],
        placed=placed_as_recorded(record),
    )


def timestamps(
    record: Mapping[str, Any] | None,
    state: TaskState,
    at: str,
    pod: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``createdAt``, ``startedAt``, ``stoppingAt`` (its desired status became STOPPED),
    ``stoppedAt`` of a task: those of its record, and ``at`` for each one it reaches now; and
    the moments its ``pod`` tells (task_moments.py), each kept once known."""
    stamps = {k: v for k, v in (record or {}).items() if k in TIMESTAMPS or k in MOMENTS}
    for moment, value in task_moments(pod).items() if pod is not None else ():
        stamps.setdefault(moment, value)
    stamps.setdefault("createdAt", at)
    if state.last_status == "RUNNING":
        stamps.setdefault("startedAt", at)
    if state.desired_status == "STOPPED":
        stamps.setdefault("stoppingAt", at)
    if state.stopped:
        stamps.setdefault("stoppedAt", at)
    return stamps
