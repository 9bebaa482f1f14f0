"""The operator's pure parts: the ECS capacity split, "apply only what differs", conditions,
task lifecycle from pods, task definition revisions, the store's owner index and indexes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecs_operator.api.parse import parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.handlers.indexes import FAMILY, INDEXES, PROJECTIONS, USES_FAMILY, revision_data
from ecs_operator.kube.apply import HASH_ANNOTATION, contains, in_sync, stamped
from ecs_operator.kube.owners import child_of
from ecs_operator.kube.resources import (
    CONTROLLER_REVISION,
    DEPLOYMENT,
    ECS_SERVICE,
    POD,
    TASK_DEFINITION,
)
from ecs_operator.kube.store import Store
from ecs_operator.plan.taskdefinition import controller_revision
from ecs_operator.render.strategy import split
from ecs_operator.status.conditions import condition, merge
from ecs_operator.status.revision_set import RevisionSet
from ecs_operator.status.task import current_state, task_state
from ecs_operator.status.taskdefinition import (
    compatibilities,
    revision_entries,
    task_definition_status,
)


def _item(provider: str, base: int = 0, weight: int = 0) -> CapacityProviderStrategyItem:
    return CapacityProviderStrategyItem(capacityProvider=provider, base=base, weight=weight)


@pytest.mark.parametrize(
    ("desired", "expected"),
    [(0, [0, 0]), (1, [1, 0]), (2, [1, 1]), (5, [2, 3]), (9, [3, 6]), (12, [4, 8])],
)
def test_split_places_base_first_then_by_weight(desired: int, expected: list[int]) -> None:
    strategy = [_item("FARGATE", base=1, weight=1), _item("FARGATE_SPOT", weight=3)]
    assert [n for _, n in split(strategy, desired)] == expected


def test_split_always_sums_to_desired() -> None:
    strategy = [_item("a", weight=1), _item("b", weight=1), _item("c", weight=1)]
    for desired in range(50):
        assert sum(n for _, n in split(strategy, desired)) == desired


def _deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n"},
        "spec": spec,
    }


def test_in_sync_ignores_server_defaults_but_not_edits_or_removals() -> None:
    desired = _deployment(
        replicas=2, template={"spec": {"containers": [{"name": "a", "image": "x"}]}}
    )
    live = copy.deepcopy(stamped(desired))
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = (
        "/dev/termination-log"
    )
    live["status"] = {"replicas": 2}
    assert in_sync(desired, live)
    edited = stamped(_deployment(replicas=3, template=desired["spec"]["template"]))
    assert not in_sync(desired, edited)
    # a field we stopped rendering is still on the live object: the hash notices
    smaller = _deployment(template=desired["spec"]["template"])
    assert contains(live, smaller) and not in_sync(smaller, live)
    assert not in_sync(desired, None)
    assert HASH_ANNOTATION in live["metadata"]["annotations"]


def test_conditions_keep_their_transition_time_while_status_holds() -> None:
    first = merge(None, [condition("Ready", True, "Steady")], 1)
    again = merge(first, [condition("Ready", True, "Steady")], 2)
    assert again[0]["lastTransitionTime"] == first[0]["lastTransitionTime"]
    assert again[0]["observedGeneration"] == 2


def _pod(
    phase: str, node: str | None = "n1", statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": "t-0"},
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase, "containerStatuses": statuses or []},
    }


def test_task_lifecycle_follows_the_pod() -> None:
    assert task_state(None, {"app"}, False).last_status == "PROVISIONING"
    assert task_state(_pod("Pending", node=None), {"app"}, False).last_status == "PROVISIONING"
    assert task_state(_pod("Pending"), {"app"}, False).last_status == "PENDING"
    running = [{"name": "app", "state": {"running": {}}}]
    assert task_state(_pod("Running", statuses=running), {"app"}, False).last_status == "RUNNING"


def test_an_essential_exit_stops_the_task_and_says_which_container() -> None:
    statuses = [
        {"name": "app", "state": {"terminated": {"exitCode": 3, "startedAt": "t"}}},
        {"name": "log", "state": {"running": {}}},
    ]
    state = task_state(_pod("Running", statuses=statuses), {"app"}, False)
    assert (state.last_status, state.stop_code) == ("STOPPED", "EssentialContainerExited")
    assert state.stopped_reason == "Essential container in task exited"
    assert state.essential_exit_code == 3
    # the same exit of a non-essential container does not stop the task
    assert task_state(_pod("Running", statuses=statuses), {"log"}, False).last_status == "RUNNING"


def test_stop_task_is_user_initiated() -> None:
    state = task_state(None, {"app"}, True)
    assert (state.last_status, state.stop_code) == ("STOPPED", "UserInitiated")


def test_a_task_stopped_with_a_reason_shows_it_and_a_stopped_record_keeps_its_own() -> None:
    """StopTask's ``reason`` is the stopped task's ``stoppedReason`` (ECS's default without
    one); a task already STOPPED for another cause keeps the record it has."""
    reason = "cancelled by the pipeline"
    stopping = current_state(None, {"lastStatus": "RUNNING"}, {"app"}, True, reason)
    default = current_state(None, None, {"app"}, True)
    record = {"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited", "stoppedReason": "x"}
    exited = current_state(None, record, {"app"}, True, reason)

    assert (stopping.stop_code, stopping.stopped_reason) == ("UserInitiated", reason)
    assert default.stopped_reason == "Task stopped by user"
    assert (exited.stop_code, exited.stopped_reason) == ("EssentialContainerExited", "x")


def test_revisions_are_active_until_deregistered() -> None:
    revisions = [
        {"revision": n, "metadata": {"annotations": {"ecs-operator.dev/spec-hash": str(n)}}}
        for n in (2, 1, 3)
    ]
    entries = revision_entries(revisions, RevisionSet.parse("3, x"))
    assert [(e["revision"], e["status"]) for e in entries] == [
        (1, "ACTIVE"),
        (2, "ACTIVE"),
        (3, "INACTIVE"),
    ]


def test_the_status_lists_the_newest_revisions_only() -> None:
    """A family registered on every deploy has thousands of revisions; its status, which every
    watcher decodes at each registration, stays the size of ten."""
    revisions = [{"revision": n, "metadata": {}} for n in range(1, 1001)]
    entries = revision_entries(revisions, RevisionSet.parse("1000"))

    status = task_definition_status("web", entries, {}, 1)

    assert [e["revision"] for e in status["revisions"]] == list(range(991, 1001))
    assert (status["revision"], status["status"]) == (1000, "INACTIVE")


_CONTAINER = {"name": "app", "image": "busybox", "memory": 128}
_FARGATE_SIZED = {"networkMode": "awsvpc", "cpu": "256", "memory": "512"}


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({}, ["EC2"]),  # bridge networking and no task size: not for Fargate
        (_FARGATE_SIZED, ["EC2", "FARGATE"]),  # requires nothing, satisfies Fargate
        ({**_FARGATE_SIZED, "requiresCompatibilities": ["FARGATE"]}, ["EC2", "FARGATE"]),
        ({**_FARGATE_SIZED, "requiresCompatibilities": ["EC2"]}, ["EC2"]),
        ({"requiresCompatibilities": ["EXTERNAL"]}, ["EC2", "EXTERNAL"]),
    ],
)
def test_compatibilities_are_what_the_task_definition_satisfies(
    members: dict[str, Any], expected: list[str]
) -> None:
    td = parse_task_definition({"family": "web", "containerDefinitions": [_CONTAINER], **members})
    assert compatibilities(td) == expected


def test_store_indexes_children_by_owner_and_keeps_the_newest_version() -> None:
    store = Store()
    owner = {"uid": "u1", "apiVersion": "ecs-operator.dev/v1alpha1", "kind": "Service", "name": "s"}
    child = {
        "metadata": {
            "name": "d",
            "namespace": "n",
            "uid": "c",
            "resourceVersion": "5",
            "ownerReferences": [owner],
        }
    }
    store.put(DEPLOYMENT, child)
    older = {"metadata": {**child["metadata"], "resourceVersion": "4", "labels": {"old": "yes"}}}
    store.put(DEPLOYMENT, older)
    assert store.owned(DEPLOYMENT, "n", "u1") == [
        {**child, "apiVersion": "apps/v1", "kind": "Deployment"}
    ]
    # an object of another namespace naming the uid is not the owner's (Kubernetes allows no
    # owner in another namespace): never counted, never removed as its child
    elsewhere = {"metadata": {**child["metadata"], "namespace": "other", "uid": "x"}}
    store.put(DEPLOYMENT, elsewhere)
    assert [d["metadata"]["namespace"] for d in store.owned(DEPLOYMENT, "n", "u1")] == ["n"]
    store.forget(DEPLOYMENT, "n", "d")
    assert store.owned(DEPLOYMENT, "n", "u1") == []


def test_store_keeps_no_managed_fields_and_no_client_side_apply_copy() -> None:
    store = Store()
    body = {
        "metadata": {
            "name": "d",
            "namespace": "n",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
                "keep": "me",
            },
        },
        "spec": {"replicas": 2},
    }
    store.put(DEPLOYMENT, body)
    kept = store.get(DEPLOYMENT, "n", "d")
    assert kept is not None
    assert "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"keep": "me"}
    assert kept["spec"] == {"replicas": 2}
    assert "managedFields" in body["metadata"]  # the caller's object is untouched


def test_the_store_keeps_of_a_pod_what_reconcilers_read() -> None:
    store = Store(INDEXES, PROJECTIONS)
    pod = {
        "metadata": {"name": "p", "namespace": "n", "labels": {"a": "b"}},
        "spec": {
            "nodeName": "fargate-0",
            "serviceAccountName": "sa",
            "containers": [
                {
                    "name": "app",
                    "image": "x",
                    "readinessProbe": {"exec": {}},
                    "env": [{"name": "A", "value": "1"}],
                    "ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}],
                }
            ],
        },
        "status": {"phase": "Running"},
    }
    store.put(POD, pod)
    kept = store.get(POD, "n", "p")
    assert kept == {
        **pod,
        "spec": {
            "nodeName": "fargate-0",
            "serviceAccountName": "sa",
            # of a container, whether it has a health check (the task's healthStatus), its
            # image and the ports its host binds (describe-tasks)
            "containers": [
                {
                    "name": "app",
                    "readinessProbe": {"exec": {}},
                    "image": "x",
                    "ports": [{"containerPort": 81, "hostPort": 8081}],
                }
            ],
        },
        "apiVersion": "v1",
        "kind": "Pod",
    }


def test_the_store_keeps_the_data_of_task_definition_revisions_only() -> None:
    """Every ControllerRevision of the cluster is watched (a name taken by a StatefulSet's is
    a conflict to report), but only a TaskDefinition's is ever read as a revision."""
    store = Store(INDEXES, PROJECTIONS)
    spec = {"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
    ours = child_of(controller_revision("web", "uid-web", spec, 1, "d", 1), _family_body())
    theirs = {
        "metadata": {
            "name": "db-5d9f",
            "namespace": "n",
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u-db",
                 "controller": True},
            ],
        },
        "revision": 3,
        "data": {"spec": {"template": {"spec": {"containers": [{"name": "db"}]}}}},
    }  # fmt: skip
    store.put(CONTROLLER_REVISION, ours)
    store.put(CONTROLLER_REVISION, theirs)

    kept = store.get(CONTROLLER_REVISION, "n", "web-1")
    assert kept is not None and revision_data(kept) == {"spec": spec}
    foreign = store.get(CONTROLLER_REVISION, "n", "db-5d9f")
    assert foreign is not None and "data" not in foreign
    assert foreign["metadata"]["ownerReferences"] == theirs["metadata"]["ownerReferences"]


