"""The Task reconciler, one pass at a time, against a fake API server (as
test_reconcile_service.py): pods started once under fixed names, stopped as ECS stops tasks,
kept for the retention period, and names taken by others left alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ecs_operator.handlers import task, taskdefinition
from ecs_operator.handlers.context import Timers
from ecs_operator.handlers.queue import Key, Kind, Result
from ecs_operator.kube.resources import ECS_TASK, POD
from ecs_operator.render.identity import NO_ROLE_SERVICE_ACCOUNT
from ecs_operator.render.keys import ANNOTATION_STOPPED_TASKS

from .fakes import NOW, FakeApi, FakeQueue, World, context, stamp
from .test_reconcile_service import DEFAULT_CLUSTER, ecs, task_definition

Json = dict[str, Any]
SA, PODS, TASKS = "serviceaccounts", "pods", "tasks"
RETENTION = 3600.0
GRACE = Timers().start_failure_grace


def job(**spec: Any) -> Json:
    return ecs("Task", "job", {"taskDefinition": "web", "launchType": "EC2", "count": 2, **spec})


def foreign_pod(name: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "x", "image": "busybox"}]},
    }


def _exited(code: int) -> Callable[[Json], None]:
    def edit(pod: Json) -> None:
        terminated = {"exitCode": code, "reason": "Error" if code else "Completed"}
        pod["status"] = {
            "phase": "Failed" if code else "Succeeded",
            "containerStatuses": [{"name": "app", "state": {"terminated": terminated}}],
        }

    return edit


def _stop(body: Json) -> None:
    body["spec"]["desiredStatus"] = "STOPPED"


def _running(pod: Json) -> None:
    pod["status"] = {
        "phase": "Running",
        "startTime": "2026-11-29T12:00:01Z",
        "containerStatuses": [{"name": "app", "state": {"running": {}}}],
    }


def _stop_running(w: World) -> None:
    for name in ("job-0", "job-1"):
        w.change(PODS, name, _running)
    w.change(TASKS, "job", _stop)


def _stop_ignored(w: World) -> None:
    """StopTask on a node that never acts on the deadline: the clock moves past the grace
    period and margin after the first pass."""
    _stop_running(w)
    reconcile = w.reconciler

    async def then_later(ctx: Any, namespace: str, name: str) -> Any:
        outcome = await reconcile(ctx, namespace, name)
        ctx.clock.now = NOW + 30 + task.STOP_MARGIN_SECONDS + 1
        return outcome

    w.reconciler = then_later


def _stopped_by_kubelet(w: World) -> None:
    """What the kubelet does with a stopped pod: its containers end, the pod stays, Failed."""
    _stop_running(w)
    for name in ("job-0", "job-1"):
        w.change(PODS, name, lambda pod: pod["spec"].update(activeDeadlineSeconds=1))
        w.change(PODS, name, _exited(143))


def _both_exited(w: World) -> None:
    for name in ("job-0", "job-1"):
        w.change(PODS, name, _exited(1))


def _retained_then_expired(w: World) -> None:
    _both_exited(w)
    w.ctx.clock.now = NOW + RETENTION + 1  # type: ignore[attr-defined]


def _pulling(pod: Json) -> None:
    """A kubelet that cannot pull the task's image: it backs off and tries again, for good."""
    pod["spec"]["nodeName"] = "node-1"
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:1.27"'}
    pod["status"] = {
        "phase": "Pending",
        "startTime": stamp(NOW),
        "containerStatuses": [{"name": "app", "state": {"waiting": waiting}}],
    }


def _pull_failing(w: World) -> None:
    for plural, _, name in list(w.api.objects):
        if plural == PODS:
            w.change(PODS, name, _pulling)


def _pull_failed(w: World) -> None:
    _pull_failing(w)
    w.ctx.clock.now = NOW + GRACE + 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Case:
    name: str
    objects: tuple[Json, ...] = (job(),)
    then: Callable[[World], None] | None = None
    result: Result = Result.OK
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    last_status: str | None = None
    events: tuple[str, ...] = ()
    #: what the reconcile enqueued: (key, after)
    queued: tuple[tuple[Key, float], ...] = ()
    first: bool = False
    #: reconciles under test (the next one sees the store as the first left it)
    passes: int = 1


