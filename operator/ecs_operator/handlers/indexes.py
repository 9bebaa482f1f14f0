"""The store's indexes and projections.

Indexes answer the lookups made on every event or reconcile without a scan. Each was a scan of
the namespace before, which made N Services cost N² (every pod event looked for its Service
among all of them; every reconcile for its task definition among all families).

Projections keep only what reconcilers read of objects that are many and large: a pod is read
for its metadata, status, node and ServiceAccount, never for its containers' spec (a third of
it), and there are two pods or more per Service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.kube.resources import ECS_SERVICE, ECS_TASK, POD, TASK_DEFINITION
from ecs_operator.kube.store import Indexes, Projections
from ecs_operator.render import keys

#: TaskDefinitions by ``spec.family``
FAMILY = "family"
#: ECS Services by ``spec.serviceName``
SERVICE_NAME = "serviceName"
#: Services and Tasks by the family their ``spec.taskDefinition`` names
USES_FAMILY = "usesFamily"
#: Pods by their ``ecs-operator.dev/service`` label
SERVICE_PODS = "servicePods"


def _spec_value(member: str) -> Any:
    def values(body: dict[str, Any]) -> Iterable[str]:
        value = (body.get("spec") or {}).get(member)
        return [value] if isinstance(value, str) and value else []

    return values


def _used_family(body: dict[str, Any]) -> Iterable[str]:
    text = (body.get("spec") or {}).get("taskDefinition") or ""
    try:
        return [TaskDefinitionRef.parse(text).family]
    except InvalidTaskDefinitionRef:
        return []


def _service_label(body: dict[str, Any]) -> Iterable[str]:
    value = (body["metadata"].get("labels") or {}).get(keys.LABEL_SERVICE)
    return [value] if value else []


INDEXES: Indexes = {
    TASK_DEFINITION: {FAMILY: _spec_value("family")},
    ECS_SERVICE: {SERVICE_NAME: _spec_value("serviceName"), USES_FAMILY: _used_family},
    ECS_TASK: {USES_FAMILY: _used_family},
    POD: {SERVICE_PODS: _service_label},
}


#: the pod spec members reconcilers read (status/task.py, identities.in_use, the nodeSelector
#: that status/workloads.unschedulable names)
POD_SPEC_READ = ("nodeName", "serviceAccountName", "nodeSelector")


def _pod_view(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec") or {}
    return {**body, "spec": {k: spec[k] for k in POD_SPEC_READ if k in spec}}


PROJECTIONS: Projections = {POD: _pod_view}
