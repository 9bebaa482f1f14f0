"""A family as the ECS API reads it: its TaskDefinition, and the ControllerRevisions of it a
call is about (``handlers/taskdefinition.py`` records them; ``taskdefinitions.py`` answers the
calls). A family may have thousands of revisions, so only the List calls read every one; the
others read a revision by its name.
"""

from __future__ import annotations

from typing import Any

from ecs_operator.kube.owners import controlled_by
from ecs_operator.kube.resources import CONTROLLER_REVISION, TASK_DEFINITION
from ecs_operator.plan.taskdefinition import revision_name
from ecs_operator.plugin.views import describe_task_definition, live
from ecs_operator.render import keys
from ecs_operator.status.revision_set import newest_probes
from ecs_operator.status.taskdefinition import marked_revisions, revision_entry

from . import wire
from .caller import MANAGED, Caller

Body = dict[str, Any]
#: revisions DeleteTaskDefinitions deleted ("1,3"): DELETE_IN_PROGRESS here; the operator, which
#: keeps them as INACTIVE revisions, never reads this annotation
DELETED_REVISIONS = "ecs-operator.dev/deleted-revisions"


#: members ECS answers with when a registration left them out (a container's, a definition's)
CONTAINER_DEFAULTS: Body = {
    "cpu": 0,
    "essential": True,
    "portMappings": [],
    "environment": [],
    "mountPoints": [],
    "volumesFrom": [],
}
DEFINITION_DEFAULTS: Body = {"networkMode": "bridge", "volumes": [], "placementConstraints": []}


def with_ecs_defaults(definition: Body) -> Body:
    """A registered definition as ECS describes it: the defaults it fills in are present
    (``networkMode: bridge``, a container's ``cpu: 0`` and empty lists, an EFS volume's
    ``rootDirectory: /``)."""
    volumes = [
        {**v, "efsVolumeConfiguration": {"rootDirectory": "/", **v["efsVolumeConfiguration"]}}
        if "efsVolumeConfiguration" in v
        else v
        for v in definition.get("volumes") or []
    ]
    containers = [{**CONTAINER_DEFAULTS, **c} for c in definition["containerDefinitions"]]
    return {
        **DEFINITION_DEFAULTS,
        **definition,
        "containerDefinitions": containers,
        "volumes": volumes,
    }


def family_of(body: Body) -> str:
    return str((body.get("spec") or {}).get("family") or body["metadata"]["name"])


def owner(bodies: list[Body], family: str) -> Body | None:
    """The TaskDefinition of a family (the oldest, as the operator resolves it)."""
    matches = [b for b in live(bodies) if family_of(b) == family]
    return min(matches, key=lambda b: b["metadata"].get("creationTimestamp", ""), default=None)


class Family:
    """A TaskDefinition and the revisions of it a call read: every one for the List calls, for
    the others the one or two they are about, read by name (a family may have thousands, and
    a registration must not cost more for it)."""

    def __init__(self, caller: Caller, body: Body, revisions: list[Body] | None = None) -> None:
        """``revisions``: the family's every ControllerRevision (None: read them as needed)."""
        self.caller = caller
        self.body = body
        self.complete = revisions is not None
        uid = body["metadata"]["uid"]
        self._stored: dict[int, Body | None] = {
            int(r["revision"]): r for r in revisions or () if controlled_by(r, uid)
        }
        self.deregistered = marked_revisions(body)
        self.deleted = marked_revisions(body, DELETED_REVISIONS)

    @property
    def name(self) -> str:
        return family_of(self.body)

    @property
    def uid(self) -> str:
        return str(self.body["metadata"]["uid"])

    def status_of(self, revision: int) -> str:
        if revision in self.deleted:
            return "DELETE_IN_PROGRESS"
        return "INACTIVE" if revision in self.deregistered else "ACTIVE"

    def with_body(self, body: Body) -> Family:
        """The family as ``body`` (the same object, written since), keeping what was read."""
        family = Family(self.caller, body)
        family.complete, family._stored = self.complete, self._stored
        return family

    def remember(self, revision: Body) -> None:
        self._stored[int(revision["revision"])] = revision

    async def stored(self, revision: int) -> Body | None:
        """Revision ``revision``'s ControllerRevision (None: not registered)."""
        if revision not in self._stored and not self.complete:
            found = await self.caller.get(
                CONTROLLER_REVISION, revision_name(self.body["metadata"]["name"], revision)
            )
            self._stored[revision] = found if found and controlled_by(found, self.uid) else None
        return self._stored.get(revision)

    async def latest(self) -> int:
        """The newest revision (0: none), searched from the one the status reports (the
        operator's, a moment behind at most): one read when the status is current."""
        if self.complete:
            return max((n for n, r in self._stored.items() if r is not None), default=0)
        probes = newest_probes(int((self.body.get("status") or {}).get("revision") or 0))
        number = next(probes)
        try:
            while True:
                number = probes.send(await self.stored(number) is not None)
        except StopIteration as done:
            return int(done.value)

    async def latest_active(self) -> int | None:
        return (self.deregistered | self.deleted).newest_outside(await self.latest())

    async def entry(self, revision: int) -> Body | None:
        """The revision's number, status and registration time; None: not registered."""
        stored = await self.stored(revision)
        if stored is None:
            return None
        return {**revision_entry(stored, ()), "status": self.status_of(revision)}

    async def entries(self) -> list[Body]:
        """Every revision's entry, oldest first."""
        if not self.complete:
            self._stored = await revisions(self.caller, self.uid)
            self.complete = True
        found = [await self.entry(n) for n in sorted(self._stored)]
        return [e for e in found if e is not None]

    async def describe(self, revision: int) -> Body:
        """``{"taskDefinition": ..., "tags": ...}`` as DescribeTaskDefinition answers."""
        stored = await self.stored(revision)
        answer = describe_task_definition(self.body, revision, stored, self.caller.arns)
        answer["taskDefinition"].pop("tags", None)  # a request member, not a definition's
        answer["taskDefinition"]["status"] = self.status_of(revision)
        definition = with_ecs_defaults(answer["taskDefinition"])
        return {"taskDefinition": definition, **wire.tags_member(self.body)}


async def every_family(caller: Caller) -> list[Family]:
    """Every family with every revision (the List calls), the revisions sorted to their
    TaskDefinitions once rather than each family looking through all of them."""
    bodies = live(await caller.list(TASK_DEFINITION))
    by_owner: dict[str, list[Body]] = {}
    for revision in await caller.list(CONTROLLER_REVISION, MANAGED):
        for reference in revision["metadata"].get("ownerReferences") or []:
            by_owner.setdefault(reference.get("uid", ""), []).append(revision)
    return [Family(caller, b, by_owner.get(b["metadata"]["uid"], [])) for b in bodies]


async def owner_of(caller: Caller, family: str) -> Body | None:
    """The TaskDefinition of ``family``, read by its selectable ``spec.family``."""
    return owner(await caller.list(TASK_DEFINITION, fields={"spec.family": family}), family)


async def family(caller: Caller, name: str) -> Family | None:
    body = await owner_of(caller, name)
    return Family(caller, body) if body is not None else None


async def revisions(caller: Caller, uid: str) -> dict[int, Body | None]:
    """The ControllerRevisions of the TaskDefinition ``uid``, by number."""
    found = await caller.list(CONTROLLER_REVISION, f"{MANAGED},{keys.LABEL_CONTROLLER_UID}={uid}")
    return {int(r["revision"]): r for r in found if controlled_by(r, uid)}