CASES = [
    Case(
        "a new task creates its account, records its tasks, creates one pod per count, then "
        "reports (a task recorded before its pod exists is never started twice)",
        writes=[
            ("apply", SA, NO_ROLE_SERVICE_ACCOUNT),
            ("patch/status", TASKS, "job"),
            ("create", PODS, "job-0"),
            ("create", PODS, "job-1"),
            ("patch/status", TASKS, "job"),
        ],
        last_status="PROVISIONING",
        first=True,
    ),
    Case("a started task writes nothing more", then=lambda w: None, last_status="PROVISIONING"),
    Case(
        "a pod name taken by a pod the task did not create is left alone",
        objects=(foreign_pod("job-0"), job()),
        result=Result.CONFLICT,
        writes=[
            ("apply", SA, NO_ROLE_SERVICE_ACCOUNT),
            ("patch/status", TASKS, "job"),
            ("create", PODS, "job-1"),
            ("patch/status", TASKS, "job"),
        ],
        last_status="PROVISIONING",
        events=("NameConflict",),
        first=True,
    ),
    Case(
        "StopTask deletes the pods, then the records say STOPPED",
        then=lambda w: w.change(TASKS, "job", _stop),
        writes=[
            ("delete", PODS, "job-0"),
            ("delete", PODS, "job-1"),
            ("patch/status", TASKS, "job"),
            ("patch/status", TASKS, "job"),
        ],
        passes=2,
        last_status="STOPPED",
        events=("TaskStopped", "TaskStopped"),
    ),
    Case(
        "StopTask of running tasks cuts their pods' active deadline: the kubelet stops the "
        "containers with SIGTERM and the grace period, and keeps the pods (exit codes, logs)",
        then=_stop_running,
        writes=[
            ("patch", PODS, "job-0"),
            ("patch", PODS, "job-1"),
            ("patch/status", TASKS, "job"),
        ],
        passes=2,  # the second pass finds the deadline cut and writes nothing more
        last_status="DEPROVISIONING",
        # back once the grace period (30 s, none set) and the margin are over, to make sure
        queued=((Key(Kind.TASK, "shop", "job"), 30 + task.STOP_MARGIN_SECONDS),) * 4,
    ),
    Case(
        "a node that ignores the deadline past the grace period gets the pods deleted",
        then=_stop_ignored,
        writes=[
            ("patch", PODS, "job-0"),
            ("patch", PODS, "job-1"),
            ("delete", PODS, "job-0"),
            ("delete", PODS, "job-1"),
            ("patch/status", TASKS, "job"),
            ("patch/status", TASKS, "job"),
        ],
        passes=3,  # patched; deleted; the records say STOPPED
        last_status="STOPPED",
        events=("TaskStopped", "TaskStopped"),
        queued=((Key(Kind.TASK, "shop", "job"), 30 + task.STOP_MARGIN_SECONDS),) * 2,
    ),
    Case(
        "once the kubelet stopped them, the stopped tasks keep their pods for the retention",
        then=_stopped_by_kubelet,
        writes=[("patch/status", TASKS, "job")],
        last_status="STOPPED",
        events=("TaskStopped", "TaskStopped"),
        queued=((Key(Kind.TASK, "shop", "job"), RETENTION),) * 2,
    ),
    Case(
        "an essential container's exit stops the task; its pods stay for the retention",
        then=_both_exited,
        writes=[("patch/status", TASKS, "job")],
        last_status="STOPPED",
        events=("TaskStopped", "TaskStopped"),
        queued=((Key(Kind.TASK, "shop", "job"), RETENTION),) * 2,  # the queue keeps one
    ),
    Case(
        "a container the kubelet fails to pull is given the kubelet's retries first",
        then=_pull_failing,
        writes=[("patch/status", TASKS, "job")],
        last_status="PENDING",
        queued=((Key(Kind.TASK, "shop", "job"), GRACE),) * 2,
    ),
    Case(
        "then the task stops as failed to start, and the kubelet is told to stop its pods",
        then=_pull_failed,
        writes=[("patch", PODS, "job-0"), ("patch", PODS, "job-1"), ("patch/status", TASKS, "job")],
        last_status="STOPPED",
        events=("TaskStopped", "TaskStopped"),
        queued=((Key(Kind.TASK, "shop", "job"), 30 + task.STOP_MARGIN_SECONDS),) * 2,
    ),
    Case(
        "after the retention, a stopped task's pods go once its record is written",
        then=_retained_then_expired,
        passes=2,
        writes=[
            ("delete", PODS, "job-0"),
            ("delete", PODS, "job-1"),
            ("patch/status", TASKS, "job"),
        ],
        last_status="STOPPED",
        events=("TaskStopped", "TaskStopped"),
        queued=((Key(Kind.TASK, "shop", "job"), task.RECORD_WAIT_SECONDS),) * 2,
    ),
    Case(
        "a task stopped before it started writes its status only",
        objects=(job(desiredStatus="STOPPED"),),
        writes=[("patch/status", TASKS, "job")],
        last_status="STOPPED",
        first=True,
    ),
    Case(
        "a task role the namespace may not use starts nothing",
        objects=(
            ecs(
                "TaskDefinition",
                "roled",
                {
                    "family": "roled",
                    "taskRoleArn": "arn:aws:iam::111122223333:role/app",
                    "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 512}],
                },
            ),
            job(taskDefinition="roled"),
        ),
        result=Result.REFUSED,
        writes=[("patch/status", TASKS, "job")],
        events=("TaskRoleNotAllowed",),
        first=True,
    ),
]


