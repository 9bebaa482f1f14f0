"""What a cluster admin meets beyond the happy path (tests/integration/test_cluster_admin.py
shows the same on a real control plane): a pod create the API server refuses for a reason a
retry may get past (a full ResourceQuota), a Service's children refused by the admin's RBAC or
admission policy, and the uninstall docs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from ecs_operator.handlers import service, task, taskdefinition
from ecs_operator.handlers.context import Settings
from ecs_operator.handlers.queue import Outcome
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.events import EventRecorder
from ecs_operator.kube.resources import ECS_SERVICE, ECS_TASK

from .fakes import NOW, FakeApi, World, context
from .test_reconcile_service import DEFAULT_CLUSTER, task_definition, web
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


def test_a_task_a_quota_holds_keeps_its_record_and_costs_no_write_while_held() -> None:
    """A task whose pod a quota refuses is PROVISIONING, as ECS shows a task waiting for room,
    with one record kept from the first try (its createdAt stays), and later tries write
    nothing while nothing changes: one refused create each, and no Event but the first. Before,
    each try wrote its record and the next status write removed it: describe-tasks showed it
    come and go every minute, at two status writes a try."""

    async def run() -> tuple[World, list[Json], int]:
        w = await _world(job())
        await _pass(w)  # job-0 created, job-1 refused
        first = list(w.status().get("tasks") or [])
        writes = len(w.api.written)
        for _ in range(3):
            w.ctx.clock.now += 61  # type: ignore[attr-defined]
            await _pass(w)
        return w, first, writes

    w, first, writes = asyncio.run(run())
    records = {t["taskId"]: t for t in w.status().get("tasks") or []}
    assert records["job-1"]["lastStatus"] == "PROVISIONING", w.status()
    assert records["job-1"]["createdAt"] == {t["taskId"]: t for t in first}["job-1"]["createdAt"]
    assert w.api.written[writes:] == [], "no status write, no Event, while nothing changes"
    refused = [call for call in w.api.calls if call[:2] == ("create", "job-1")]
    assert len(refused) == 4, "one refused create a try"
    assert [reason for reason, _ in w.api.posted].count("TaskStartHeld") == 1


AUTO_SCALING = {
    "minCapacity": 2,
    "maxCapacity": 10,
    "targetTrackingScalingPolicies": [
        {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 70}
    ],
}
#: the API server's words for a write the admin's rules refuse: (plural refused, status, message)
CHILD_REFUSALS = {
    "RBAC": (
        "horizontalpodautoscalers",
        403,
        'horizontalpodautoscalers.autoscaling is forbidden: User "system:serviceaccount:ecs:'
        'ecs-operator" cannot create resource "horizontalpodautoscalers" in API group '
        '"autoscaling" in the namespace "shop"',
    ),
    "admission webhook": (
        "deployments",
        400,
        'admission webhook "validate.kyverno.svc" denied the request: require-team-label',
    ),
    "quota": (
        "poddisruptionbudgets",
        403,
        'poddisruptionbudgets.policy "web" is forbidden: exceeded quota: objects, requested: '
        "count/poddisruptionbudgets.policy=1, used: count/poddisruptionbudgets.policy=0, "
        "limited: count/poddisruptionbudgets.policy=0",
    ),
}


class RefusingApi(FakeApi):
    """An API server that refuses every write of one kind of object, as the admin's RBAC,
    admission policy or quota would."""

    def __init__(self, refused: tuple[str, int, str], *objects: Json) -> None:
        super().__init__(*objects)
        self.refused = refused

    def _refuse(self, resource: Any) -> None:
        plural, status, message = self.refused
        if resource.plural == plural:
            raise ApiError(status, message, "Forbidden" if status == 403 else "BadRequest")

    async def create(self, resource: Any, body: Json) -> Json:
        self._refuse(resource)
        return await super().create(resource, body)

    async def apply(self, resource: Any, body: Json, subresource: str = "") -> Json:
        if not subresource:
            self._refuse(resource)
        return await super().apply(resource, body, subresource)


@pytest.mark.parametrize("refusal", list(CHILD_REFUSALS), ids=list(CHILD_REFUSALS))
def test_a_service_whose_child_the_admin_refuses_says_why_and_runs_what_it_may(
    refusal: str,
) -> None:
    """The admin's RBAC leaves out HPAs, a policy engine refuses the Deployment, a quota allows
    no PodDisruptionBudget: the Service reads Degraded with the API server's words and a
    Warning Event, its other children are written, and it is tried again at the backoff's pace
    (a grant or a freed quota wakes nothing). Before, the refusal ended the pass before its
    status write, on every pass: an empty status and a traceback per retry."""
    plural, _, message = CHILD_REFUSALS[refusal]
    api = RefusingApi(CHILD_REFUSALS[refusal], DEFAULT_CLUSTER, task_definition())
    api.add(web(autoScaling=AUTO_SCALING))
    w = _refused_first_pass(
        World(api, context(api), service.reconcile, ECS_SERVICE, "web"), message
    )
    written = {p for verb, p, _ in w.api.written if verb in ("apply", "create")}
    others = {"deployments", "poddisruptionbudgets", "horizontalpodautoscalers"} - {plural}
    assert others <= written, w.api.written


def _refused_first_pass(w: World, message: str) -> World:
    """``w``'s first pass, the task definition ``web`` registered: its object reads Degraded
    WriteRefused with the API server's ``message``, says so in a Warning Event, and comes back
    at the backoff's pace (a grant or a freed quota wakes nothing)."""

    async def run() -> Outcome:
        await taskdefinition.reconcile(w.ctx, "shop", "web")
        outcome = await w.reconciler(w.ctx, "shop", w.name)
        await cast(EventRecorder, w.ctx.events).drain()
        return outcome

    outcome = asyncio.run(run())
    degraded = w.condition("Degraded")
    assert (degraded.get("status"), degraded.get("reason")) == ("True", "WriteRefused")
    assert message in degraded["message"], degraded
    assert ("WriteRefused", degraded["message"]) in w.api.posted
    assert outcome.retry and outcome.after is None
    return w


def test_a_task_whose_account_the_admin_refuses_starts_nothing_and_says_why() -> None:
    """The task's ServiceAccount is refused (RBAC without serviceaccounts): no pod starts under
    an account that is not there, the Task reads Degraded with the API server's words, and it
    is tried again at the backoff's pace."""
    message = 'serviceaccounts is forbidden: User "ecs-operator" cannot create resource'
    api = RefusingApi(("serviceaccounts", 403, message), DEFAULT_CLUSTER, task_definition(), job())
    w = _refused_first_pass(World(api, context(api), task.reconcile, ECS_TASK, "job"), message)
    assert not [p for _, p, _ in w.api.written if p == "pods"], w.api.written


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
