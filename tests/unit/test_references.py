"""Resolving what a Service names, from the store: here, who holds an ECS serviceName."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.handlers.references import (
    Unresolved,
    claim_service_name,
    newest_recorded,
    newest_revisions,
    recorded,
    resolve_task_definition,
    task_definition_named,
)
from ecs_operator.kube.owners import child_of
from ecs_operator.kube.resources import CONTROLLER_REVISION, ECS_SERVICE, TASK_DEFINITION
from ecs_operator.kube.store import Store
from ecs_operator.plan.taskdefinition import RecordedRevision, controller_revision
from ecs_operator.status.taskdefinition import DEREGISTERED


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
    assert [e["revision"] for e in newest_revisions(store, td, 10)] == [1]
    assert resolve_task_definition(store, "shop", "web").spec == {"family": "web", "number": 1}
    with pytest.raises(Unresolved):
        resolve_task_definition(store, "shop", "web:2")


def _family(store: Store, recorded: int, status_revision: int | None, deregistered: str) -> None:
    td = {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "td-uid",
            "annotations": {DEREGISTERED: deregistered},
        },
        "spec": {"family": "web", "containerDefinitions": []},
        "status": {} if status_revision is None else {"revision": status_revision},
    }
    store.put(TASK_DEFINITION, td)
    for n in range(1, recorded + 1):
        spec = {"family": "web", "number": n}
        store.put(
            CONTROLLER_REVISION, child_of(controller_revision("web", "td-uid", spec, n, "", n), td)
        )


@pytest.mark.parametrize(
    ("status_revision", "deregistered", "latest_active"),
    [
        (7, "", 7),  # the status is current
        (3, "", 7),  # revisions stored since the status was written
        (None, "", 7),  # no status yet
        (9, "", 7),  # a status ahead of the store (revisions deleted by hand): read them all
        (7, "6-7,2", 5),  # the newest ACTIVE one
    ],
)
def test_a_bare_family_resolves_to_its_newest_active_revision_in_the_store(
    store: Store, status_revision: int | None, deregistered: str, latest_active: int
) -> None:
    _family(store, 7, status_revision, deregistered)

    resolved = resolve_task_definition(store, "shop", "web")

    assert (resolved.revision, resolved.spec["number"]) == (latest_active, latest_active)
    assert resolve_task_definition(store, "shop", "web:7", running="web:7").revision == 7
    with pytest.raises(Unresolved, match="web:8 is not registered"):
        resolve_task_definition(store, "shop", "web:8")


def test_the_newest_recorded_revision_is_the_highest_number_or_none(store: Store) -> None:
    """What a TaskDefinition's plan is told it last recorded: the highest revision stored,
    with its spec's hash; none for a new family."""
    _family(store, 0, None, "")
    td = task_definition_named(store, "shop", "web")
    assert td is not None and newest_recorded(store, td) == 0
    _family(store, 2, None, "")

    newest = recorded(store, td, newest_recorded(store, td))

    assert newest is not None and RecordedRevision.of(newest) == RecordedRevision(2, "", 2)
    assert [e["revision"] for e in newest_revisions(store, td, 10)] == [1, 2]