async def world(*objects: Json) -> World:
    api = FakeApi(DEFAULT_CLUSTER, task_definition(), *objects)
    ctx = context(api)
    for body in list(api.objects.values()):
        if body["kind"] == "TaskDefinition":
            await taskdefinition.reconcile(ctx, "shop", body["metadata"]["name"])
    api.forget_requests()
    return World(api, ctx, task.reconcile, ECS_TASK, "job")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_task_reconcile(case: Case) -> None:
    async def run() -> World:
        w = await world(*case.objects)
        if not case.first:
            await w.reconcile()
            w.api.forget_requests()
            if case.then is not None:
                case.then(w)
        queue = w.ctx.queue
        assert isinstance(queue, FakeQueue)
        queue.added.clear()
        for _ in range(case.passes):
            assert await w.reconcile() == case.result
        assert tuple(queue.added) == case.queued
        return w

    w = asyncio.run(run())
    assert sorted(w.api.written) == sorted(case.writes)
    assert w.status().get("lastStatus") == case.last_status
    assert [reason for reason, _ in w.api.posted] == list(case.events)


def test_a_running_tasks_health_reaches_its_record_through_the_store() -> None:
    """The store keeps of a pod's containers only whether they have a health check (their
    readiness probe), which is what the task's ``healthStatus`` is read from."""
    checked = ecs(
        "TaskDefinition",
        "checked",
        {
            "family": "checked",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "busybox:1.36",
                    "memory": 64,
                    "healthCheck": {"command": ["CMD-SHELL", "true"]},
                }
            ],
        },
    )

    def healthy(pod: Json) -> None:
        _running(pod)
        pod["status"]["containerStatuses"][0]["ready"] = True

    async def run() -> World:
        w = await world(checked, job(taskDefinition="checked", count=1))
        await w.reconcile()
        w.change(PODS, "job-0", healthy)
        await w.reconcile()
        return w

    w = asyncio.run(run())
    [record] = w.status()["tasks"]
    assert record["healthStatus"] == "HEALTHY"
    assert record["containers"][0]["healthStatus"] == "HEALTHY"


def test_a_task_that_failed_to_start_keeps_ecss_reason_once_its_pod_is_stopped() -> None:
    """ECS's record of a task that could not pull its image, as `aws ecs describe-tasks` shows
    it, kept after the kubelet stopped the pod (which then reads DeadlineExceeded)."""

    def stopped(pod: Json) -> None:
        pod["status"]["phase"] = "Failed"
        pod["status"]["reason"] = "DeadlineExceeded"

    async def run() -> World:
        w = await world(job(count=1))
        await w.reconcile()
        _pull_failed(w)
        await w.reconcile()
        w.change(PODS, "job-0", stopped)
        await w.reconcile()
        return w

    w = asyncio.run(run())
    [record] = w.status()["tasks"]
    reason = 'CannotPullContainerError: Back-off pulling image "nginx:1.27"'
    assert (record["lastStatus"], record["stopCode"]) == ("STOPPED", "TaskFailedToStart")
    assert record["stoppedReason"] == reason
    assert record["containers"] == [
        {
            "name": "app",
            "lastStatus": "STOPPED",
            "reason": reason,
            "healthStatus": "UNKNOWN",
            "image": "nginx:1.27",
        }
    ]
    degraded = {c["type"]: c for c in w.status()["conditions"]}["Degraded"]
    assert (degraded["status"], degraded["reason"]) == ("True", "TaskFailedToStart")


