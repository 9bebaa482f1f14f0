"""The store's indexes and projections.

Indexes answer the lookups made on every event or reconcile without a scan. Each was a scan of
the namespace before, which made N Services cost N² (every pod event looked for its Service
among all of them; every reconcile for its task definition among all families).

Projections keep only what reconcilers read of objects that are many and large: a pod is read
for its metadata, status, node and ServiceAccount, never for its containers' spec (a third of
it), and there are two pods or more per Service. A tenant decides how large a TaskDefinition
is, and how many there are: its spec, and its ControllerRevisions' data, are kept as compact
JSON text (``kube.store.Packed``), and a spec over ECS's 64 KiB, which the reconcile refuses
unread, as its size alone (see ``task_definition_spec``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.api.size import (
    OBJECT_MAX_BYTES,
    TASK_DEFINITION_MAX_BYTES,
    json_bytes,
    object_size,
    task_definition_size,
)
from ecs_operator.kube.resources import (
    CONTROLLER_REVISION,
    ECS_CLUSTER,
    ECS_SERVICE,
    ECS_TASK,
    POD,
    TASK_DEFINITION,
)
from ecs_operator.kube.store import Indexes, Packed, Projections, unpacked
from ecs_operator.render import keys

#: TaskDefinitions by ``spec.family``
FAMILY = "family"
#: ECS Services by ``spec.serviceName``
SERVICE_NAME = "serviceName"
#: Services and Tasks by the family their ``spec.taskDefinition`` names
USES_FAMILY = "usesFamily"
#: Pods by their ``ecs-operator.dev/service`` label
SERVICE_PODS = "servicePods"
#: Pods by uid (the task metadata endpoint's paths name them so)
POD_UID = "podUid"


def spec_member(body: dict[str, Any], member: str) -> Any:
    """A top-level member of a stored object's spec, packed (only kept members) or not."""
    spec = body.get("spec")
    if isinstance(spec, Packed):
        return spec.kept.get(member)
    return (spec or {}).get(member)


def _spec_value(member: str) -> Any:
    def values(body: dict[str, Any]) -> Iterable[str]:
        value = spec_member(body, member)
        return [value] if isinstance(value, str) and value else []

    return values


def _used_family(body: dict[str, Any]) -> Iterable[str]:
    text = (body.get("spec") or {}).get("taskDefinition") or ""
    try:
        return [TaskDefinitionRef.parse(text).family]
    except InvalidTaskDefinitionRef:
        return []


def _uid(body: dict[str, Any]) -> Iterable[str]:
    uid = body["metadata"].get("uid")
    return [uid] if uid else []


def _service_label(body: dict[str, Any]) -> Iterable[str]:
    value = (body["metadata"].get("labels") or {}).get(keys.LABEL_SERVICE)
    return [value] if value else []


INDEXES: Indexes = {
    TASK_DEFINITION: {FAMILY: _spec_value("family")},
    ECS_SERVICE: {SERVICE_NAME: _spec_value("serviceName"), USES_FAMILY: _used_family},
    ECS_TASK: {USES_FAMILY: _used_family},
    POD: {SERVICE_PODS: _service_label, POD_UID: _uid},
}


#: the pod spec members reconcilers read (status/task.py, identities.in_use, the nodeSelector
#: that status/workloads.unschedulable names, the deadline and grace period with which
#: handlers/task.py stops a task's pod, whether a host task's ports are its host's)
POD_SPEC_READ = (
    "nodeName",
    "serviceAccountName",
    "nodeSelector",
    "activeDeadlineSeconds",
    "terminationGracePeriodSeconds",
    "hostNetwork",
)
#: of each container, what status/containers.py reads: whether it has a health check, and
#: the image it runs (a string the store shares among the pods that run it)
CONTAINER_READ = ("name", "readinessProbe", "image")


