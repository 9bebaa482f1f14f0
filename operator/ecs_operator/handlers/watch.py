"""kopf watch handlers: every event updates the store and enqueues the object it concerns.

Low-level ``on.event`` handlers keep the operator level-triggered and quiet: kopf writes no
progress annotations of its own, and the reconcilers decide from the store what, if
anything, to write. Children (Deployments, DaemonSets, Pods, ServiceAccounts,
ControllerRevisions, Services, HorizontalPodAutoscalers, PodDisruptionBudgets) enqueue their
ECS owner, so a deleted or hand-edited child is restored and status follows the pods. A
service's pods belong to ReplicaSets, not to the ECS Service: they enqueue the ECS Service
named in their annotations (the circuit breaker counts their restarts, placement failures
come from them).

The reconcile context reaches these handlers through kopf's ``memo`` (runner.py puts it there
at startup, before any watch starts).
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

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
    SCHEDULED_TASK,
    SERVICE_ACCOUNT,
    TASK_DEFINITION,
)
from ecs_operator.kube.store import Store
from ecs_operator.metrics import MANAGED_OBJECTS
from ecs_operator.render.keys import ANNOTATION_SERVICE, LABEL_APP_MANAGED_BY, MANAGED_BY
from ecs_operator.status.cluster import cluster_name_of, cluster_of
from ecs_operator.status.service_tasks import stopped_task

from . import node_labels, tenancy
from .context import Context
from .indexes import SERVICE_NAME
from .queue import Key, Kind
from .stops import Deletion

MANAGED = {LABEL_APP_MANAGED_BY: MANAGED_BY}
ECS_KINDS = {
    TASK_DEFINITION: Kind.TASK_DEFINITION,
    ECS_SERVICE: Kind.SERVICE,
    ECS_TASK: Kind.TASK,
    ECS_CLUSTER: Kind.CLUSTER,
    SCHEDULED_TASK: Kind.SCHEDULED_TASK,
}
OWNER_KINDS = {kind.value: kind for kind in ECS_KINDS.values()}
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
#: children that run pods under a task-role ServiceAccount: their deletion may free one
RUN_AS = (DEPLOYMENT, DAEMON_SET, POD)
#: children whose status no reconciler reads: a change of status alone (a PDB's healthy count
#: follows every pod) need not wake their owner. An ECS object's own status change wakes
#: only its Cluster's counts.
STATUS_UNREAD = (POD_DISRUPTION_BUDGET, HORIZONTAL_POD_AUTOSCALER)
#: children watched whatever their labels (the rest carry app.kubernetes.io/managed-by)
UNLABELLED = (CONTROLLER_REVISION,)


#: the queue key of the store's check (handlers/prewarm.py ``confirm``): one for the whole store
CONFIRM = Key(Kind.PREWARMED, "", "*")


def queue_key(kind: Kind, namespace: str, name: str) -> Key:
    """The key an ECS object's change wakes. A Cluster's is its namespace's (``*``), the key
    that every change in the namespace wakes after the refresh delay: were a Cluster's own
    key another, two workers could write its counts at once, and the later write of the
    older count would stand until the namespace next changed."""
    return Key(kind, namespace, "*" if kind is Kind.CLUSTER else name)


def cluster_users(store: Store, cluster: dict[str, Any]) -> list[Key]:
    """The Services and Tasks that name a Cluster whose spec changed, or that went: its
    capacity providers and default strategy decide where they run, and its absence is theirs
    to report (ClusterNotFound), not a status that still reads Ready."""
    namespace, name = cluster["metadata"]["namespace"], cluster_name_of(cluster)
    return [
        Key(kind, namespace, body["metadata"]["name"])
        for resource, kind in ((ECS_SERVICE, Kind.SERVICE), (ECS_TASK, Kind.TASK))
        for body in store.all(resource, namespace)
        if cluster_of(body) == name
    ]


def context(memo: kopf.Memo) -> Context:
    """The reconcile context runner.py put in kopf's memo at startup."""
    return cast(Context, memo["context"])


