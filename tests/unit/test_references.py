"""Resolving what a Service names, from the store: here, who holds an ECS serviceName."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.handlers.references import Unresolved, claim_service_name
from ecs_operator.kube.resources import ECS_SERVICE
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

    claim_service_name("shop", older)
    claim_service_name("shop", other)
    with pytest.raises(Unresolved) as refused:
        claim_service_name("shop", newer)

    assert refused.value.reason == "ServiceNameInUse"
    assert refused.value.retry  # nothing else enqueues it when web-b goes
    assert "serviceName: web is already used by Service web-b" in str(refused.value)


def test_services_created_in_the_same_second_go_by_name(store: Store) -> None:
    first, second = (ecs_service(n, "web", "2025-01-01T10:00:00Z") for n in ("twin-a", "twin-b"))
    store.put(ECS_SERVICE, second)
    store.put(ECS_SERVICE, first)

    claim_service_name("shop", first)
    with pytest.raises(Unresolved, match="Service twin-a"):
        claim_service_name("shop", second)


def test_the_name_passes_on_when_its_holder_is_gone(store: Store) -> None:
    holder = ecs_service("web-a", "web", "2025-01-01T10:00:00Z")
    waiting = ecs_service("web-b", "web", "2025-01-01T11:00:00Z")
    store.put(ECS_SERVICE, holder)
    store.put(ECS_SERVICE, waiting)
    with pytest.raises(Unresolved):
        claim_service_name("shop", waiting)

    store.forget(ECS_SERVICE, "shop", "web-a")

    claim_service_name("shop", waiting)


def test_the_same_service_name_in_another_namespace_is_another_service(store: Store) -> None:
    elsewhere = ecs_service("web-a", "web", "2025-01-01T09:00:00Z")
    elsewhere["metadata"] |= {"namespace": "other", "uid": "uid-other"}
    store.put(ECS_SERVICE, elsewhere)
    mine = ecs_service("web-b", "web", "2025-01-01T10:00:00Z")
    store.put(ECS_SERVICE, mine)

    claim_service_name("shop", mine)