def test_each_task_shows_the_launch_type_and_capacity_provider_it_runs_on() -> None:
    """A RunTask spread over a capacity provider strategy shows each task's own provider, as
    ECS's describe-tasks does (ECS's base first, then by weight), with its launch type; a task
    run with neither shows EC2, the launch type ECS gives it."""
    strategy = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 0},
        {"capacityProvider": "FARGATE_SPOT", "weight": 1},
    ]

    fargate = {
        "family": "small",
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "nginx:1.27"}],
    }
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}

    async def run(spec: Json) -> list[Json]:
        w = await world(ecs("TaskDefinition", "small", fargate), ecs("Task", "job", spec))
        await w.reconcile()
        return list(w.status()["tasks"])

    spread = asyncio.run(
        run(
            {
                "taskDefinition": "small",
                "count": 2,
                "capacityProviderStrategy": strategy,
                "networkConfiguration": network,
            }
        )
    )
    assert [(t["launchType"], t["capacityProviderName"]) for t in spread] == [
        ("FARGATE", "FARGATE"),
        ("FARGATE", "FARGATE_SPOT"),
    ]
    plain = asyncio.run(run({"taskDefinition": "web"}))
    assert [(t["launchType"], t.get("capacityProviderName")) for t in plain] == [("EC2", None)]


def test_stop_task_of_one_task_of_several_stops_that_one_alone() -> None:
    """ECS's StopTask stops the one task it names, whatever RunTask's ``count`` was: the ECS API
    marks it on the Task (``ecs-operator.dev/stopped-tasks``, with its reason), and the
    operator stops its pod alone; the other runs on, and so does the Task."""

    def asked(body: Json) -> None:
        body["metadata"]["annotations"] = {ANNOTATION_STOPPED_TASKS: '{"job-1": "hung"}'}

    async def run() -> World:
        w = await world(job())
        await w.reconcile()
        for name in ("job-0", "job-1"):
            w.change(PODS, name, _running)
        await w.reconcile()
        w.api.forget_requests()
        w.change(TASKS, "job", asked)
        await w.reconcile()
        assert sorted(w.api.written) == [("patch", PODS, "job-1"), ("patch/status", TASKS, "job")]
        w.change(PODS, "job-1", _exited(143))  # the kubelet stopped it
        await w.reconcile()
        return w

    w = asyncio.run(run())
    records = {t["taskId"]: t for t in w.status()["tasks"]}
    assert (records["job-0"]["lastStatus"], records["job-0"]["desiredStatus"]) == (
        "RUNNING",
        "RUNNING",
    )
    stopped = records["job-1"]
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED",
        "UserInitiated",
        "hung",
    )
    assert w.status()["desiredStatus"] == "RUNNING"


def test_a_task_shows_when_its_instance_took_it_and_when_its_containers_stopped() -> None:
    """ECS's ``connectivity``/``connectivityAt`` (its node's kubelet took the pod) and
    ``executionStoppedAt`` (its last container ended), kept once its pod is gone."""

    def ended(pod: Json) -> None:
        finished = [("2026-11-29T12:00:09Z", 0), ("2026-11-29T12:00:07Z", 137)]
        pod["status"] = {
            "phase": "Succeeded",
            "startTime": "2026-11-29T12:00:01Z",
            "containerStatuses": [
                {"name": name, "state": {"terminated": {"exitCode": code, "finishedAt": at}}}
                for name, (at, code) in zip(("app", "side"), finished, strict=True)
            ],
        }

    async def run() -> tuple[list[Json], ...]:
        w = await world(job(count=1))
        await w.reconcile()
        provisioning = list(w.status()["tasks"])
        w.change(PODS, "job-0", _running)
        await w.reconcile()
        running = list(w.status()["tasks"])
        w.change(PODS, "job-0", ended)
        await w.reconcile()
        # its pod cleaned up: the record is the truth
        del w.api.objects[(PODS, "shop", "job-0")]
        w.ctx.store.forget(POD, "shop", "job-0")
        await w.reconcile()
        return provisioning, running, list(w.status()["tasks"])

    provisioning, running, stopped = asyncio.run(run())
    assert "connectivity" not in provisioning[0]
    connected = {"connectivity": "CONNECTED", "connectivityAt": "2026-11-29T12:00:01Z"}
    assert running[0].items() >= connected.items()
    assert "executionStoppedAt" not in running[0]
    assert stopped[0]["lastStatus"] == "STOPPED"
    assert stopped[0].items() >= {**connected, "executionStoppedAt": "2026-11-29T12:00:09Z"}.items()


