"""The store keeps what tenants write at about its JSON size (issue #12, "Bounds"): a task
definition's spec and its revisions' data as compact text, and a spec over ECS's 64 KiB as its
size alone, which the reconcile reports as ECS's limit."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.size import TASK_DEFINITION_MAX_BYTES, json_bytes
from ecs_operator.handlers.indexes import (
    FAMILY,
    INDEXES,
    OVERSIZE,
    PROJECTIONS,
    SERVICE_NAME,
    ecs_spec,
    revision_data,
    spec_member,
    task_definition_spec,
)
from ecs_operator.kube.resources import CONTROLLER_REVISION, ECS_SERVICE, TASK_DEFINITION
from ecs_operator.kube.store import Packed, Store


def hostile_spec(family: str, size: int) -> dict[str, Any]:
    """A task definition of about ``size`` bytes of JSON, nearly all of it short environment
    entries: what costs Python the most memory per byte of JSON."""
    entries: list[dict[str, str]] = []
    container = {"name": "app", "image": "busybox", "memory": 64, "environment": entries}
    spec = {"family": family, "containerDefinitions": [container]}
    used = len(json_bytes(spec))
    while True:
        entry = {"name": f"E{len(entries)}", "value": "v"}
        used += len(json_bytes(entry)) + 1  # and a comma
        if used > size:
            return spec
        entries.append(entry)


def task_definition(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    metadata = {"name": name, "namespace": "n", "uid": name, "resourceVersion": "1"}
    return {"metadata": metadata, "spec": spec}


def revision(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    owner = {"uid": name, "apiVersion": "ecs-operator.dev/v1alpha1", "kind": "TaskDefinition"}
    metadata = {
        "name": f"{name}-1",
        "namespace": "n",
        "uid": f"{name}-1",
        "ownerReferences": [owner],
    }
    return {"metadata": metadata, "revision": 1, "data": {"spec": spec}}


@pytest.fixture
def store() -> Store:
    return Store(INDEXES, PROJECTIONS)


def test_a_task_definition_is_kept_as_text_and_read_back_whole(store: Store) -> None:
    spec = hostile_spec("web", 4096)
    store.put(TASK_DEFINITION, task_definition("web", spec))
    kept = store.get(TASK_DEFINITION, "n", "web")
    assert kept is not None and isinstance(kept["spec"], Packed)
    assert task_definition_spec(kept) == spec
    assert spec_member(kept, "family") == "web"
    assert store.indexed(TASK_DEFINITION, FAMILY, "n", "web") == [kept]


def test_a_revision_is_kept_as_text_and_read_back_whole(store: Store) -> None:
    spec = hostile_spec("web", 4096)
    store.put(CONTROLLER_REVISION, revision("web", spec))
    (kept,) = store.owned(CONTROLLER_REVISION, "web")
    assert kept["revision"] == 1
    assert revision_data(kept) == {"spec": spec}


def test_a_task_definition_over_64_kib_is_kept_as_its_size_and_refused(store: Store) -> None:
    spec = hostile_spec("big", 3 * TASK_DEFINITION_MAX_BYTES)
    store.put(TASK_DEFINITION, task_definition("big", spec))
    kept = store.get(TASK_DEFINITION, "n", "big")
    assert kept is not None
    assert kept["spec"].text is None and kept["spec"].size == len(json_bytes(spec))
    # still found by its family: a Service naming it hears why it can't run it
    assert store.indexed(TASK_DEFINITION, FAMILY, "n", "big") == [kept]
    with pytest.raises(EcsValidationError) as refused:
        task_definition_spec(kept)
    assert "ECS allows at most 65536 (64 KiB) per task definition" in str(refused.value)


def test_a_task_definition_at_64_kib_is_kept_whole(store: Store) -> None:
    spec = hostile_spec("edge", TASK_DEFINITION_MAX_BYTES)
    store.put(TASK_DEFINITION, task_definition("edge", spec))
    kept = store.get(TASK_DEFINITION, "n", "edge")
    assert kept is not None and task_definition_spec(kept) == spec


def test_a_tenants_task_definitions_cost_about_their_json_size(store: Store) -> None:
    """Eight of the largest task definitions ECS registers, with their revisions, and eight
    over the limit: decoded, they took 25 MiB; kept as text, their JSON size (the ones over the
    limit nothing). N = 1000 of them: bench/hostile.py, docs/benchmarks.md."""
    count = 8
    valid = json_bytes(hostile_spec("v", TASK_DEFINITION_MAX_BYTES))
    over = json_bytes(hostile_spec("o", 4 * TASK_DEFINITION_MAX_BYTES))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):  # each decoded afresh, as the watch delivers it
            store.put(TASK_DEFINITION, task_definition(f"v{i}", json.loads(valid)))
            store.put(CONTROLLER_REVISION, revision(f"v{i}", json.loads(valid)))
            store.put(TASK_DEFINITION, task_definition(f"o{i}", json.loads(over)))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < count * 2 * TASK_DEFINITION_MAX_BYTES * 1.25


def test_a_service_over_64_kib_is_kept_as_its_size_and_refused() -> None:
    """ECS documents no size for CreateService; without one, a tenant's Services (bounded only
    field by field) could be a megabyte each. Over 64 KiB the store keeps what indexes read."""
    registries = [
        {"registryArn": f"arn:aws:servicediscovery:r:1:service/srv-{i:040d}"} for i in range(1200)
    ]
    spec = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1,
            "serviceRegistries": registries}  # fmt: skip
    body = {"metadata": {"namespace": "team", "name": "web", "uid": "u"}, "spec": spec}
    store = Store(INDEXES, PROJECTIONS)
    store.put(ECS_SERVICE, body)
    kept = store.get(ECS_SERVICE, "team", "web")
    assert kept is not None and kept["spec"] == {"serviceName": "web", "taskDefinition": "web"}
    assert kept[OVERSIZE] == len(json_bytes(spec))
    assert [
        b["metadata"]["name"] for b in store.indexed(ECS_SERVICE, SERVICE_NAME, "team", "web")
    ] == ["web"]
    with pytest.raises(EcsValidationError, match="64 KiB"):
        ecs_spec(kept, "Service")
    small = {**body, "spec": {**spec, "serviceRegistries": registries[:1]}}
    store.put(ECS_SERVICE, small)
    assert ecs_spec(store.get(ECS_SERVICE, "team", "web") or {}, "Service") == small["spec"]
