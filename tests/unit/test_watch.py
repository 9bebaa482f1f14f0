"""Watch events to reconcile keys: which ECS object a child's event concerns."""

from __future__ import annotations

import copy
from typing import Any

from ecs_operator.handlers import watch
from ecs_operator.handlers.queue import Key, Kind
from ecs_operator.kube.resources import (
    ECS_SERVICE,
    ECS_TASK,
    HORIZONTAL_POD_AUTOSCALER,
    KUBE_SERVICE,
    POD_DISRUPTION_BUDGET,
)

from .fakes import FakeApi, context


def ecs_service(name: str, service_name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"},
        "spec": {"serviceName": service_name},
    }


def test_a_service_pod_concerns_the_ecs_service_it_is_annotated_with(store: Any) -> None:
    store.put(ECS_SERVICE, ecs_service("web-object", "web"))
    store.put(ECS_SERVICE, ecs_service("other", "other"))
    pod = {
        "metadata": {
            "name": "web-7d4b9c-abcde",
            "namespace": "shop",
            "annotations": {"ecs-operator.dev/service": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x"}],
        }
    }
    assert watch.owner_keys(pod) == []
    assert watch._services_of_pod(store, pod) == [("Service", "shop", "web-object")]
    assert watch._services_of_pod(store, {"metadata": {"name": "p", "namespace": "shop"}}) == []


def test_the_attached_kinds_are_watched_by_label() -> None:
    for resource in (KUBE_SERVICE, HORIZONTAL_POD_AUTOSCALER, POD_DISRUPTION_BUDGET):
        assert resource in watch.CHILDREN and resource not in watch.UNLABELLED


def test_a_status_update_of_an_attached_object_wakes_nobody_but_an_edit_does() -> None:
    before = {
        "metadata": {"uid": "u", "generation": 1, "labels": {"a": "b"}},
        "spec": {"minAvailable": 1},
        "status": {"currentHealthy": 0},
    }
    healthier = {**before, "status": {"currentHealthy": 2}}
    edited = {**before, "metadata": {**before["metadata"], "generation": 2}}
    relabelled = {**before, "metadata": {**before["metadata"], "labels": {}}}
    going = {**before, "metadata": {**before["metadata"], "deletionTimestamp": "now"}}
    assert watch._only_status_changed(before, healthier)
    assert not watch._only_status_changed(before, edited)
    assert not watch._only_status_changed(before, relabelled)
    assert not watch._only_status_changed(before, going)
    assert not watch._only_status_changed(None, healthier)


def test_a_clusters_own_change_wakes_the_key_of_its_namespaces_count_refresh() -> None:
    """The queue runs a key once at a time; with one key for a Cluster's own change and
    another for the refresh every change in its namespace wakes, two workers wrote its counts
    at once, and the later write of the older count stood until the namespace changed again."""
    refresh = watch.queue_key(Kind.CLUSTER, "shop", "*")
    assert watch.queue_key(Kind.CLUSTER, "shop", "default") == refresh
    owned = {"metadata": {"namespace": "shop", "ownerReferences": [owner("Cluster", "prod")]}}
    assert watch.owner_keys(owned) == [refresh]
    assert watch.queue_key(Kind.SERVICE, "shop", "web") == Key(Kind.SERVICE, "shop", "web")


def owner(kind: str, name: str) -> dict[str, str]:
    return {"apiVersion": "ecs-operator.dev/v1alpha1", "kind": kind, "name": name, "uid": "u"}


ASKED = "2026-12-05T09:44:08Z"  # StopTask: the pod's deletion asked for, 30 s of grace
GONE = "2026-12-05T09:44:40Z"  # its sidecar killed at the grace's end, the pod removed


def test_a_stopped_service_task_began_stopping_when_its_stop_was_asked_for() -> None:
    """The API server's own sequence for a pod a kubelet stops (seen on a real node): the
    delete gives a deletionTimestamp at the grace period's end; once the containers have
    ended, the kubelet deletes again with grace 0, which the API server writes as a MODIFIED
    event (deletionTimestamp now) before the DELETED one. ECS's ``stoppingAt`` is when the
    stop was asked for, not the second the task stopped."""
    ctx = context(FakeApi())
    service = {"metadata": {"name": "worker", "namespace": "shop", "uid": "s"}}
    ctx.store.put(ECS_SERVICE, {**service, "spec": {"serviceName": "worker"}})
    running = {
        "metadata": {
            "name": "worker-598c7c4747-lml4p",
            "namespace": "shop",
            "uid": "pod-uid",
            "annotations": {
                "ecs-operator.dev/service": "worker",
                "ecs-operator.dev/essential-containers": '["worker"]',
                "ecs-operator.dev/stop-reason": "migrating",
            },
        },
        "spec": {"containers": [{"name": "worker", "image": "busybox"}]},
        "status": {"phase": "Running", "startTime": "2026-12-05T09:43:43Z"},
    }
    stopping = copy.deepcopy(running)
    stopping["metadata"] |= {"deletionTimestamp": "2026-12-05T09:44:38Z"}  # ASKED + 30 s
    stopping["metadata"]["deletionGracePeriodSeconds"] = 30
    last = copy.deepcopy(stopping)  # the kubelet's delete with grace 0
    last["metadata"] |= {"deletionTimestamp": GONE, "deletionGracePeriodSeconds": 0}
    before = None
    for kind, body in (
        ("ADDED", running),
        ("MODIFIED", stopping),
        ("MODIFIED", last),
        ("DELETED", last),
    ):
        watch.service_pod_event(ctx, kind, body, before)
        before = body

    [record] = ctx.stops.pending(Key(Kind.SERVICE, "shop", "worker"))
    assert (record["stopCode"], record["stoppedReason"]) == ("UserInitiated", "migrating")
    assert record["stoppingAt"] == ASKED


def test_a_clusters_change_or_deletion_wakes_the_services_and_tasks_that_name_it(
    store: Any,
) -> None:
    """A Cluster deleted (or its capacity providers, its default strategy edited) left the
    Services that name it as they were: still Ready until their next change, and one that
    follows the cluster's default strategy on the old one. Its users are looked at again."""
    store.put(ECS_SERVICE, {**ecs_service("web", "web"), "spec": {"cluster": "prod"}})
    store.put(ECS_SERVICE, {**ecs_service("api", "api"), "spec": {"cluster": "default"}})
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
    store.put(ECS_TASK, {**ecs_service("job", "job"), "spec": {"cluster": arn}})
    cluster = {
        "metadata": {"name": "prod-object", "namespace": "shop"},
        "spec": {"clusterName": "prod"},
    }

    assert watch.cluster_users(store, cluster) == [
        Key(Kind.SERVICE, "shop", "web"),
        Key(Kind.TASK, "shop", "job"),
    ]
