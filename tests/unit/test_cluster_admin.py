"""What a cluster admin meets beyond the happy path (tests/integration/test_cluster_admin.py
shows the same on a real control plane): a pod create the API server refuses for a reason a
retry may get past (a full ResourceQuota), and the uninstall docs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ecs_operator.handlers import task, taskdefinition
from ecs_operator.handlers.context import Settings
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.events import EventRecorder
from ecs_operator.kube.resources import ECS_TASK

from .fakes import NOW, FakeApi, World, context
from .test_reconcile_service import DEFAULT_CLUSTER, task_definition
from .test_reconcile_task import RETENTION, _exited, job

Json = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]
QUOTA = (
    'pods "job-1" is forbidden: exceeded quota: limits, requested: pods=1, used: pods=1, '
    "limited: pods=1"
)


class QuotaApi(FakeApi):
    """An API server whose namespace quota has no room for the pod ``job-1``."""

    async def create(self, resource: Any, body: Json) -> Json:
        if resource.plural == "pods" and body["metadata"]["name"] == "job-1":
            self.calls.append(("create", "job-1", body))
            raise ApiError(403, QUOTA, "Forbidden")
        return await super().create(resource, body)


async def _world(*objects: Json) -> World:
    api = QuotaApi(DEFAULT_CLUSTER, task_definition(), *objects)
    ctx = context(api, Settings(task_retention_seconds=RETENTION))
    await taskdefinition.reconcile(ctx, "shop", "web")
    api.forget_requests()
    return World(api, ctx, task.reconcile, ECS_TASK, "job")


async def _pass(w: World) -> None:
    """One pass, its Events sent."""
    await w.reconciler(w.ctx, "shop", w.name)
    events = w.ctx.events
    assert isinstance(events, EventRecorder)
    await events.drain()


def _pod_creates(api: FakeApi, name: str) -> int:
    return sum(
        1 for verb, plural, n in api.written if (verb, plural, n) == ("create", "pods", name)
    )


def test_a_task_one_of_whose_pods_a_quota_refuses_still_reports_the_one_that_runs() -> None:
    """count 2, room for one pod: task job-0 runs and is reported, job-1 waits for room and
    the Task says why, as ECS says why it could not start a task. Before, job-1's refusal left
    the reconcile before its status write, on every pass."""

    async def run() -> World:
        w = await _world(job())
        await _pass(w)
        await _pass(w)
        return w

    w = asyncio.run(run())
    assert _pod_creates(w.api, "job-0") == 1
    records = {t["taskId"]: t for t in w.status().get("tasks") or []}
    assert "job-0" in records, w.status()
    ready = w.condition("Ready")
    assert "exceeded quota" in ready.get("message", ""), w.status()


def test_a_task_is_never_started_twice_while_another_of_its_pods_is_refused() -> None:
    """A task is never started twice. Task job-0 runs and exits while job-1 is still refused
    (the quota's room went to another workload's pod meanwhile). Before, job-0's STOPPED
    record was never written (the pass raised at job-1's create before the status write), its
    pod was deleted at the end of the retention, and the next pass, finding neither pod nor
    record of job-0, created job-0 again: the batch job ran a second time."""

    async def run() -> World:
        w = await _world(job())
        await _pass(w)  # job-0 created, job-1 refused
        w.change("pods", "job-0", _exited(0))  # job-0 ran to completion
        await _pass(w)
        w.ctx.clock.now = NOW + RETENTION + 1  # type: ignore[attr-defined]
        await _pass(w)  # the retention is over: job-0's pod goes
        await _pass(w)
        return w

    w = asyncio.run(run())
    assert ("delete", "pods", "job-0") in w.api.written
    assert _pod_creates(w.api, "job-0") == 1, w.api.written


def test_the_uninstall_docs_say_what_holds_ecs_objects_once_the_operator_is_gone() -> None:
    """Every TaskDefinition carries the finalizer ecs-operator.dev/in-use, which only the
    running operator removes: after an uninstall, deleting a namespace or the CRDs leaves it
    Terminating for good. The uninstall section names the finalizer and the way out (delete
    the ECS objects first, or remove the finalizer: its command was run by hand on a
    devcluster, the namespace then went)."""
    install = (REPO / "docs" / "install.md").read_text()
    start = install.index("**Uninstalling**")
    paragraph = install[start : install.index("\n\n", start)]
    assert "ecs-operator.dev/in-use" in paragraph, paragraph
