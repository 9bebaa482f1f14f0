"""The store keeps what tenants write at about its JSON size (issue #12, "Bounds"): a task
definition's spec and its revisions' data as compact text, and a spec over ECS's 64 KiB as its
size alone, which the reconcile reports as ECS's limit."""

from __future__ import annotations

import copy
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

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
from ecs_operator.kube.resources import (
    CONTROLLER_REVISION,
    DEPLOYMENT,
    ECS_SERVICE,
    TASK_DEFINITION,
)
from ecs_operator.kube.store import Packed, SharedStrings, Store


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
    owner = {
        "uid": name,
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "TaskDefinition",
        "controller": True,
    }
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
    (kept,) = store.owned(CONTROLLER_REVISION, "n", "web")
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


def deployments(count: int) -> list[bytes]:
    """``count`` Deployments as the watch delivers them, each its own JSON document: the
    fargate-hardening golden case's, with a name, uid, resource version and status of its own."""
    golden = Path(__file__).parents[1] / "golden" / "fargate-hardening" / "expected.yaml"
    (template,) = [d for d in yaml.safe_load_all(golden.read_text()) if d["kind"] == "Deployment"]
    documents = []
    for i in range(count):
        body = copy.deepcopy(template)
        body["metadata"].update(
            name=f"web-{i}", uid=f"{i:08d}-0000-4000-8000-000000000000",
            resourceVersion=str(1000 + i), creationTimestamp=f"2026-12-04T10:{i % 60:02d}:00Z",
        )  # fmt: skip
        body["status"] = {
            "observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
            "availableReplicas": 2, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "lastTransitionTime": f"2026-12-04T10:{i % 60:02d}:05Z"},
            ],
        }  # fmt: skip
        documents.append(json_bytes(body))
    return documents


def traced(keep: Callable[[], object]) -> int:
    """Bytes still allocated once ``keep`` has run (what it keeps)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = keep()
        size = tracemalloc.get_traced_memory()[0] - before
        del kept
        return size
    finally:
        tracemalloc.stop()


def test_stored_objects_share_their_member_names_and_recurring_values() -> None:
    """Each watch event is decoded on its own, so a thousand Deployments held as decoded
    hold a thousand copies of every member name; the store keeps one (and one of each short
    value that recurs), which took the operator's memory with 1,000 Services from 205 MB to
    177 MB (bench footprint)."""
    documents = deployments(300)

    def decoded() -> object:
        return [json.loads(d) for d in documents]

    def stored() -> object:
        store = Store(INDEXES, PROJECTIONS)
        for document in documents:
            store.put(DEPLOYMENT, json.loads(document))
        return store

    assert traced(stored) < 0.7 * traced(decoded)
    store = Store(INDEXES, PROJECTIONS)
    first, second = (json.loads(d) for d in documents[:2])
    store.put(DEPLOYMENT, first)
    store.put(DEPLOYMENT, second)
    a, b = (store.get(DEPLOYMENT, first["metadata"]["namespace"], f"web-{i}") for i in (0, 1))
    assert a is not None and b is not None
    assert a == {**first, "apiVersion": "apps/v1", "kind": "Deployment"}
    (key_a,), (key_b,) = ([k for k in o if k == "metadata"] for o in (a, b))
    assert key_a is key_b
    assert a["spec"]["strategy"]["type"] is b["spec"]["strategy"]["type"]


def test_the_shared_strings_are_bounded_and_leave_an_objects_own_values_alone() -> None:
    strings = SharedStrings(minimum=5)
    text = '{"metadata": {"uid": "u-1", "name": "web"}}'
    one, two = strings.share(json.loads(text)), strings.share(json.loads(text))
    assert one == two
    assert one["metadata"]["name"] is two["metadata"]["name"]
    assert one["metadata"]["uid"] is not two["metadata"]["uid"]  # an object's own
    strings.share({"a": "x", "b": "y"})  # past the limit of five strings
    three = strings.share(json.loads(text))  # starts the table afresh
    assert three == one and three["metadata"]["name"] is not one["metadata"]["name"]
    # a store of many objects shares more: 20 strings for each object it holds
    strings.share({"a": "x", "b": "y"})
    four = strings.share(json.loads(text), held=1)
    assert four["metadata"]["name"] is three["metadata"]["name"]
