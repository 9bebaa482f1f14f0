"""Resolving what a Service names, from the store: here, who holds an ECS serviceName."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.handlers.references import (
    Unresolved,
    claim_service_name,
    family_revisions,
    resolve_task_definition,
)
from ecs_operator.kube.resources import CONTROLLER_REVISION, ECS_SERVICE, TASK_DEFINITION
from ecs_operator.kube.store import Store


def ecs_service(name: str, service_name: str, created: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "creationTimestamp": created,
        },
        "spec": {"serviceName": service_name},
    }


def test_the_oldest_service_holds_its_service_name(store: Store) -> None:
    older = ecs_service("web-b", "web", "2025-01-01T10:00:00Z")
    newer = ecs_service("web-a", "web", "2025-01-01T10:00:05Z")
    other = ecs_service("api", "api", "2025-01-01T09:00:00Z")
    for body in (older, newer, other):
        store.put(ECS_SERVICE, body)

    claim_service_name(store, "shop", older)
    claim_service_name(store, "shop", other)
    with pytest.raises(Unresolved) as refused:
        claim_service_name(store, "shop", newer)

    assert refused.value.reason == "ServiceNameInUse"
    assert refused.value.retry  # nothing else enqueues it when web-b goes
    assert "serviceName: web is already used by Service web-b" in str(refused.value)


def test_services_created_in_the_same_second_go_by_name(store: Store) -> None:
    first, second = (ecs_service(n, "web", "2025-01-01T10:00:00Z") for n in ("twin-a", "twin-b"))
    store.put(ECS_SERVICE, second)
    store.put(ECS_SERVICE, first)

    claim_service_name(store, "shop", first)
    with pytest.raises(Unresolved, match="Service twin-a"):
        claim_service_name(store, "shop", second)


def test_the_name_passes_on_when_its_holder_is_gone(store: Store) -> None:
    holder = ecs_service("web-a", "web", "2025-01-01T10:00:00Z")
    waiting = ecs_service("web-b", "web", "2025-01-01T11:00:00Z")
    store.put(ECS_SERVICE, holder)
    store.put(ECS_SERVICE, waiting)
    with pytest.raises(Unresolved):
        claim_service_name(store, "shop", waiting)

    store.forget(ECS_SERVICE, "shop", "web-a")

    claim_service_name(store, "shop", waiting)


def test_the_same_service_name_in_another_namespace_is_another_service(store: Store) -> None:
    elsewhere = ecs_service("web-a", "web", "2025-01-01T09:00:00Z")
    elsewhere["metadata"] |= {"namespace": "other", "uid": "uid-other"}
    store.put(ECS_SERVICE, elsewhere)
    mine = ecs_service("web-b", "web", "2025-01-01T10:00:00Z")
    store.put(ECS_SERVICE, mine)

    claim_service_name(store, "shop", mine)


def test_only_a_task_definitions_own_revisions_are_read(store: Store) -> None:
    """A ControllerRevision named like a revision but made by someone else (another owner, or
    none) is never taken for the task definition's spec: ownership, never adoption."""
    td = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "td-uid"},
        "spec": {"family": "web", "containerDefinitions": []},
    }
    store.put(TASK_DEFINITION, td)

    def revision(number: int, owner_uid: str) -> dict[str, Any]:
        owner = {"apiVersion": "ecs-operator.dev/v1alpha1", "kind": "TaskDefinition",
                 "name": "web", "uid": owner_uid, "controller": True}  # fmt: skip
        return {
            "metadata": {
                "name": f"web-{number}",
                "namespace": "shop",
                "uid": f"cr-{number}",
                "ownerReferences": [owner],
            },
            "revision": number,
            "data": {"spec": {"family": "web", "number": number}},
        }

    store.put(CONTROLLER_REVISION, revision(1, "td-uid"))
    forged = revision(2, "td-uid")
    forged["metadata"]["ownerReferences"][0]["controller"] = False
    store.put(CONTROLLER_REVISION, forged)
    assert [e["revision"] for e in family_revisions(store, td)] == [1]
    assert resolve_task_definition(store, "shop", "web").spec == {"family": "web", "number": 1}
    with pytest.raises(Unresolved):
        resolve_task_definition(store, "shop", "web:2")
