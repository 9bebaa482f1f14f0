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
    wait: float = 0.0


def failing_to_start(pod: Mapping[str, Any]) -> StartFailure | None:
    """The first container of ``pod`` the kubelet reports it failed to start, however long
    ago (``wait`` 0)."""
    found = _failing(pod)
    return StartFailure(found[0], found[2]) if found else None


def start_failure(pod: Mapping[str, Any], now: float, grace: float) -> StartFailure | None:
    """The first container of ``pod`` the kubelet fails to start (``now``: seconds since the
    epoch; ``grace``: how long the kubelet's retries are given, from the pod's start)."""
    found = _failing(pod)
    if found is None:
        return None
    name, kubelet_reason, reason = found
    ended = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    if ended or kubelet_reason in PERMANENT:
        return StartFailure(name, reason)
    return StartFailure(name, reason, max(0.0, grace - (now - _started(pod, now))))


def failed_attempts(pod: Mapping[str, Any], now: float, grace: float) -> tuple[int, float | None]:
    """The failed ECS tasks a pod failing to start stands for, and the seconds until it stands
    for one more (None: it is not failing). ECS stops a task that cannot start and starts
    another, which fails again, and its circuit breaker counts each; the kubelet retries the
    same pod instead. So such a pod counts one failure, and one more for each ``grace`` period
    since its start."""
    if _failing(pod) is None:
        return 0, None
    if grace <= 0:
        return 1, None
    elapsed = max(0.0, now - _started(pod, now))
    periods = int(elapsed // grace)
    return 1 + periods, grace * (periods + 1) - elapsed


def _failing(pod: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """The first container the kubelet fails to start: its name, the kubelet's reason, and
    ECS's words for it (ECS's error and the kubelet's message)."""
    for container in statuses(pod):
        state = container.get("state") or {}
        step = state.get("waiting") or state.get("terminated") or {}
        kubelet_reason = str(step.get("reason") or "")
        error = ECS_ERRORS.get(kubelet_reason)
        if error is not None:
            message = str(step.get("message") or kubelet_reason)
            return container["name"], kubelet_reason, f"{error}: {message}"
    return None


def _started(pod: Mapping[str, Any], now: float) -> float:
    """When the kubelet took the pod on (its ``startTime``; ``now`` before it has)."""
    stamp = (pod.get("status") or {}).get("startTime")
    return datetime.fromisoformat(stamp).timestamp() if stamp else now