def _pod_view(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec") or {}
    kept = {k: spec[k] for k in POD_SPEC_READ if k in spec}
    for member in ("initContainers", "containers"):
        if member in spec:
            kept[member] = [_container_view(c, bool(spec.get("hostNetwork"))) for c in spec[member]]
    return {**body, "spec": kept}


def _container_view(container: dict[str, Any], host: bool) -> dict[str, Any]:
    """What status/ reads of a container; of its ports, those its host binds (a host task's,
    a bridge task's static host ports: status/task_network.py), which few tasks have."""
    kept = {k: container[k] for k in CONTAINER_READ if k in container}
    bound = [p for p in container.get("ports") or [] if host or p.get("hostPort")]
    if bound:
        kept["ports"] = bound
    return kept


#: the spec members of a TaskDefinition read without decoding it: indexed, and read when it goes
TASK_DEFINITION_KEPT = ("family",)


def _task_definition_view(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec") or {}
    text = json_bytes(spec)
    kept = {k: spec[k] for k in TASK_DEFINITION_KEPT if isinstance(spec.get(k), str)}
    over = len(text) > TASK_DEFINITION_MAX_BYTES
    return {**body, "spec": Packed(None if over else text, len(text), kept)}


def _of_a_task_definition(body: dict[str, Any]) -> bool:
    """Whether a ControllerRevision's controller is a TaskDefinition (whose, the reconcile
    checks by uid)."""
    return any(
        ref.get("controller")
        and ref.get("kind") == TASK_DEFINITION.kind
        and ref.get("apiVersion") == TASK_DEFINITION.api_version
        for ref in body["metadata"].get("ownerReferences") or []
    )


def _revision_view(body: dict[str, Any]) -> dict[str, Any]:
    """A task definition revision with its data packed; any other ControllerRevision (the
    cluster's StatefulSets' and DaemonSets' histories, watched only so that a name taken by
    one is reported as a conflict) without its data, which is never read."""
    if "data" not in body:
        return body
    if not _of_a_task_definition(body):
        return {k: v for k, v in body.items() if k != "data"}
    text = json_bytes(body["data"])
    return {**body, "data": Packed(text, len(text))}


def task_definition_spec(body: dict[str, Any]) -> Any:
    """The spec of a stored TaskDefinition, decoded; :class:`EcsValidationError` naming ECS's
    64 KiB limit when the store kept only its size."""
    spec = body.get("spec")
    if isinstance(spec, Packed) and spec.text is None:
        raise EcsValidationError(task_definition_size(spec.size), "TaskDefinition")
    return unpacked(spec) or {}


def revision_data(body: dict[str, Any]) -> Any:
    """The ``data`` of a stored ControllerRevision (a task definition revision: ``{"spec":
    ...}``), decoded."""
    return unpacked(body.get("data")) or {}


#: the spec members of a Service, Task or Cluster read without parsing it (indexes, names)
ECS_OBJECT_KEPT = ("serviceName", "taskDefinition", "cluster", "clusterName", "desiredStatus")
#: where the store notes the size of a spec it did not keep (not a Kubernetes field)
OVERSIZE = "ecs-operator.dev/oversize"


def _ecs_object_view(body: dict[str, Any]) -> dict[str, Any]:
    """A Service, Task or Cluster as it is, unless its spec is over the size limit: then only
    the members indexes and names need, and its size (the reconcile reports the limit)."""
    spec = body.get("spec") or {}
    size = len(json_bytes(spec))
    if size <= OBJECT_MAX_BYTES:
        return body
    kept = {k: spec[k] for k in ECS_OBJECT_KEPT if isinstance(spec.get(k), str)}
    return {**body, "spec": kept, OVERSIZE: size}


def ecs_spec(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """The spec of a stored Service, Task or Cluster; :class:`EcsValidationError` naming the
    size limit when the store kept only its size."""
    if OVERSIZE in body:
        raise EcsValidationError(object_size(body[OVERSIZE], kind), kind)
    spec: dict[str, Any] = body.get("spec") or {}
    return spec


PROJECTIONS: Projections = {
    POD: _pod_view,
    TASK_DEFINITION: _task_definition_view,
    CONTROLLER_REVISION: _revision_view,
    ECS_SERVICE: _ecs_object_view,
    ECS_TASK: _ecs_object_view,
    ECS_CLUSTER: _ecs_object_view,
}
