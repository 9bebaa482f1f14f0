"""A family's revisions as the ECS API reads it: by name, the ones a call is about, so that a
registration into a family of thousands costs what one into a new family costs; the newest
found from the status's number even when that number is behind, ahead of a deleted record, or
missing; and a registration racing another one, or the operator, for a revision's number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.credentials import Credential
from ecs_operator.ecsapi.errors import EcsApiError
from ecs_operator.ecsapi.families import Family, every_family
from ecs_operator.ecsapi.taskdefinitions import ATTEMPTS, record_revision
from ecs_operator.kube.client import ApiError, Resource
from ecs_operator.kube.owners import child_of
from ecs_operator.kube.resources import CONTROLLER_REVISION
from ecs_operator.plan.taskdefinition import controller_revision
from ecs_operator.render.names import json_digest
from ecs_operator.status.taskdefinition import DEREGISTERED

Body = dict[str, Any]
SPEC = {"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}


def _family_object(status_revision: int | None, annotations: Body | None = None) -> Body:
    return {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {
            "name": "web",
            "namespace": "team",
            "uid": "uid-web",
            "generation": 1,
            "annotations": annotations or {},
        },
        "spec": SPEC,
        "status": {} if status_revision is None else {"revision": status_revision},
    }


class Revisions:
    """A KubeClient that holds a family's ControllerRevisions and counts what is read."""

    def __init__(self, family: Body, numbers: range) -> None:
        self.objects = {}
        for n in numbers:
            revision = child_of(controller_revision("web", "uid-web", SPEC, n, "d", n), family)
            self.objects[revision["metadata"]["name"]] = revision
        self.gets = 0
        self.lists = 0

    async def get(self, resource: Resource, namespace: str, name: str) -> Body | None:
        self.gets += 1
        return self.objects.get(name)

    async def create(self, resource: Resource, body: Body) -> Body:
        name = body["metadata"]["name"]
        if name in self.objects:
            raise ApiError(409, f"{name} already exists", "AlreadyExists")
        self.objects[name] = body
        return body

    def record_meanwhile(self, family: Body, number: int, spec: Body) -> None:
        """Revision ``number`` recorded by someone else (a racing registration, the
        operator) after the registration under test read the family."""
        revision = controller_revision("web", "uid-web", spec, number, json_digest(spec), number)
        self.objects[revision["metadata"]["name"]] = child_of(revision, family)

    async def list(
        self, resource: Resource, namespace: str, label_selector: str, fields: str
    ) -> AsyncIterator[list[Body]]:
        self.lists += 1
        yield list(self.objects.values())


def _family(body: Body, kube: Revisions) -> Family:
    caller = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", kube)  # type: ignore[arg-type]
    return Family(caller, body)


@pytest.mark.parametrize(
    ("recorded", "status_revision", "most_reads"),
    [
        (1000, 1000, 1),  # the status is current: one read, of the number after it
        (1000, 997, 5),  # registrations the operator has not reported yet
        (1000, None, 20),  # no status yet: doubling, then halving, never every revision
        (0, None, 1),  # a new family
    ],
)
def test_the_newest_revision_is_found_without_reading_every_revision(
    recorded: int, status_revision: int | None, most_reads: int
) -> None:
    body = _family_object(status_revision)
    kube = Revisions(body, range(1, recorded + 1))

    assert asyncio.run(_family(body, kube).latest()) == recorded

    assert kube.lists == 0 and kube.gets <= most_reads


def test_the_latest_active_revision_skips_the_deregistered_and_the_deleted() -> None:
    annotations = {DEREGISTERED: "5,4", "ecs-operator.dev/deleted-revisions": "4"}
    body = _family_object(5, annotations)
    family = _family(body, Revisions(body, range(1, 6)))

    assert asyncio.run(family.latest_active()) == 3
    assert [family.status_of(n) for n in (3, 4, 5)] == ["ACTIVE", "DELETE_IN_PROGRESS", "INACTIVE"]


def test_a_revision_recorded_for_another_object_of_the_same_name_is_not_the_familys() -> None:
    """The revisions of a TaskDefinition deleted under the same name linger until the garbage
    collector removes them: they are not the new family's."""
    body = _family_object(None)
    kube = Revisions({**body, "metadata": {**body["metadata"], "uid": "uid-old"}}, range(1, 3))

    family = _family(body, kube)

    assert asyncio.run(family.latest()) == 0
    assert asyncio.run(family.entry(1)) is None


