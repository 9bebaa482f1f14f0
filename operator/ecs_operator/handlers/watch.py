"""kopf watch handlers: every event updates the store and enqueues the object it concerns.

Low-level ``on.event`` handlers keep the operator level-triggered and quiet: kopf writes no
progress annotations of its own, and the reconcilers decide from the store what, if
anything, to write. Children (Deployments, DaemonSets, Pods, ServiceAccounts,
ControllerRevisions, Services, HorizontalPodAutoscalers, PodDisruptionBudgets) enqueue their
ECS owner, so a deleted or hand-edited child is restored and status follows the pods. A
service's pods belong to ReplicaSets, not to the ECS Service: they enqueue the ECS Service
named in their annotations (the circuit breaker counts their restarts, placement failures
come from them).
"""

from __future__ import annotations

from typing import Any

import kopf

from ecs_operator import API_GROUP, API_VERSION
from ecs_operator.kube.client import Resource
from ecs_operator.kube.resources import (
    CONTROLLER_REVISION,
    DAEMON_SET,
    DEPLOYMENT,
    ECS_CLUSTER,
    ECS_SERVICE,
    ECS_TASK,
    HORIZONTAL_POD_AUTOSCALER,
    KUBE_SERVICE,
    NAMESPACE,
    NODE,
    POD,
    POD_DISRUPTION_BUDGET,
    SERVICE_ACCOUNT,
    TASK_DEFINITION,
)
from ecs_operator.metrics import MANAGED_OBJECTS
from ecs_operator.render.keys import ANNOTATION_SERVICE, LABEL_APP_MANAGED_BY, MANAGED_BY

from . import cluster, identities, node_labels, tenancy
from .indexes import SERVICE_NAME
from .runtime import runtime

MANAGED = {LABEL_APP_MANAGED_BY: MANAGED_BY}
OWNER_KINDS = {"TaskDefinition", "Service", "Task", "Cluster"}
ECS_KINDS = {
    TASK_DEFINITION: "TaskDefinition",
    ECS_SERVICE: "Service",
    ECS_TASK: "Task",
    ECS_CLUSTER: "Cluster",
}
CHILDREN = (
    DEPLOYMENT,
    DAEMON_SET,
    POD,
    SERVICE_ACCOUNT,
    CONTROLLER_REVISION,
    KUBE_SERVICE,
    HORIZONTAL_POD_AUTOSCALER,
    POD_DISRUPTION_BUDGET,
)
#: seconds a pod event waits before it reconciles its Service or Task: a pod changes several
#: times a second while it starts (scheduled, running, ready), and its Service's other pods
#: with it; one reconcile per burst instead of one per event
POD_COALESCING = 0.5
#: children that run pods under a task-role ServiceAccount: their deletion may free one
RUN_AS = (DEPLOYMENT, DAEMON_SET, POD)
#: children whose status no reconciler reads: a change of status alone (a PDB's healthy count
#: follows every pod) need not wake their owner. An ECS object's own status change wakes
#: only its Cluster's counts.
STATUS_UNREAD = (POD_DISRUPTION_BUDGET, HORIZONTAL_POD_AUTOSCALER)
#: children watched whatever their labels (the rest carry app.kubernetes.io/managed-by)
UNLABELLED = (CONTROLLER_REVISION,)


def _track(resource: Resource, event: kopf.RawEvent) -> tuple[dict[str, Any], bool]:
    """Store the event's object; returns it, and whether only its status changed (then
    nothing needs reconciling: the reconcile that wrote it, or the controller, already knew)."""
    body: dict[str, Any] = dict(event["object"])
    metadata = body["metadata"]
    rt = runtime()
    before = rt.store.get(resource, metadata.get("namespace") or "", metadata["name"])
    if event.get("type") == "DELETED":
        rt.store.forget(resource, metadata.get("namespace") or "", metadata["name"])
        return body, False
    rt.store.put(resource, body)
    return body, event.get("type") == "MODIFIED" and _only_status_changed(before, body)


