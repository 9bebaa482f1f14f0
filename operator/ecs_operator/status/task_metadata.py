"""A task as its own containers read it from the ECS task metadata endpoint: what
``${ECS_CONTAINER_METADATA_URI_V4}`` answers (the container asking) and what ``…/task`` answers
(its task), in the endpoint's own shape (PascalCase, the ECS agent's field names).

On ECS every container finds that endpoint in its environment, and a good deal of software
reads it at startup: log routers (FireLens' init image), the Datadog and OpenTelemetry
collectors' ECS detectors, and applications that log or report their task's ARN. Read off the
task's pod (the same reading as describe-tasks: ``task.task_state``, ``containers``) and the
task definition revision it runs (``spec``, its RegisterTaskDefinition request as recorded).
Pure; the operator serves it (handlers/task_metadata.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecs_operator.api.identifiers import container_arn
from ecs_operator.api.types import CPU_UNITS_PER_VCPU
from ecs_operator.render.metadata import essential_containers

from .containers import checked, containers, statuses
from .task import TaskState, ecs_names, task_state
from .task_network import addresses, network_mode
from .task_placement import on_fargate

Body = dict[str, Any]
#: the sizes the endpoint shows of a task and of each container, which a RunTask may override
SIZES = ("cpu", "memory")


@dataclass(frozen=True, slots=True)
class TaskIdentity:
    """Who the task is in ECS's words: its cluster (name and ARN), its ARN, the revision it
    runs, and its service, if a service's."""

    cluster: str
    cluster_arn: str
    task_arn: str
    family: str
    revision: str
    service: str | None = None


def task_metadata(pod: Mapping[str, Any], spec: Mapping[str, Any], who: TaskIdentity) -> Body:
    """``${ECS_CONTAINER_METADATA_URI_V4}/task``: the task and each of its containers. The
    cluster is named by its ARN on Fargate and by its name elsewhere, as ECS names it. Pull
    times are not known here (the kubelet reports no such moment), and not shown."""
    state = _state(pod)
    placed = state.placed
    out: Body = {
        "Cluster": who.cluster_arn if on_fargate(placed) else who.cluster,
        "TaskARN": who.task_arn,
        "Family": who.family,
        "Revision": who.revision,
        "DesiredStatus": state.desired_status,
        "KnownStatus": state.last_status,
    }
    if who.service:
        out["ServiceName"] = who.service
    limits = _task_limits(spec)
    if limits:
        out["Limits"] = limits
    if placed.get("availabilityZone"):
        out["AvailabilityZone"] = placed["availabilityZone"]
    if placed.get("launchType"):
        out["LaunchType"] = placed["launchType"]
    out["Containers"] = [_container(pod, spec, who, view, state) for view in _views(pod)]
    return out


def container_metadata(
    pod: Mapping[str, Any], spec: Mapping[str, Any], who: TaskIdentity, name: str
) -> Body | None:
    """``${ECS_CONTAINER_METADATA_URI_V4}``: the container ``name`` (its ECS name) of the
    task, or None when the task has no such container."""
    view = next((v for v in _views(pod) if v["name"] == name), None)
    return None if view is None else _container(pod, spec, who, view, _state(pod))


def _container(
    pod: Mapping[str, Any],
    spec: Mapping[str, Any],
    who: TaskIdentity,
    view: Mapping[str, Any],
    state: TaskState,
) -> Body:
    """One container (``view``: as describe-tasks shows it) of the task in ``state``."""
    name = view["name"]
    by_ecs_name = {ecs: k8s for k8s, ecs in ecs_names(pod).items()}
    k8s_name = by_ecs_name.get(name, name)
    definition = _definition(spec, name)
    out: Body = {"DockerId": view.get("runtimeId", ""), "Name": name, "DockerName": k8s_name}
    out["ContainerARN"] = container_arn(who.task_arn, name)
    image = definition.get("image") or view.get("image")
    if image:
        out["Image"] = image
    if view.get("imageDigest"):
        out["ImageID"] = view["imageDigest"]
    out["Labels"] = {
        "com.amazonaws.ecs.cluster": who.cluster,
        "com.amazonaws.ecs.container-name": name,
        "com.amazonaws.ecs.task-arn": who.task_arn,
        "com.amazonaws.ecs.task-definition-family": who.family,
        "com.amazonaws.ecs.task-definition-version": who.revision,
        **(definition.get("dockerLabels") or {}),
    }
    out["DesiredStatus"] = state.desired_status
    out["KnownStatus"] = view["lastStatus"]
    out["Limits"] = _container_limits(definition)
    out.update(_moments(pod, k8s_name))
    out["Type"] = "NORMAL"
    logging = definition.get("logConfiguration") or {}
    if logging.get("logDriver"):
        out["LogDriver"] = logging["logDriver"]
        out["LogOptions"] = dict(logging.get("options") or {})
    if k8s_name in checked(pod):
        out["Health"] = {"status": view.get("healthStatus", "UNKNOWN")}
    ports = _ports(view)
    if ports:
        out["Ports"] = ports
    out["Networks"] = _networks(pod)
    return out


