"""A task whose container cannot start, stopped as ECS stops it.

The kubelet retries a container it cannot start for as long as the pod lives: a pod whose
image does not exist waits in ``ImagePullBackOff`` for good, so ``aws ecs wait tasks-stopped``
would time out on a typo. ECS's agent retries a pull a few times too, then stops the task:
``STOPPED``, ``stopCode: TaskFailedToStart``, ``stoppedReason`` and the container's ``reason``
``CannotPullContainerError: <the runtime's message>`` (``CannotCreateContainerError`` and
``CannotStartContainerError`` for the later steps). A task counts as failed to start here once
the kubelet has kept failing for a grace period (its own retries, as the agent's) or at once
when no retry can help (an invalid image name, a pod that has ended).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .containers import statuses

#: ECS's error for each step the kubelet reports a container failing in (its waiting or
#: terminated reason)
ECS_ERRORS = {
    "ErrImagePull": "CannotPullContainerError",
    "ImagePullBackOff": "CannotPullContainerError",
    "InvalidImageName": "CannotPullContainerError",
    "ErrImageNeverPull": "CannotPullContainerError",
    "RegistryUnavailable": "CannotPullContainerError",
    "SignatureValidationFailed": "CannotPullContainerError",
    "ErrImageInspect": "CannotPullContainerError",
    "CreateContainerConfigError": "CannotCreateContainerError",
    "CreateContainerError": "CannotCreateContainerError",
    "RunContainerError": "CannotStartContainerError",
    "StartError": "CannotStartContainerError",
    "ContainerCannotRun": "CannotStartContainerError",
}
#: the failures no retry mends: the task stops without waiting out the grace period
PERMANENT = frozenset({"InvalidImageName", "ErrImageNeverPull", "StartError", "ContainerCannotRun"})


@dataclass(frozen=True)
class StartFailure:
    """A container the kubelet cannot start: its (Kubernetes) name, ECS's words for why, and
    the seconds left before the task counts as failed (0: it does now)."""

    container: str
    reason: str
    wait: float


def start_failure(pod: Mapping[str, Any], now: float, grace: float) -> StartFailure | None:
    """The first container of ``pod`` the kubelet fails to start (``now``: seconds since the
    epoch; ``grace``: how long the kubelet's retries are given, from the pod's start)."""
    status = pod.get("status") or {}
    ended = status.get("phase") in ("Succeeded", "Failed")
    for container in statuses(pod):
        state = container.get("state") or {}
        step = state.get("waiting") or state.get("terminated") or {}
        error = ECS_ERRORS.get(str(step.get("reason") or ""))
        if error is None:
            continue
        message = str(step.get("message") or step["reason"])
        if ended or step["reason"] in PERMANENT:
            wait = 0.0
        else:
            wait = max(0.0, grace - (now - _started(pod, now)))
        return StartFailure(container["name"], f"{error}: {message}", wait)
    return None


def _started(pod: Mapping[str, Any], now: float) -> float:
    """When the kubelet took the pod on (its ``startTime``; ``now`` before it has)."""
    stamp = (pod.get("status") or {}).get("startTime")
    return datetime.fromisoformat(stamp).timestamp() if stamp else now
