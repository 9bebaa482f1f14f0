"""No spec a tenant can write makes a reconciler raise: every ECS kind, its spec drawn from its
model as the CRD's schema takes it (``render/strategies.py``; nulls dropped, as the API server
drops them), is reconciled twice on a fake API server beside the family ``web`` (a plain
task definition or a drawn one) and its default Cluster. A raise is a reconcile the queue
retries on its backoff forever, with nothing reported to the user; a spec the operator cannot
run is reported instead (INVALID, WAITING...). And once it has settled (two passes), a pass
writes nothing: the operator writes only what changed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ecs_operator.api.models import (
    ClusterSpec,
    ScheduledTaskSpec,
    ServiceSpec,
    TaskDefinitionSpec,
    TaskSpec,
)
from ecs_operator.handlers import cluster, scheduledtask, service, task, taskdefinition
from ecs_operator.handlers.queue import Reconcile
from ecs_operator.kube.client import Resource
from ecs_operator.kube.resources import (
    ECS_CLUSTER,
    ECS_SERVICE,
    ECS_TASK,
    SCHEDULED_TASK,
    TASK_DEFINITION,
)

from .fakes import FakeApi, World, context
from .render.strategies import DETERMINISTIC, request, stored, task_definitions
from .test_reconcile_service import DEFAULT_CLUSTER, ecs
from .test_reconcile_service import task_definition as registered

Json = dict[str, Any]
#: names that resolve in the world (the family ``web``, the default cluster) and some that do not
NAMES = {
    "cluster": st.sampled_from(["default", "batch"]),
    "taskDefinition": st.sampled_from(["web", "web:1", "web:9", "other"]),
}


def _specs(model: type[BaseModel], **members: st.SearchStrategy[Any]) -> st.SearchStrategy[Json]:
    return request(model, {**NAMES, **members}).map(stored)


def _around(
    base: Json, model: type[BaseModel], **members: st.SearchStrategy[Any]
) -> st.SearchStrategy[Json]:
    """``base`` (a spec the operator runs) with one to three of its model's members drawn: a
    spec drawn whole breaks some rule nearly always, and stops there."""
    drawn = request(model, {**NAMES, **members})
    picked = drawn.flatmap(
        lambda spec: st.sets(st.sampled_from(sorted(spec)), min_size=1, max_size=3).map(
            lambda keys: {k: spec[k] for k in keys}
        )
    )
    return picked.map(lambda change: stored({**base, **change}))


SERVICE = {"serviceName": "x", "taskDefinition": "web", "desiredCount": 2}
SCHEDULE = {
    "scheduleExpression": "rate(5 minutes)",
    "flexibleTimeWindow": {"mode": "OFF"},
    "target": {"ecsParameters": {"taskDefinitionArn": "web"}},
}


def _definitions(family: str) -> st.SearchStrategy[Json]:
    """Task definitions of ``family``: drawn whole, as registrations, or around one that runs."""
    drawn = (
        task_definitions()
        | _specs(TaskDefinitionSpec)
        | _around(registered()["spec"], TaskDefinitionSpec)
    )
    return drawn.map(lambda spec: stored({**spec, "family": family}))


#: kind -> (its resource, its reconciler, specs of it named ``x``)
KINDS: dict[str, tuple[Resource, Reconcile, st.SearchStrategy[Json]]] = {
    "Service": (
        ECS_SERVICE,
        service.reconcile,
        _specs(ServiceSpec, serviceName=st.just("x"))
        | _around(SERVICE, ServiceSpec, serviceName=st.just("x")),
    ),
    "Task": (
        ECS_TASK,
        task.reconcile,
        _specs(TaskSpec) | _around({"taskDefinition": "web"}, TaskSpec),
    ),
    "TaskDefinition": (TASK_DEFINITION, taskdefinition.reconcile, _definitions("x")),
    "Cluster": (ECS_CLUSTER, cluster.reconcile, _specs(ClusterSpec, clusterName=st.just("x"))),
    "ScheduledTask": (
        SCHEDULED_TASK,
        scheduledtask.reconcile,
        _specs(ScheduledTaskSpec) | _around(SCHEDULE, ScheduledTaskSpec),
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_spec_makes_a_reconciler_raise_nor_write_once_settled(kind: str) -> None:
    resource, reconciler, specs = KINDS[kind]

    @settings(DETERMINISTIC, max_examples=30)
    @given(spec=specs, web=st.just(registered()["spec"]) | _definitions("web"))
    def reconciled(spec: Json, web: Json) -> None:
        async def settled() -> None:
            objects = (ecs("TaskDefinition", "web", web), ecs(kind, "x", spec))
            api = FakeApi(DEFAULT_CLUSTER, *objects)
            ctx = context(api)
            await taskdefinition.reconcile(ctx, "shop", "web")
            w = World(api, ctx, reconciler, resource, "x")
            await w.reconcile()
            await w.reconcile()
            api.forget_requests()
            await w.reconcile()
            assert api.written == [], (kind, spec, web)

        asyncio.run(settled())

    reconciled()


def _ours(api: FakeApi) -> dict[tuple[str, str], Json]:
    """The objects of the namespace but the ECS ones and Events, as the API server keeps them
    less what it stamps (versions, uids, times) and their status."""
    kept = {}
    for (plural, _, name), body in api.objects.items():
        if body.get("apiVersion", "").startswith("ecs-operator.dev/") or plural == "events":
            continue
        metadata = {
            k: v
            for k, v in body["metadata"].items()
            if k not in ("resourceVersion", "uid", "creationTimestamp", "generation")
        }
        kept[plural, name] = {**body, "metadata": metadata, "status": None}
    return kept


async def _settled_service(specs: list[Json]) -> tuple[FakeApi, str]:
    """A Service given each of ``specs`` in turn, settled after each; and its last result."""
    api = FakeApi(DEFAULT_CLUSTER, registered(), ecs("Service", "x", specs[0]))
    ctx = context(api)
    await taskdefinition.reconcile(ctx, "shop", "web")
    w = World(api, ctx, service.reconcile, ECS_SERVICE, "x")
    for index, spec in enumerate(specs):
        if index:
            w.put({**api.objects[ECS_SERVICE.plural, "shop", "x"], "spec": spec})
        await w.reconcile()
        result = await w.reconcile()
    return api, str(result)


@settings(DETERMINISTIC, max_examples=30)
@given(
    first=KINDS["Service"][2], dropped=st.sets(st.sampled_from(sorted(ServiceSpec.model_fields)))
)
@example(
    first={**SERVICE, "placementConstraints": [{"type": "distinctInstance"}]},
    dropped={"placementConstraints"},
)
def test_a_service_that_drops_members_has_what_it_would_have_had_without_them(
    first: Json, dropped: set[str]
) -> None:
    """What the operator made for a Service does not depend on the Service's past: a spec it
    runs, less some of its members, leaves what a Service created without them would have;
    nothing the members needed is left (an anti-affinity, a budget, an account)."""
    then = {k: v for k, v in first.items() if k not in dropped - set(SERVICE)}
    changed, result = asyncio.run(_settled_service([first, then]))
    fresh, fresh_result = asyncio.run(_settled_service([then]))
    if result == fresh_result == "ok":
        assert _ours(changed) == _ours(fresh)
