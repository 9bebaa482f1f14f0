"""Objects an earlier operator created with a POST: their create-time fields move from the
operator's "Update" entry into its "Apply" entry, once, so that the next apply removes what the
operator no longer renders (kube/managed_fields.py; the integration lane checks it on a real
API server)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, cast

from ecs_operator.kube.apply import ensure
from ecs_operator.kube.client import ApiError, Resource
from ecs_operator.kube.managed_fields import moved
from ecs_operator.kube.owners import controlled_by

Json = dict[str, Any]
ENV = {"f:env": {'k:{"name":"X"}': {".": {}, "f:name": {}, "f:value": {}}}}
APPLIED = {"f:spec": {"f:replicas": {}}}
CREATED = {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": ENV}}}
STATUS = {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}


def _entries(*operations: str) -> list[Json]:
    fields = {"Apply": APPLIED, "Update": CREATED}
    return [
        {"manager": "ecs-operator", "operation": op, "fieldsV1": fields[op]} for op in operations
    ] + [STATUS]


def test_what_a_post_set_moves_into_the_apply_entry_and_its_entry_goes() -> None:
    entries = moved(_entries("Apply", "Update"))

    assert entries == [
        {
            "manager": "ecs-operator",
            "operation": "Apply",
            "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": ENV}}},
        },
        STATUS,
    ]


def test_nothing_moves_without_both_entries_or_for_another_manager() -> None:
    assert moved(_entries("Apply")) is None
    assert moved(_entries("Update")) is None
    assert moved(_entries("Apply", "Update"), manager="someone-else") is None


class LegacyDeployment:
    """An API server holding a Deployment of ours that an earlier version created with a POST:
    its apply answers show the old "Update" entry until the managed fields are moved."""

    def __init__(self, refuse_move: bool = False) -> None:
        self.entries = _entries("Apply", "Update")
        self.refuse_move = refuse_move
        self.requests: list[str] = []

    async def apply(self, resource: Resource, body: Json, subresource: str = "") -> Json:
        self.requests.append("apply")
        metadata = {**body["metadata"], "resourceVersion": "7"}
        return {**body, "metadata": {**metadata, "managedFields": copy.deepcopy(self.entries)}}

    async def merge_patch(
        self, resource: Resource, namespace: str, name: str, patch: Json, subresource: str = ""
    ) -> Json:
        self.requests.append("patch managedFields")
        assert patch["metadata"]["resourceVersion"] == "7"
        if self.refuse_move:
            raise ApiError(409, "the object has been modified", "Conflict")
        self.entries = patch["metadata"]["managedFields"]
        return {}


def _ours() -> tuple[Json, Json]:
    owner = {"apiVersion": "ecs-operator.dev/v1alpha1", "kind": "Service", "name": "web"}
    reference = {**owner, "uid": "svc", "controller": True}
    metadata = {"name": "web", "namespace": "shop", "ownerReferences": [reference]}
    desired = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": {}}
    live = copy.deepcopy(desired)
    live["metadata"] |= {"uid": "dep", "resourceVersion": "6"}
    return desired, live


def test_a_changed_object_from_an_earlier_version_is_moved_then_applied_again() -> None:
    api = LegacyDeployment()
    desired, live = _ours()

    asyncio.run(ensure(cast(Any, api), desired, live, lambda b: controlled_by(b, "svc")))

    assert api.requests == ["apply", "patch managedFields", "apply"]
    assert [e["operation"] for e in api.entries if e["manager"] == "ecs-operator"] == ["Apply"]


def test_a_move_refused_because_the_object_changed_is_left_for_its_next_change() -> None:
    api = LegacyDeployment(refuse_move=True)
    desired, live = _ours()

    asyncio.run(ensure(cast(Any, api), desired, live, lambda b: controlled_by(b, "svc")))

    assert api.requests == ["apply", "patch managedFields"]