def with_overrides(spec: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> Body:
    """The revision's ``spec`` with a RunTask's ``overrides`` of the sizes it shows: the task's
    ``cpu`` and ``memory``, each container's ``cpu`` and ``memory``."""
    if not overrides:
        return dict(spec)
    sized = {k: overrides[k] for k in SIZES if overrides.get(k)}
    changed = {c.get("name"): c for c in overrides.get("containerOverrides") or ()}
    definitions = [
        {**d, **{k: v for k, v in changed.get(d.get("name"), {}).items() if k in SIZES and v}}
        for d in spec.get("containerDefinitions") or ()
    ]
    return {**spec, **sized, "containerDefinitions": definitions}


def _views(pod: Mapping[str, Any]) -> list[Body]:
    return containers(pod, ecs_names(pod))


def _state(pod: Mapping[str, Any]) -> TaskState:
    metadata = pod.get("metadata") or {}
    essential = essential_containers(metadata.get("annotations") or {})
    # a service's pod (restartPolicy Always) has its exited containers restarted in place
    in_place = ((pod.get("spec") or {}).get("restartPolicy") or "Always") == "Always"
    deleting = bool(metadata.get("deletionTimestamp"))
    return task_state(dict(pod), essential, deleting, restarted_in_place=in_place)


def _definition(spec: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return next((c for c in spec.get("containerDefinitions") or () if c.get("name") == name), {})


def _task_limits(spec: Mapping[str, Any]) -> Body:
    """The task size: ``CPU`` in vCPUs, ``Memory`` in MiB, each where the task has one."""
    limits: Body = {}
    if spec.get("cpu"):
        limits["CPU"] = int(spec["cpu"]) / CPU_UNITS_PER_VCPU
    if spec.get("memory"):
        limits["Memory"] = int(spec["memory"])
    return limits


def _container_limits(definition: Mapping[str, Any]) -> Body:
    """A container's ``CPU`` (units, 0 when it names none, as ECS shows it) and ``Memory``
    (MiB, its hard limit, where it has one)."""
    limits: Body = {"CPU": int(definition.get("cpu") or 0)}
    if definition.get("memory"):
        limits["Memory"] = int(definition["memory"])
    return limits


def _moments(pod: Mapping[str, Any], k8s_name: str) -> Body:
    """When the container was created, started and finished, and how it exited."""
    state = next((s.get("state") or {} for s in statuses(pod) if s.get("name") == k8s_name), {})
    out: Body = {}
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    if created:
        out["CreatedAt"] = created
    ran = state.get("running") or state.get("terminated") or {}
    if ran.get("startedAt"):
        out["StartedAt"] = ran["startedAt"]
    ended = state.get("terminated") or {}
    if ended.get("finishedAt"):
        out["FinishedAt"] = ended["finishedAt"]
    if "exitCode" in ended:
        out["ExitCode"] = ended["exitCode"]
    return out


def _networks(pod: Mapping[str, Any]) -> list[Body]:
    """The task's network: its mode and its pod's addresses (one network for the whole pod)."""
    ipv4, ipv6 = addresses(pod)
    network: Body = {"NetworkMode": network_mode(pod), "IPv4Addresses": [ipv4] if ipv4 else []}
    if ipv6:
        network["IPv6Addresses"] = [ipv6]
    return [network]


def _ports(view: Mapping[str, Any]) -> list[Body]:
    """The container's ports on its host (a bridge task's static host ports, a host task's),
    as describe-tasks' ``networkBindings`` show them."""
    return [
        {
            "ContainerPort": binding["containerPort"],
            "Protocol": binding["protocol"],
            "HostPort": binding["hostPort"],
            "HostIp": binding["bindIP"],
        }
        for binding in view.get("networkBindings") or ()
    ]
