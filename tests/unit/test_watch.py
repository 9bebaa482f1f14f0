"""Watch events to reconcile keys: which ECS object a child's event concerns."""

from __future__ import annotations

from typing import Any

from ecs_operator.handlers import watch
from ecs_operator.handlers.queue import Key, Kind
from ecs_operator.kube.resources import (
    ECS_SERVICE,
    HORIZONTAL_POD_AUTOSCALER,
    KUBE_SERVICE,
    POD_DISRUPTION_BUDGET,
)


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
