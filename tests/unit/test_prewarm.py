"""The store the operator fills at startup (handlers/prewarm.py): what its LIST found and no
watch event confirmed is looked up, and what is gone is forgotten, so that nothing waits for
good on an object deleted while the operator started."""

from __future__ import annotations

import asyncio
from typing import cast

from ecs_operator.handlers import prewarm, taskdefinition
from ecs_operator.handlers.common import FINALIZER
from ecs_operator.handlers.queue import Key, Kind, Result
from ecs_operator.kube.resources import ECS_SERVICE, ECS_TASK, resource_of

from .fakes import FakeApi, FakeQueue, context
from .test_reconcile_service import ecs, task_definition, web

TDS = "taskdefinitions"
DELETED_AT = "2026-12-05T00:00:00Z"


def test_a_user_deleted_between_the_startup_list_and_the_watches_holds_nothing() -> None:
    """A Task using the family ``web`` is deleted after the operator's startup LIST and before
    its watches list (its namespace being deleted as the operator restarts): no event ever
    tells of it. The family's deletion waited on it for good; once the check has looked it up,
    the finalizer goes. The Service still there is kept."""
    api = FakeApi()
    for body in (task_definition(), web(), ecs("Task", "once", {"taskDefinition": "web"})):
        api.add(body)
    asyncio.run(taskdefinition.reconcile(context(api), "shop", "web"))
    assert FINALIZER in api.objects[(TDS, "shop", "web")]["metadata"]["finalizers"]

    ctx = context(api, filled=False)  # the operator restarts
    asyncio.run(prewarm.prewarm(ctx, ["shop"]))
    del api.objects[("tasks", "shop", "once")]  # gone before the watches list
    api.objects[(TDS, "shop", "web")]["metadata"]["deletionTimestamp"] = "2026-12-05T00:00:00Z"
    api.objects[("services", "shop", "web")]["metadata"]["deletionTimestamp"] = (
        "2026-12-05T00:00:00Z"
    )
    for body in api.objects.values():  # the watches report what they list
        ctx.store.put(resource_of(body), dict(body))

    held = asyncio.run(taskdefinition.reconcile(ctx, "shop", "web"))
    assert held.result == Result.WAITING
    assert [r.plural for r, *_ in ctx.store.unconfirmed()] == ["tasks"]
    assert (Key(Kind.PREWARMED, "", "*"), ctx.timers.prewarm_confirm) in cast(
        FakeQueue, ctx.queue
    ).added

    asyncio.run(prewarm.confirm(ctx, "", "*"))
    released = asyncio.run(taskdefinition.reconcile(ctx, "shop", "web"))

    assert ctx.store.get(ECS_TASK, "shop", "once") is None
    assert ctx.store.get(ECS_SERVICE, "shop", "web") is not None
    assert ctx.store.unconfirmed() == []
    assert released.result != Result.WAITING
    assert FINALIZER not in api.objects[(TDS, "shop", "web")]["metadata"].get("finalizers", [])
