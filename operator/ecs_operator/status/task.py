"""A task's ECS lifecycle (what ``aws ecs describe-tasks`` shows) read off its Pod.

ECS: PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING -> STOPPING ->
DEPROVISIONING -> STOPPED. Kubernetes gives us: no node yet (PROVISIONING), bound but not
running (PENDING), Running (RUNNING), being deleted (DEPROVISIONING), finished (STOPPED).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecs_operator.render.keys import ANNOTATION_CONTAINER_NAMES
from ecs_operator.status.conditions import condition

ESSENTIAL_EXITED = "EssentialContainerExited"
FAILED_TO_START = "TaskFailedToStart"
USER_INITIATED = "UserInitiated"

STOP_REASONS = {
    ESSENTIAL_EXITED: "Essential container in task exited",
    FAILED_TO_START: "Task failed to start",
    USER_INITIATED: "Task stopped by user",
}


@dataclass(frozen=True)
class TaskState:
    """One task as ECS describes it."""

    last_status: str
    desired_status: str
    containers: list[dict[str, Any]]
    stop_code: str | None = None
    stopped_reason: str | None = None

    @property
    def stopped(self) -> bool:
        return self.last_status == "STOPPED"

    def to_ecs(self, task_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "taskId": task_id,
            "lastStatus": self.last_status,
            "desiredStatus": self.desired_status,
            "containers": self.containers,
        }
        if self.stop_code:
            out["stopCode"] = self.stop_code
            out["stoppedReason"] = self.stopped_reason
        return out


#: How the API server words a refusal of a pod for what it is (Pod Security admission, an
#: admission webhook's policy) rather than for who asks or when (permissions, quotas).
POLICY_REFUSALS = ("violates PodSecurity", "denied the request")


def start_refused(status: int, message: str) -> TaskState | None:
    """The task whose pod the API server refused to create (HTTP ``status``, ``message``):
    STOPPED with TaskFailedToStart and the server's reason, as ECS stops a task that cannot
    start rather than starting it again, when the refusal is about the pod itself (a policy, or
    an invalid pod); None when a retry may get through."""
    if not 400 <= status < 500 or (
        status != 422 and not any(words in message for words in POLICY_REFUSALS)
    ):
        return None
    reason = f"{STOP_REASONS[FAILED_TO_START]}: {message}"
    return TaskState("STOPPED", "STOPPED", [], FAILED_TO_START, reason)


def ecs_names(pod: dict[str, Any]) -> dict[str, str]:
    """Container name -> ECS container name, from the annotation the renderer writes (a
    name it had to change, ``log_router`` as ``log-router``, is reported as ECS's)."""
    metadata = pod.get("metadata") or {}
    text = (metadata.get("annotations") or {}).get(ANNOTATION_CONTAINER_NAMES, "{}")
    try:
        names = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


def _container(status: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    state = status.get("state") or {}
    out: dict[str, Any] = {"name": names.get(status["name"], status["name"])}
    if "terminated" in state:
        terminated = state["terminated"]
        out["lastStatus"] = "STOPPED"
        out["exitCode"] = terminated.get("exitCode")
        if terminated.get("reason"):
            out["reason"] = terminated["reason"]
    elif "running" in state:
        out["lastStatus"] = "RUNNING"
    else:
        out["lastStatus"] = "PENDING"
        waiting = state.get("waiting") or {}
        if waiting.get("reason"):
            out["reason"] = waiting["reason"]
    return out


def _statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container's status: native sidecars (essential or not) report among the init
    containers."""
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def essential_exit(pod: dict[str, Any], essential: Collection[str]) -> dict[str, Any] | None:
    """The first essential container that has terminated, if any (ECS then stops the task)."""
    for status in _statuses(pod):
        if status["name"] in essential and "terminated" in (status.get("state") or {}):
            return _container(status, ecs_names(pod))
    return None


def task_state(
    pod: dict[str, Any] | None, essential: Collection[str], stop_requested: bool
) -> TaskState:
    """The ECS view of a task's pod (None: the pod is gone or not created yet)."""
    desired = "STOPPED" if stop_requested else "RUNNING"
    if pod is None:
        if stop_requested:
            return TaskState("STOPPED", "STOPPED", [], USER_INITIATED, STOP_REASONS[USER_INITIATED])
        return TaskState("PROVISIONING", desired, [])
    status = pod.get("status") or {}
    names = ecs_names(pod)
    containers = [_container(s, names) for s in _statuses(pod)]
    phase = status.get("phase", "Pending")
    exited = essential_exit(pod, essential)
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
        if exited and code == ESSENTIAL_EXITED:
            reason = f"{reason}: {exited['name']} {_EXITED} {exited.get('exitCode')}"
        return TaskState("STOPPED", "STOPPED", containers, code, reason)
    if pod["metadata"].get("deletionTimestamp"):
        if stop_requested:
            return TaskState(
                "DEPROVISIONING",
                "STOPPED",
                containers,
                USER_INITIATED,
                STOP_REASONS[USER_INITIATED],
            )
        return TaskState("DEPROVISIONING", "STOPPED", containers)
    if phase == "Running":
        return TaskState("RUNNING", desired, containers)
    if pod["spec"].get("nodeName"):
        return TaskState("PENDING", desired, containers)
    return TaskState("PROVISIONING", desired, containers)


_EXITED = "exited with code"
_EXIT_CODE = re.compile(rf"{_EXITED} (-?\d+)$")


def failure(states: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first stopped task that failed: its pod could not start, or the essential container
    that stopped it exited non-zero (its code is in the stopped reason, the one record of it
    that outlives the pod: other containers' codes are those of being killed). None when every
    stopped task succeeded or was stopped by its user."""
    for state in states:
        code = state.get("stopCode")
        exited = _EXIT_CODE.search(str(state.get("stoppedReason") or ""))
        if code == FAILED_TO_START or (code == ESSENTIAL_EXITED and exited and exited[1] != "0"):
            return state
    return None


def task_conditions(last_status: str, states: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A Task's ``Ready``, ``Stopped`` and ``Degraded``: Ready while it runs and once it stopped
    as asked or succeeded (a finished batch task is done, as a Job is Complete: kstatus Current);
    Degraded, which kstatus reads as Failed, when a task of it failed (:func:`failure`)."""
    failed = failure(states) if last_status == "STOPPED" else None
    ready = last_status == "RUNNING" or (last_status == "STOPPED" and failed is None)
    return [
        condition("Ready", ready, last_status.title()),
        condition("Stopped", last_status == "STOPPED", last_status.title()),
        condition(
            "Degraded",
            failed is not None,
            str(failed["stopCode"]) if failed else "AsExpected",
            str(failed.get("stoppedReason") or "") if failed else "",
        ),
    ]