def _only_status_changed(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether ``after`` differs from ``before`` in its status only (same spec generation,
    labels, annotations, owners and finalizers)."""
    if before is None or after["metadata"].get("deletionTimestamp"):
        return False
    return all(
        before["metadata"].get(key) == after["metadata"].get(key)
        for key in ("uid", "generation", "labels", "annotations", "ownerReferences", "finalizers")
    )


def _owners(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    namespace = body["metadata"].get("namespace") or ""
    return [
        (ref["kind"], namespace, ref["name"])
        for ref in body["metadata"].get("ownerReferences") or []
        if ref.get("apiVersion") == f"{API_GROUP}/{API_VERSION}" and ref["kind"] in OWNER_KINDS
    ]


def _services_of_pod(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The ECS Services whose serviceName a service pod's annotation names."""
    service = (body["metadata"].get("annotations") or {}).get(ANNOTATION_SERVICE)
    if not service:
        return []
    namespace = body["metadata"].get("namespace") or ""
    return [
        ("Service", namespace, ecs["metadata"]["name"])
        for ecs in runtime().store.indexed(ECS_SERVICE, SERVICE_NAME, namespace, service)
    ]


def _ecs_handler(resource: Resource, kind: str) -> None:
    @kopf.on.event(resource.group, resource.version, resource.plural, id=f"watch-{resource.plural}")
    async def handler(event: kopf.RawEvent, **_: Any) -> None:
        body, status_only = _track(resource, event)
        metadata = body["metadata"]
        rt = runtime()
        if not status_only:
            rt.queue.add(kind, metadata["namespace"], metadata["name"])
        MANAGED_OBJECTS.labels(kind=kind).set(rt.store.count(resource))
        if kind != "Cluster":
            rt.queue.add("Cluster", metadata["namespace"], "*", after=cluster.REFRESH)


def _child_handler(resource: Resource) -> None:
    labels = None if resource in UNLABELLED else MANAGED

    @kopf.on.event(
        resource.group,
        resource.version,
        resource.plural,
        labels=labels,
        id=f"watch-{resource.plural}",
    )
    async def handler(event: kopf.RawEvent, **_: Any) -> None:
        body, status_only = _track(resource, event)
        if status_only and resource in STATUS_UNREAD:
            return
        owners = _owners(body)
        if resource == POD and not owners:
            owners = _services_of_pod(body)
        queue = runtime().queue
        delay = POD_COALESCING if resource == POD else 0.0
        for key in owners:
            queue.add(*key, after=delay)
        if event.get("type") == "DELETED" and resource in RUN_AS:
            queue.add(identities.KIND, body["metadata"]["namespace"], "*", identities.SWEEP_DELAY)


def _node_handler() -> None:
    @kopf.on.event(NODE.group, NODE.version, NODE.plural, id="watch-nodes")
    async def handler(event: kopf.RawEvent, **_: Any) -> None:
        before = runtime().store.get(NODE, "", event["object"]["metadata"]["name"])
        after = None if event.get("type") == "DELETED" else event["object"]
        _track(NODE, event)
        for namespace in {ns for ns, _ in _cluster_keys()}:
            runtime().queue.add("Cluster", namespace, "*", after=cluster.REFRESH)
        if node_labels.labels_changed(before, after):
            for namespace, name in node_labels.regex_services():
                runtime().queue.add("Service", namespace, name)


def _namespace_handler() -> None:
    """The admin's tenancy annotations (policy.py) live on Namespaces: when they change, every
    Service and Task of the namespace is decided again (a role allowed at last starts them)."""

    @kopf.on.event(NAMESPACE.group, NAMESPACE.version, NAMESPACE.plural, id="watch-namespaces")
    async def handler(event: kopf.RawEvent, **_: Any) -> None:
        name = event["object"]["metadata"]["name"]
        before = tenancy.policy_annotations(runtime().store.get(NAMESPACE, "", name))
        body = _track(NAMESPACE, event)[0]
        if event.get("type") == "DELETED" or tenancy.policy_annotations(body) == before:
            return
        rt = runtime()
        for resource, kind in ((ECS_SERVICE, "Service"), (ECS_TASK, "Task")):
            for ecs in rt.store.all(resource, name):
                rt.queue.add(kind, name, ecs["metadata"]["name"])


def _cluster_keys() -> list[tuple[str, str]]:
    return [
        (b["metadata"]["namespace"], b["metadata"]["name"])
        for b in runtime().store.all(ECS_CLUSTER)
    ]


def register() -> None:
    for resource, kind in ECS_KINDS.items():
        _ecs_handler(resource, kind)
    for resource in CHILDREN:
        _child_handler(resource)
    _node_handler()
    _namespace_handler()


async def prewarm(namespaces: list[str]) -> None:
    """Fill the store with a LIST of everything before the first reconcile, so that a restart
    of a converged operator finds every child where it is and writes nothing."""
    rt = runtime()
    scopes: list[str | None] = list(namespaces) or [None]
    for resource in (*ECS_KINDS, *CHILDREN):
        labelled = resource in CHILDREN and resource not in UNLABELLED
        selector = f"{LABEL_APP_MANAGED_BY}={MANAGED_BY}" if labelled else ""
        for namespace in scopes:
            async for page in rt.client.list(resource, namespace, selector):
                for item in page:
                    rt.store.put(resource, item)
    for cluster_scoped in (NODE, NAMESPACE):
        async for page in rt.client.list(cluster_scoped):
            for item in page:
                rt.store.put(cluster_scoped, item)
    # accounts whose users went while the operator was away
    for account in rt.store.all(SERVICE_ACCOUNT):
        rt.queue.add(identities.KIND, account["metadata"]["namespace"], "*")