class Tracked(NamedTuple):
    """An event's object, as the store held it before the event, and whether only its status
    changed (then nothing needs reconciling: the reconcile that wrote it, or the controller,
    already knew)."""

    body: dict[str, Any]
    before: dict[str, Any] | None
    status_only: bool


def _track(ctx: Context, resource: Resource, event: kopf.RawEvent) -> Tracked:
    """Store the event's object (forget it, if it was deleted). Any event opens the queue: the
    watches run, so the operator is not paused (handlers/queue.py)."""
    ctx.queue.open()
    body: dict[str, Any] = dict(event["object"])
    metadata = body["metadata"]
    before = ctx.store.get(resource, metadata.get("namespace") or "", metadata["name"])
    if event.get("type") == "DELETED":
        ctx.store.forget(
            resource, metadata.get("namespace") or "", metadata["name"], metadata.get("uid")
        )
        return Tracked(body, before, False)
    if event.get("type") is None:  # a listing: the watch (re)started
        window = ctx.timers.prewarm_confirm
        if ctx.relists.listing(ctx.store, resource, ctx.clock(), window):
            ctx.queue.add(CONFIRM, after=window)
    ctx.store.put(resource, body)
    status_only = event.get("type") == "MODIFIED" and _only_status_changed(before, body)
    return Tracked(body, before, status_only)


