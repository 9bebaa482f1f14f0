"""A task's containers as ECS describes them, read off the Pod the kubelet runs them in:
``lastStatus``, ``exitCode``, ``reason`` in ECS's words, ``healthStatus``, what each runs
(``image``, ``imageDigest``, ``runtimeId``) and where it is reached (task_network.py).

Health: a container with an ECS ``healthCheck`` has a readiness probe (render/health.py), so the
kubelet's ``ready`` is the check's verdict. ECS says ``UNKNOWN`` until a check has a result, so a
container that is not ready is ``UNHEALTHY`` only once the check has failed after passing or the
kubelet restarted it (liveness); before that it is still starting. A task's health is that of
its essential containers with a health check: ``UNHEALTHY`` if one is, ``HEALTHY`` if all are,
else ``UNKNOWN`` (as the ECS agent derives it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from .task_network import container_network

HEALTHY, UNHEALTHY, UNKNOWN = "HEALTHY", "UNHEALTHY", "UNKNOWN"

#: the kubelet's reason for a container the kernel's OOM killer ended, in ECS's words
OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"
TERMINATED_REASONS = {"OOMKilled": OUT_OF_MEMORY}
#: the kubelet's words for any exit, which ECS does not give (an exited container's exit code
#: says it all)
PLAIN_EXITS = ("Completed", "Error")


def statuses(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every container's status: native sidecars (essential or not) report among the init
    containers."""
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def spec_containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every container of the pod's spec, its native sidecars (init containers) first."""
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def checked(pod: Mapping[str, Any]) -> frozenset[str]:
    """The containers with an ECS health check: those the renderer gave a readiness probe."""
    return frozenset(c["name"] for c in spec_containers(pod) if c.get("readinessProbe"))


def _became_unready_after(pod: Mapping[str, Any], started: str | None) -> bool:
    """Whether the pod stopped being Ready after ``started`` (it was ready, then a check
    failed): the Ready condition turned False later than the container started."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    ready: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    turned = ready.get("lastTransitionTime")
    # RFC 3339 timestamps of one clock in UTC ("Z") compare as text
    return ready.get("status") == "False" and bool(started and turned and turned > started)


def health_status(pod: Mapping[str, Any], status: Mapping[str, Any], has_check: bool) -> str:
    """One container's ECS ``healthStatus``."""
    running = (status.get("state") or {}).get("running")
    if not has_check or running is None:
        return UNKNOWN
    if status.get("ready"):
        return HEALTHY
    failed = int(status.get("restartCount", 0)) > 0 or _became_unready_after(
        pod, running.get("startedAt")
    )
    return UNHEALTHY if failed else UNKNOWN


def container_view(
    pod: Mapping[str, Any], status: Mapping[str, Any], names: Mapping[str, str], has_check: bool
) -> dict[str, Any]:
    """One container of the task (``names``: Kubernetes name -> ECS name)."""
    state = status.get("state") or {}
    out: dict[str, Any] = {"name": names.get(status["name"], status["name"])}
    if "terminated" in state:
        terminated = state["terminated"]
        out["lastStatus"] = "STOPPED"
        out["exitCode"] = terminated.get("exitCode")
        reason = terminated.get("reason")
        if reason and reason not in PLAIN_EXITS:
            out["reason"] = TERMINATED_REASONS.get(reason, reason)
    elif "running" in state:
        out["lastStatus"] = "RUNNING"
    else:
        out["lastStatus"] = "PENDING"
        waiting = state.get("waiting") or {}
        if waiting.get("reason"):
            out["reason"] = waiting["reason"]
    out["healthStatus"] = health_status(pod, status, has_check)
    container = next((c for c in spec_containers(pod) if c.get("name") == status["name"]), {})
    out.update(_runtime(container, status))
    out.update(container_network(pod, container))
    return out


def _runtime(container: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """What the container runs, as ECS names it: ``image`` as the task definition (or an
    override) wrote it, ``imageDigest`` the runtime pulled, and ``runtimeId`` (the
    container's id in its runtime, as the ECS agent's Docker id is)."""
    out: dict[str, Any] = {"image": container["image"]} if container.get("image") else {}
    # the manifest's digest where the runtime knows the image by one (``name@sha256:…``), not
    # an image's own id (a bare ``sha256:…``, of an image loaded rather than pulled)
    _, at, digest = str(status.get("imageID") or "").rpartition("@")
    if at and digest.startswith("sha256:"):
        out["imageDigest"] = digest
    runtime = str(status.get("containerID") or "").partition("://")[2]
    if runtime:
        out["runtimeId"] = runtime
    return out


def containers(pod: Mapping[str, Any], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every container of the task's pod as ECS describes it, in its task definition's order
    (``names``, Kubernetes name -> ECS name, is in that order; the pod's own order where its
    annotation is missing): ECS lists each container of a task from its start, one the kubelet
    has not reported yet as PENDING."""
    with_check = checked(pod)
    reported = {s["name"]: s for s in statuses(pod)}
    order = dict.fromkeys([*names, *(c["name"] for c in spec_containers(pod)), *reported])
    return [
        container_view(pod, reported.get(name, {"name": name}), names, name in with_check)
        for name in order
    ]


def task_health(pod: Mapping[str, Any], essential: Collection[str]) -> str:
    """The task's ``healthStatus`` from its essential containers with a health check (one not
    reported yet has no verdict: UNKNOWN)."""
    reported = {s["name"]: s for s in statuses(pod)}
    verdicts = [
        health_status(pod, reported.get(name, {}), True)
        for name in checked(pod)
        if name in essential
    ]
    if UNHEALTHY in verdicts:
        return UNHEALTHY
    return HEALTHY if verdicts and all(v == HEALTHY for v in verdicts) else UNKNOWN


def seconds_finished(pod: Mapping[str, Any], now: float) -> float:
    """Seconds since the pod's last container ended (``now``: seconds since the epoch), what a
    stopped task's retention counts from; since its creation when no container reports an end
    (a pod that never started)."""
    ends = [
        str(((s.get("state") or {}).get("terminated") or {}).get("finishedAt") or "")
        for s in statuses(pod)
    ]
    stamp = max(ends, default="") or str((pod.get("metadata") or {}).get("creationTimestamp") or "")
    if not stamp:
        return 0.0
    return now - datetime.fromisoformat(stamp).timestamp()