def test_a_task_no_node_can_take_says_why_and_runs_once_one_can() -> None:
    """ECS refuses a RunTask it cannot place, naming what no instance had; here the task waits
    PROVISIONING (a node may come: the cluster autoscaler), and the Task says why: Ready=False
    with the scheduler's reason and the task's nodeSelector, and one Warning Event."""
    scheduler = (
        "0/9 nodes are available: 9 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/9 nodes are available."
    )

    def unschedulable(pod: Json) -> None:
        pod["status"] = {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": scheduler,
                }
            ],
        }

    async def run() -> tuple[Json, Json, World]:
        w = await world(job(count=1))
        await w.reconcile()
        w.change(PODS, "job-0", unschedulable)
        await w.reconcile()
        await w.reconcile()
        waiting = w.condition("Ready")
        w.change(PODS, "job-0", _running)
        await w.reconcile()
        return waiting, w.condition("Ready"), w

    waiting, running, w = asyncio.run(run())
    assert (waiting["status"], waiting["reason"]) == ("False", "Provisioning")
    assert waiting["message"].startswith("unable to place task job-0 because no container")
    assert scheduler in waiting["message"] and "nodeSelector" in waiting["message"]
    assert [reason for reason, _ in w.api.posted].count("PlacementFailed") == 1
    assert (running["status"], running["message"]) == ("True", "")


class DiesAfterStarting(FakeApi):
    """An API server the operator loses (it is killed) once it has created a pod: the status
    write that follows never lands, until ``dying`` is cleared (it restarted)."""

    dying = True

    async def merge_patch(
        self, resource: Any, namespace: str | None, name: str, patch: Json, subresource: str = ""
    ) -> Json:
        created = any(w[:2] == ("create", PODS) for w in self.written)
        if self.dying and subresource == "status" and created:
            raise ConnectionResetError("the operator was killed")
        return await super().merge_patch(resource, namespace, name, patch, subresource)


def test_a_task_whose_pod_went_while_the_operator_was_down_is_never_started_again() -> None:
    """The operator is killed after creating a Task's pods, before the status write that
    records them; one pod goes while it is down (a drain, its node gone). Before, the
    restarted operator found neither pod nor record of that task and started it a second
    time: a batch job ran twice, which fixed pod names exist to prevent. The tasks are now
    recorded before their pods are created, and one whose pod went without a word is STOPPED
    (why is its own: nobody asked for it to stop)."""
    api = DiesAfterStarting(DEFAULT_CLUSTER, task_definition(), job())

    async def run() -> World:
        ctx = context(api)
        await taskdefinition.reconcile(ctx, "shop", "web")
        with pytest.raises(ConnectionResetError):
            await task.reconcile(ctx, "shop", "job")
        api.dying = False  # the operator restarts
        api.written.clear()
        del api.objects[(PODS, "shop", "job-0")]  # gone while no operator ran
        w = World(api, context(api), task.reconcile, ECS_TASK, "job")
        await w.reconcile()
        await w.reconcile()
        return w

    w = asyncio.run(run())
    assert ("create", PODS, "job-0") not in api.written, api.written
    records = {t["taskId"]: t for t in w.status()["tasks"]}
    assert records["job-0"]["lastStatus"] == "STOPPED"
    assert records["job-0"]["stopCode"] != "UserInitiated"
    assert records["job-1"]["lastStatus"] != "STOPPED"


def test_a_task_whose_pod_kubernetes_took_is_not_said_to_be_stopped_by_a_user() -> None:
    """A running task's pod is evicted (a drain) or its node deleted: nobody called StopTask,
    so the record does not say so. Before, it read UserInitiated, "Task stopped by user", and
    lost its containers, which scripts take for a deliberate cancellation."""

    async def run() -> World:
        api = FakeApi(DEFAULT_CLUSTER, task_definition(), job())
        w = World(api, context(api), task.reconcile, ECS_TASK, "job")
        await taskdefinition.reconcile(w.ctx, "shop", "web")
        await w.reconcile()
        w.change(PODS, "job-0", _running)
        await w.reconcile()
        del w.api.objects[(PODS, "shop", "job-0")]
        w.ctx.store.forget(POD, "shop", "job-0")  # the watch saw it go
        await w.reconcile()
        return w

    w = asyncio.run(run())
    record = {t["taskId"]: t for t in w.status()["tasks"]}["job-0"]
    assert record["lastStatus"] == "STOPPED"
    assert record["stopCode"] == "TerminationNotice", record
    assert "by user" not in record["stoppedReason"]
    assert [c["lastStatus"] for c in record["containers"]] == ["STOPPED"]