def _only_status_changed(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether ``after`` differs from ``before`` in its status only (same spec generation,
    labels, annotations, owners and finalizers)."""
    if before is None or after["metadata"].get("deletionTimestamp"):
        return False
    return all(
        before["metadata"].get(key) == after["metadata"].get(key)
        for key in ("uid", "generation", "labels", "annotations", "ownerReferences", "finalizers")
    )


def owner_keys(body: dict[str, Any]) -> list[Key]:
    """The ECS objects that own ``body`` (a child), as queue keys."""
    namespace = body["metadata"].get("namespace") or ""
    return [
        queue_key(OWNER_KINDS[ref["kind"]], namespace, ref["name"])
        for ref in body["metadata"].get("ownerReferences") or []
        if ref.get("apiVersion") == f"{API_GROUP}/{API_VERSION}" and ref["kind"] in OWNER_KINDS
    ]


def _services_of_pod(store: Store, body: dict[str, Any]) -> list[Key]:
    """The ECS Services whose serviceName a service pod's annotation names."""
    service = (body["metadata"].get("annotations") or {}).get(ANNOTATION_SERVICE)
    if not service:
        return []
    namespace = body["metadata"].get("namespace") or ""
    return [
        Key(Kind.SERVICE, namespace, ecs["metadata"]["name"])
        for ecs in store.indexed(ECS_SERVICE, SERVICE_NAME, namespace, service)
    ]


def _deletion_starts(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether ``after`` is the first view of a pod being deleted (``before`` was not)."""
    deleting = "deletionTimestamp"
    return not before["metadata"].get(deleting) and bool(after["metadata"].get(deleting))


def service_pod_event(
    ctx: Context, kind: str | None, body: dict[str, Any], before: dict[str, Any] | None
) -> list[Key]:
    """The Services a service pod's event (``kind``: ADDED, MODIFIED, DELETED) concerns; a
    deletion's start and its end (the task's stop) noted on the way."""
    owners = _services_of_pod(ctx.store, body)
    if owners and before is not None and _deletion_starts(before, body):
        ctx.stops.deleting(body["metadata"]["uid"], Deletion(before, body))
    if kind == "DELETED":
        _record_stop(ctx, body, before, owners)
    return owners


def _record_stop(
    ctx: Context, pod: dict[str, Any], seen: dict[str, Any] | None, services: list[Key]
) -> None:
    """A service's pod is gone (``seen``: as the store held it before): its task stopped, for
    its Service's status to keep, read off the pod as it was before its deletion began."""
    deletion = ctx.stops.deletion(pod["metadata"]["uid"])
    live, began = (deletion.live, deletion.began) if deletion else (None, seen)
    for key in services:
        service = ctx.store.get(ECS_SERVICE, key.namespace, key.name) or {}
        deployments = (service.get("status") or {}).get("deployments") or []
        ctx.stops.add(key, stopped_task(pod, deployments, ctx.clock(), began, live))


def _ecs_handler(resource: Resource, kind: Kind) -> None:
    @kopf.on.event(resource.group, resource.version, resource.plural, id=f"watch-{resource.plural}")
    async def handler(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
        ctx = context(memo)
        tracked = _track(ctx, resource, event)
        metadata = tracked.body["metadata"]
        if not tracked.status_only:
            ctx.queue.add(queue_key(kind, metadata["namespace"], metadata["name"]))
            if kind is Kind.CLUSTER:
                for user in cluster_users(ctx.store, tracked.body):
                    ctx.queue.add(user)
        MANAGED_OBJECTS.labels(kind=kind.value).set(ctx.store.count(resource))
        if kind not in (Kind.CLUSTER, Kind.SCHEDULED_TASK):
            refresh = queue_key(Kind.CLUSTER, metadata["namespace"], "*")
            ctx.queue.add(refresh, after=ctx.timers.cluster_refresh)


def _child_handler(resource: Resource) -> None:
    labels = None if resource in UNLABELLED else MANAGED

    @kopf.on.event(
        resource.group,
        resource.version,
        resource.plural,
        labels=labels,
        id=f"watch-{resource.plural}",
    )
    async def handler(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
        ctx = context(memo)
        body, before, status_only = _track(ctx, resource, event)
        if status_only and resource in STATUS_UNREAD:
            return
        owners = owner_keys(body)
        if resource == POD and not owners:
            owners = service_pod_event(ctx, event.get("type"), body, before)
        # a pod changes several times a second while it starts (scheduled, running, ready),
        # and its Service's other pods with it: one reconcile per burst, not one per event
        delay = ctx.timers.pod_coalescing if resource == POD else 0.0
        for key in owners:
            ctx.queue.add(key, after=delay)
        if event.get("type") == "DELETED" and resource in RUN_AS:
            sweep = Key(Kind.ACCOUNTS, body["metadata"]["namespace"], "*")
            ctx.queue.add(sweep, after=ctx.timers.account_sweep_delay)


def _node_handler() -> None:
    @kopf.on.event(NODE.group, NODE.version, NODE.plural, id="watch-nodes")
    async def handler(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
        ctx = context(memo)
        tracked = _track(ctx, NODE, event)
        after = None if event.get("type") == "DELETED" else tracked.body
        namespaces = {b["metadata"]["namespace"] for b in ctx.store.all(ECS_CLUSTER)}
        for namespace in namespaces:
            refresh = queue_key(Kind.CLUSTER, namespace, "*")
            ctx.queue.add(refresh, after=ctx.timers.cluster_refresh)
        if node_labels.labels_changed(tracked.before, after):
            for namespace, name in node_labels.regex_services(ctx.store):
                ctx.queue.add(Key(Kind.SERVICE, namespace, name))


def _namespace_handler() -> None:
    """The admin's tenancy annotations (policy.py) live on Namespaces: when they change, every
    Service and Task of the namespace is decided again (a role allowed at last starts them)."""

    @kopf.on.event(NAMESPACE.group, NAMESPACE.version, NAMESPACE.plural, id="watch-namespaces")
    async def handler(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
        ctx = context(memo)
        tracked = _track(ctx, NAMESPACE, event)
        name = tracked.body["metadata"]["name"]
        policy = tenancy.policy_annotations
        changed = policy(tracked.body) != policy(tracked.before)
        if event.get("type") == "DELETED" or not changed:
            return
        for resource, kind in ((ECS_SERVICE, Kind.SERVICE), (ECS_TASK, Kind.TASK)):
            for ecs in ctx.store.all(resource, name):
                ctx.queue.add(Key(kind, name, ecs["metadata"]["name"]))


def register() -> None:
    for resource, kind in ECS_KINDS.items():
        _ecs_handler(resource, kind)
    for resource in CHILDREN:
        _child_handler(resource)
    _node_handler()
    _namespace_handler()
