"""The store the operator fills at startup (handlers/prewarm.py): what its LIST found and no
watch event confirmed is looked up, and what is gone is forgotten, so that nothing waits for
good on an object deleted while the operator started."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any, cast

from ecs_operator.handlers import prewarm, taskdefinition, watch
from ecs_operator.handlers.common import FINALIZER
from ecs_operator.handlers.queue import Key, Kind, Result
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.resources import (
    ECS_SERVICE,
    ECS_TASK,
    HORIZONTAL_POD_AUTOSCALER,
    TASK_DEFINITION,
    resource_of,
)

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


class NoAutoscalersApi(FakeApi):
    """The operator's ClusterRole without horizontalpodautoscalers (an admin's trim)."""

    async def list(
        self,
        resource: Any,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[list[dict[str, Any]]]:
        if resource == HORIZONTAL_POD_AUTOSCALER:
            raise ApiError(403, "horizontalpodautoscalers.autoscaling is forbidden", "Forbidden")
        async for page in super().list(resource, namespace, label_selector, field_selector):
            yield page


def test_one_kind_the_operator_may_not_list_does_not_stop_its_start() -> None:
    """Seen on a devcluster: the chart's ClusterRole less horizontalpodautoscalers. The startup
    LIST raised the 403, kopf retried the startup every 60 s, the health endpoint was never
    served, and nothing in any namespace was reconciled, though only ``autoScaling`` needs
    that right. The start goes on without that kind."""
    api = NoAutoscalersApi(task_definition())
    ctx = context(api, filled=False)

    asyncio.run(prewarm.prewarm(ctx, ["shop"]))

    assert ctx.store.get(TASK_DEFINITION, "shop", "web") is not None


def _listed_again(ctx: Any, api: FakeApi, *plurals: str) -> None:
    """kopf's watches of ``plurals`` list again (after a 410 Gone, a broken connection, the end
    of a peering pause): each object there is now comes as an event of no type."""
    for (plural, _, _), body in list(api.objects.items()):
        if plural in plurals:
            watch._track(ctx, resource_of(body), {"type": None, "object": copy.deepcopy(body)})


def test_what_went_while_the_watches_were_away_is_forgotten_once_they_list_again() -> None:
    """The API server restarts; while the watches reconnect, the Task using the family is
    deleted: the watches list again and report what is there, never what went. The family's
    deletion waited on the gone Task for good, until the operator's next restart. Now the
    first listings after a gap put the store in doubt: what no listing confirms is looked up,
    and what is gone is forgotten."""
    api = FakeApi()
    for body in (task_definition(), ecs("Task", "once", {"taskDefinition": "web"})):
        api.add(body)
    ctx = context(api)
    asyncio.run(taskdefinition.reconcile(ctx, "shop", "web"))
    assert ctx.store.unconfirmed() == []

    del api.objects[("tasks", "shop", "once")]  # deleted in the gap: no event will tell
    api.objects[(TDS, "shop", "web")]["metadata"]["deletionTimestamp"] = DELETED_AT
    _listed_again(ctx, api, TDS, "controllerrevisions")  # no Task is left: no Task event
    assert [r.plural for r, *_ in ctx.store.unconfirmed()] == ["tasks"]
    assert (prewarm.CONFIRM, ctx.timers.prewarm_confirm) in cast(FakeQueue, ctx.queue).added

    asyncio.run(prewarm.confirm(ctx, "", "*"))
    released = asyncio.run(taskdefinition.reconcile(ctx, "shop", "web"))
    assert ctx.store.get(ECS_TASK, "shop", "once") is None
    assert released.result != Result.WAITING
    assert FINALIZER not in api.objects[(TDS, "shop", "web")]["metadata"].get("finalizers", [])


def test_one_watch_listing_again_puts_only_its_own_kind_in_doubt() -> None:
    """A single watch lists again (kopf restarts a watch whose resource version is too old):
    only its kind can have lost a deletion, so the others are not looked up one by one."""
    api = FakeApi(task_definition(), web(), ecs("Service", "api", {"taskDefinition": "web"}))
    api.add(ecs("Task", "once", {"taskDefinition": "web"}))
    ctx = context(api)
    del api.objects[("services", "shop", "api")]
    _listed_again(ctx, api, "services")
    assert [(r.plural, name) for r, _, name, _ in ctx.store.unconfirmed()] == [("services", "api")]