def test_the_list_calls_read_every_revision_once() -> None:
    body = _family_object(3)
    kube = Revisions(body, range(1, 4))
    family = _family(body, kube)

    entries = asyncio.run(family.entries())

    assert [e["revision"] for e in entries] == [1, 2, 3]
    assert (kube.lists, kube.gets) == (1, 0)
    assert asyncio.run(family.latest()) == 3 and kube.gets == 0


NEW_SPEC = {**SPEC, "containerDefinitions": [{"name": "app", "image": "nginx:2"}]}


def test_a_number_a_racing_registration_took_is_followed_by_the_next() -> None:
    """Two pipelines register the same family at once: the one that lost revision 4 to the
    other records 5, as ECS numbers them, without reading the family again."""
    body = _family_object(3)
    kube = Revisions(body, range(1, 4))
    family = _family(body, kube)
    asyncio.run(family.latest())  # read before the other registration lands
    kube.record_meanwhile(body, 4, {**SPEC, "memory": 64})

    assert asyncio.run(record_revision(family, NEW_SPEC, None)) == 5
    assert kube.objects["web-5"]["data"]["spec"] == NEW_SPEC


def test_a_revision_the_operator_recorded_for_the_change_meanwhile_is_the_answer() -> None:
    """RegisterTaskDefinition changed the spec; the operator, seeing the change first,
    recorded it as revision 4: that is the registration's revision, not a reason for a 5th."""
    body = _family_object(3)
    kube = Revisions(body, range(1, 4))
    kube.record_meanwhile(body, 4, NEW_SPEC)

    assert asyncio.run(record_revision(_family(body, kube), NEW_SPEC, 3)) == 4
    assert "web-5" not in kube.objects


class LostAnswer(Revisions):
    """A KubeClient whose create lands but whose answer is lost (the connection dropped, or
    the server timed out after storing it): retried, the create finds the name taken."""

    async def create(self, resource: Resource, body: Body) -> Body:
        await super().create(resource, body)
        raise ApiError(409, f"{body['metadata']['name']} already exists", "AlreadyExists")


def test_a_registration_whose_create_was_retried_answers_its_own_revision() -> None:
    """Its own revision is the answer, not a reason for one more (a revision no pipeline
    asked for, which CI saw as a gap among concurrent registrations' answers)."""
    body = _family_object(3)
    kube = LostAnswer(body, range(1, 4))

    assert asyncio.run(record_revision(_family(body, kube), NEW_SPEC, None)) == 4
    assert "web-5" not in kube.objects


def test_a_registration_that_keeps_losing_gets_ecss_refusal() -> None:
    body = _family_object(3)
    kube = Revisions(body, range(1, 4))
    family = _family(body, kube)
    asyncio.run(family.latest())
    for number in range(4, 4 + ATTEMPTS):
        kube.record_meanwhile(body, number, {**SPEC, "memory": number})

    with pytest.raises(EcsApiError) as refused:
        asyncio.run(record_revision(family, NEW_SPEC, None))

    assert (refused.value.code, refused.value.message) == (
        "ClientException",
        "Too many concurrent attempts to create a new revision of the specified family.",
    )


class Namespace:
    """A KubeClient's LISTs of a namespace with two families and their revisions."""

    def __init__(self, families: list[Body], revisions: list[Body]) -> None:
        self.families, self.revisions = families, revisions

    async def list(
        self, resource: Resource, namespace: str, label_selector: str, fields: str
    ) -> AsyncIterator[list[Body]]:
        yield self.revisions if resource == CONTROLLER_REVISION else self.families


def test_the_list_calls_give_each_family_its_own_revisions() -> None:
    web, api = _family_object(2), _family_object(1)
    api["metadata"] = {**api["metadata"], "name": "api", "uid": "uid-api"}
    api["spec"] = {**SPEC, "family": "api"}
    revisions = [
        child_of(controller_revision("web", "uid-web", SPEC, n, "d", n), web) for n in (1, 2)
    ] + [child_of(controller_revision("api", "uid-api", api["spec"], 1, "d", 1), api)]
    caller = Caller(
        Credential("AKIA", "s", "team", "deployer"), "eu-west-1", Namespace([web, api], revisions)
    )  # type: ignore[arg-type]

    found = {f.name: f for f in asyncio.run(every_family(caller))}

    assert [e["revision"] for e in asyncio.run(found["web"].entries())] == [1, 2]
    assert [e["revision"] for e in asyncio.run(found["api"].entries())] == [1]