def _family_body() -> dict[str, Any]:
    return {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "web", "namespace": "n", "uid": "uid-web"},
    }


def test_store_indexes_follow_updates_and_deletions() -> None:
    store = Store(INDEXES)

    def task_definition(name: str, family: str, version: str) -> dict[str, Any]:
        metadata = {"name": name, "namespace": "n", "uid": name, "resourceVersion": version}
        return {"metadata": metadata, "spec": {"family": family}}

    store.put(TASK_DEFINITION, task_definition("a", "web", "1"))
    store.put(TASK_DEFINITION, task_definition("b", "web", "1"))
    assert [b["metadata"]["name"] for b in store.indexed(TASK_DEFINITION, FAMILY, "n", "web")] == [
        "a",
        "b",
    ]
    assert store.indexed(TASK_DEFINITION, FAMILY, "other", "web") == []
    store.put(TASK_DEFINITION, task_definition("a", "api", "2"))  # the family changed
    assert [b["metadata"]["name"] for b in store.indexed(TASK_DEFINITION, FAMILY, "n", "web")] == [
        "b"
    ]
    store.forget(TASK_DEFINITION, "n", "b")
    assert store.indexed(TASK_DEFINITION, FAMILY, "n", "web") == []
    assert len(store.indexed(TASK_DEFINITION, FAMILY, "n", "api")) == 1


def test_users_are_indexed_by_the_family_their_reference_names() -> None:
    store = Store(INDEXES)
    for name, reference in (("s1", "web"), ("s2", "web:3"), ("s3", "api"), ("s4", "bad::")):
        metadata = {"name": name, "namespace": "n", "uid": name}
        store.put(ECS_SERVICE, {"metadata": metadata, "spec": {"taskDefinition": reference}})
    users = store.indexed(ECS_SERVICE, USES_FAMILY, "n", "web")
    assert [b["metadata"]["name"] for b in users] == ["s1", "s2"]


def test_quantities_written_differently_are_the_same_value() -> None:
    desired = _deployment(
        template={"spec": {"resources": {"limits": {"memory": "1024Mi", "cpu": "1000m"}}}}
    )
    live = copy.deepcopy(stamped(desired))
    live["spec"]["template"]["spec"]["resources"]["limits"] = {"memory": "1Gi", "cpu": "1"}
    assert in_sync(desired, live)
    live["spec"]["template"]["spec"]["resources"]["limits"]["memory"] = "2Gi"
    assert not in_sync(desired, live)
