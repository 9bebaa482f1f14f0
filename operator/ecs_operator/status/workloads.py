"""Deployment and DaemonSet status, reduced to what an ECS service reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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

    @property
    def complete(self) -> bool:
        return (
            self.current
            and self.updated == self.desired
            and self.replicas == self.desired
            and self.available == self.desired
        )


def _current(obj: dict[str, Any]) -> bool:
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
        current=_current(obj),
        failed=progressing.get("reason") == "ProgressDeadlineExceeded",
    )


def daemon_set_state(obj: dict[str, Any]) -> WorkloadState:
    status = obj.get("status") or {}
    desired = int(status.get("desiredNumberScheduled", 0))
    return WorkloadState(
        desired=desired,
        replicas=int(status.get("currentNumberScheduled", 0)),
        updated=int(status.get("updatedNumberScheduled", 0)),
        ready=int(status.get("numberReady", 0)),
        available=int(status.get("numberAvailable", 0)),
        current=_current(obj),
        failed=False,
    )


def workload_state(obj: dict[str, Any]) -> WorkloadState:
    return daemon_set_state(obj) if obj.get("kind") == "DaemonSet" else deployment_state(obj)
