"""The TaskDefinition reconciler, one pass at a time, against a fake API server (as
test_reconcile_service.py): revisions registered once, users woken when they change, deletion
held while the family is in use."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ecs_operator.api.parse import parse_task_definition
from ecs_operator.handlers import taskdefinition
from ecs_operator.handlers.common import FINALIZER
from ecs_operator.handlers.context import Context, Settings, Timers
from ecs_operator.handlers.queue import OK, Key, Kind, Outcome, Result
from ecs_operator.kube.owners import child_of
from ecs_operator.kube.resources import CONTROLLER_REVISION, TASK_DEFINITION, resource_of
from ecs_operator.plan.taskdefinition import controller_revision
from ecs_operator.render.names import json_digest
from ecs_operator.status.taskdefinition import DEREGISTERED

from .fakes import FakeApi, FakeQueue, context
from .test_reconcile_service import ecs, task_definition, web

Json = dict[str, Any]
REVISIONS, TDS = "controllerrevisions", "taskdefinitions"


def foreign_revision(name: str) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": name, "namespace": "shop"},
        "revision": 1,
        "data": {},
    }


def _edit(api: FakeApi, ctx: Context, plural: str, name: str, edit: Callable[[Json], None]) -> None:
    body = copy.deepcopy(api.objects[(plural, "shop", name)])
    edit(body)
    ctx.store.put(resource_of(body), api.replace(body))


def _new_image(api: FakeApi, ctx: Context) -> None:
    def edit(body: Json) -> None:
        body["spec"]["containerDefinitions"][0]["image"] = "nginx:1.28"

    _edit(api, ctx, TDS, "web", edit)


def _registered_through_the_api(api: FakeApi, ctx: Context) -> None:
    """`ecs-operator api` registers a new image: it patches the spec, then creates the revision.
    The operator's store sees the revision first (its two watches keep no order between them),
    so the reconcile that the revision wakes reads the spec as it was."""
    live = copy.deepcopy(api.objects[(TDS, "shop", "web")])
    live["spec"]["containerDefinitions"][0]["image"] = "nginx:1.28"
    changed = api.replace(live)
    spec = parse_task_definition(changed["spec"]).to_ecs()
    generation = changed["metadata"]["generation"]
    recorded = controller_revision("web", "uid-web", spec, 2, json_digest(spec), generation)
    ctx.store.put(CONTROLLER_REVISION, api.replace(child_of(recorded, changed)))


def _deregistered(api: FakeApi, ctx: Context) -> None:
    _edit(api, ctx, TDS, "web", lambda b: b["metadata"].update(annotations={DEREGISTERED: "1"}))


def _deleted(api: FakeApi, ctx: Context) -> None:
    _edit(
        api,
        ctx,
        TDS,
        "web",
        lambda b: b["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z"),
    )


@dataclass(frozen=True)
class Case:
    name: str
    objects: tuple[Json, ...] = ()
    then: Callable[[FakeApi, Context], None] | None = None
    outcome: Outcome = OK
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    events: tuple[str, ...] = ()
    woken: tuple[Key, ...] = ()
    first: bool = False


SERVICE = Key(Kind.SERVICE, "shop", "web")
REGISTERED = [("create", REVISIONS, "web-1"), ("patch", TDS, "web"), ("patch/status", TDS, "web")]
CASES = [
    Case(
        "the first revision is registered, with the in-use finalizer",
        writes=[
            ("create", REVISIONS, "web-1"),
            ("patch", TDS, "web"),
            ("patch/status", TDS, "web"),
        ],
        first=True,
    ),
    Case(
        "registering wakes the family's users",
        objects=(web(),),
        writes=[
            ("create", REVISIONS, "web-1"),
            ("patch", TDS, "web"),
            ("patch/status", TDS, "web"),
        ],
        woken=(SERVICE,),
        first=True,
    ),
    Case("an unchanged task definition writes nothing", objects=(web(),), then=lambda a, c: None),
    Case(
        "a changed spec registers the next revision",
        objects=(web(),),
        then=_new_image,
        writes=[("create", REVISIONS, "web-2"), ("patch/status", TDS, "web")],
        woken=(SERVICE,),
    ),
    Case(
        "a revision seen before its spec's change records nothing for the older spec",
        objects=(web(),),
        then=_registered_through_the_api,
        writes=[("patch/status", TDS, "web")],
        woken=(SERVICE,),
    ),
    Case(
        "deregistering a revision wakes the family's users",
        objects=(web(),),
        then=_deregistered,
        writes=[("patch/status", TDS, "web")],
        woken=(SERVICE,),
    ),
    Case(
        "deletion waits while the family is in use",
        objects=(web(),),
        then=_deleted,
        outcome=Outcome(Result.WAITING, retry=True, after=Timers().deletion_hold_retry),
        events=("DeletionBlocked",),
    ),
    Case(
        "deletion goes on once nothing uses the family",
        then=_deleted,
        writes=[("patch", TDS, "web")],
    ),
    Case(
        "a revision name taken by another ControllerRevision is left alone",
        objects=(foreign_revision("web-1"),),
        outcome=Outcome(Result.CONFLICT, retry=True, after=float("inf")),
        writes=[
            ("create", REVISIONS, "web-1"),
            ("patch", TDS, "web"),
            ("patch/status", TDS, "web"),
        ],
        events=("NameConflict",),
        first=True,
    ),
    Case(
        "a second TaskDefinition of a family another one holds registers nothing and says so",
        objects=(
            ecs(
                "TaskDefinition",
                "web-first",
                task_definition()["spec"],
                creationTimestamp="2000-01-01T00:00:00Z",
            ),
            task_definition(),
        ),
        outcome=Outcome(Result.INVALID),
        writes=[("patch", TDS, "web"), ("patch/status", TDS, "web")],
        events=("InvalidSpec",),
        first=True,
    ),
    Case(
        "a family's TaskDefinition going away wakes another one that claims the family",
        objects=(ecs("TaskDefinition", "web-second", task_definition()["spec"]),),
        then=_deleted,
        writes=[("patch", TDS, "web")],
        woken=(Key(Kind.TASK_DEFINITION, "shop", "web-second"),),
    ),
    Case(
        "two TaskDefinitions of a family deleted together do not wake each other",
        objects=(
            ecs(
                "TaskDefinition",
                "web-second",
                task_definition()["spec"],
                deletionTimestamp="2026-01-01T00:00:00Z",
                finalizers=[FINALIZER],
            ),
        ),
        then=_deleted,
        writes=[("patch", TDS, "web")],
    ),
    Case(
        "a spec that breaks ECS rules is reported",
        objects=(ecs("TaskDefinition", "web", {"family": "web", "containerDefinitions": []}),),
        outcome=Outcome(Result.INVALID),
        writes=[("patch", TDS, "web"), ("patch/status", TDS, "web")],
        events=("InvalidSpec",),
        first=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_task_definition_reconcile(case: Case) -> None:
    async def run() -> tuple[FakeApi, Context, Outcome]:
        own = any(
            o["kind"] == "TaskDefinition" and o["metadata"]["name"] == "web" for o in case.objects
        )
        api = FakeApi(*(() if own else (task_definition(),)), *case.objects)
        ctx = context(api, Settings())
        if not case.first:
            await taskdefinition.reconcile(ctx, "shop", "web")
            api.forget_requests()
            if case.then is not None:
                case.then(api, ctx)
        queue = ctx.queue
        assert isinstance(queue, FakeQueue)
        queue.added.clear()
        outcome = await taskdefinition.reconcile(ctx, "shop", "web")
        await ctx.events.drain()  # type: ignore[attr-defined]
        assert tuple(key for key, _ in queue.added) == case.woken
        return api, ctx, outcome

    api, ctx, outcome = asyncio.run(run())
    assert outcome == case.outcome
    assert sorted(api.written) == sorted(case.writes)
    assert [reason for reason, _ in api.posted] == list(case.events)
    body = ctx.store.get(TASK_DEFINITION, "shop", "web")
    assert body is not None
    held = FINALIZER in (body["metadata"].get("finalizers") or [])
    assert held == all(
        words not in case.name for words in ("deletion goes on", "going away", "deleted together")
    )
