"""The ScheduledTask reconciler against a fake API server and a clock the test moves: a firing
creates one Task, never two (same pass, next pass, after a restart), an outage is caught up
once, DISABLED stops the firings, and the history keeps the newest stopped Tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ecs_operator.handlers import scheduledtask, task, taskdefinition
from ecs_operator.handlers.queue import Result
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.resources import SCHEDULED_TASK, resource_of
from ecs_operator.render import keys

from .fakes import NOW, Clock, FakeApi, World, context, stamp
from .test_reconcile_service import DEFAULT_CLUSTER, ecs, task_definition

Json = dict[str, Any]
TASKS, SCHEDULES = "tasks", "scheduledtasks"
MINUTE = 60.0


def schedule(expression: str = "rate(1 minute)", **spec: Any) -> Json:
    return ecs(
        "ScheduledTask",
        "etl",
        {
            "scheduleExpression": expression,
            "flexibleTimeWindow": {"mode": "OFF"},
            "target": {"ecsParameters": {"taskDefinitionArn": "web", "launchType": "EC2"}},
            **spec,
        },
    )


def run(name: str, minute: int, last_status: str) -> Json:
    """A Task of the schedule, fired ``minute`` minutes after NOW."""
    return {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "Task",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "annotations": {keys.ANNOTATION_FIRING_TIME: stamp(NOW + minute * MINUTE)},
            "ownerReferences": [
                {
                    "apiVersion": "ecs-operator.dev/v1alpha1",
                    "kind": "ScheduledTask",
                    "name": "etl",
                    "uid": "uid-etl",
                    "controller": True,
                }
            ],
        },
        "spec": {"taskDefinition": "web"},
        "status": {"lastStatus": last_status, "tasks": [{"taskId": f"{name}-0"}]},
    }


def started(w: World) -> None:
    """The Task reconciler has started each firing's task (it does so within moments)."""
    for (plural, _, name), body in list(w.api.objects.items()):
        if plural == TASKS and not (body.get("status") or {}).get("tasks"):
            running = run(name, 0, "RUNNING")["status"]
            w.change(TASKS, name, lambda t, status=running: t.update(status=status))


def created(body: Json, seconds: float) -> Json:
    body["metadata"]["creationTimestamp"] = stamp(seconds)
    return body


def at(seconds: float) -> Callable[[World], None]:
    def move(w: World) -> None:
        w.ctx.clock.now = NOW + seconds  # type: ignore[attr-defined]

    return move


def state(value: str, seconds: float) -> Callable[[World], None]:
    def edit(w: World) -> None:
        at(seconds)(w)
        w.change(SCHEDULES, "etl", lambda body: body["spec"].update(state=value))

    return edit


@dataclass(frozen=True)
class Case:
    name: str
    objects: tuple[Json, ...] = (schedule(),)
    #: what happens before each pass after the first (the clock moves, someone edits)
    then: tuple[Callable[[World], None], ...] = ()
    result: Result = Result.OK
    #: the last pass's writes
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    #: the schedule's Tasks at the end
    tasks: tuple[str, ...] = ()
    last_firing: str | None = None
    next_firing: str | None = None
    ready: str = "Scheduled"


CASES = [
    Case(
        "a rate schedule fires at once: one Task named by the minute",
        writes=[("create", TASKS, "etl-202601010000"), ("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010000",),
        last_firing="2026-01-01T00:00:00Z",
        next_firing="2026-01-01T00:01:00Z",
    ),
    Case(
        "a second pass in the same minute fires nothing and writes nothing",
        then=(at(30),),
        tasks=("etl-202601010000",),
        last_firing="2026-01-01T00:00:00Z",
        next_firing="2026-01-01T00:01:00Z",
    ),
    Case(
        "a minute later, the next firing",
        then=(at(MINUTE + 1),),
        writes=[("create", TASKS, "etl-202601010001"), ("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010000", "etl-202601010001"),
        last_firing="2026-01-01T00:01:00Z",
        next_firing="2026-01-01T00:02:00Z",
    ),
    Case(
        "after an hour's outage it fires once, the latest firing",
        then=(at(60 * MINUTE + 10),),
        writes=[("create", TASKS, "etl-202601010100"), ("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010000", "etl-202601010100"),
        last_firing="2026-01-01T01:00:00Z",
        next_firing="2026-01-01T01:01:00Z",
    ),
    Case(
        "a restart that lost the status write finds the firing's Task: no second one",
        objects=(schedule(), run("etl-202601010000", 0, "RUNNING")),
        writes=[("create", TASKS, "etl-202601010000"), ("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010000",),
        last_firing="2026-01-01T00:00:00Z",
        next_firing="2026-01-01T00:01:00Z",
    ),
    Case(
        "DISABLED fires nothing and says so",
        then=(state("DISABLED", 30), at(5 * MINUTE)),
        tasks=("etl-202601010000",),
        last_firing="2026-01-01T00:00:00Z",
        ready="Disabled",
    ),
    Case(
        "enabled again, the firings missed while disabled are not owed",
        then=(state("DISABLED", 30), state("ENABLED", 10 * MINUTE + 30)),
        writes=[("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010000",),
        last_firing="2026-01-01T00:00:00Z",
        next_firing="2026-01-01T00:11:00Z",
    ),
    Case(
        "... and the next one after that fires",
        then=(state("DISABLED", 30), state("ENABLED", 10 * MINUTE + 30), at(11 * MINUTE)),
        writes=[("create", TASKS, "etl-202601010011"), ("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010000", "etl-202601010011"),
        last_firing="2026-01-01T00:11:00Z",
        next_firing="2026-01-01T00:12:00Z",
    ),
    Case(
        "history: stopped Tasks past the limit go, oldest first; a running one stays",
        objects=(
            schedule(taskHistoryLimit=1),
            run("old-1", -3, "STOPPED"),
            run("old-2", -2, "STOPPED"),
            run("old-3", -1, "STOPPED"),
            run("long-run", -4, "RUNNING"),
        ),
        writes=[
            ("create", TASKS, "etl-202601010000"),
            ("delete", TASKS, "old-1"),
            ("delete", TASKS, "old-2"),
            ("patch/status", SCHEDULES, "etl"),
        ],
        tasks=("etl-202601010000", "long-run", "old-3"),
        last_firing="2026-01-01T00:00:00Z",
        next_firing="2026-01-01T00:01:00Z",
    ),
    Case(
        "a daily cron created after its firing's time waits for the next day's",
        objects=(created(schedule("cron(0 23 * * ? *)"), NOW - 30 * MINUTE),),
        writes=[("patch/status", SCHEDULES, "etl")],
        next_firing="2026-01-01T23:00:00Z",
    ),
    Case(
        "a cron in a time zone fires at its wall time",
        objects=(schedule("cron(30 9 * * ? *)", scheduleExpressionTimezone="Asia/Tokyo"),),
        then=(at(30 * MINUTE),),
        writes=[("create", TASKS, "etl-202601010030"), ("patch/status", SCHEDULES, "etl")],
        tasks=("etl-202601010030",),
        last_firing="2026-01-01T00:30:00Z",
        next_firing="2026-01-02T00:30:00Z",
    ),
    Case(
        "past endDate nothing is left to fire",
        objects=(schedule(endDate="2025-12-31T00:00:00Z"),),
        writes=[("patch/status", SCHEDULES, "etl")],
        ready="Completed",
    ),
    Case(
        "a startDate ahead: nothing until then",
        objects=(schedule("rate(1 hour)", startDate="2026-01-01T06:00:00Z"),),
        writes=[("patch/status", SCHEDULES, "etl")],
        next_firing="2026-01-01T06:00:00Z",
    ),
    Case(
        "a spec EventBridge refuses is reported and fires nothing",
        objects=(schedule("cron(0 8 * * MON *)"),),
        result=Result.INVALID,
        writes=[("patch/status", SCHEDULES, "etl")],
        ready="InvalidSpec",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scheduled_task_reconcile(case: Case) -> None:
    async def run_case() -> tuple[World, Result]:
        api = FakeApi(*case.objects)
        w = World(
            api, context(api, clock=Clock(NOW)), scheduledtask.reconcile, SCHEDULED_TASK, "etl"
        )
        result = await w.reconcile()
        for step in case.then:
            started(w)
            api.forget_requests()
            step(w)
            result = await w.reconcile()
        return w, result

    w, result = asyncio.run(run_case())
    assert result == case.result
    assert sorted(w.api.written) == sorted(case.writes)
    tasks = tuple(sorted(name for plural, _, name in w.api.objects if plural == TASKS))
    assert tasks == case.tasks
    status = w.status()
    assert status.get("lastFiringTime") == case.last_firing
    assert status.get("nextFiringTime") == case.next_firing
    assert w.condition("Ready")["reason"] == case.ready


def test_a_firing_task_is_the_target_run_by_the_schedule() -> None:
    """The Task: RunTask from ecsParameters and input, startedBy as EventBridge Scheduler
    sets it, owned by the schedule."""
    spec = {
        "target": {
            "arn": "batch",
            "ecsParameters": {"taskDefinitionArn": "web:3", "taskCount": 2, "group": "etl"},
            "input": '{"containerOverrides": [{"name": "app", "command": ["run"]}]}',
        }
    }
    api = FakeApi(schedule(**spec))
    w = World(api, context(api), scheduledtask.reconcile, SCHEDULED_TASK, "etl")
    asyncio.run(w.reconcile())
    task = api.objects[(TASKS, "shop", "etl-202601010000")]
    assert task["spec"] == {
        "taskDefinition": "web:3",
        "count": 2,
        "group": "etl",
        "cluster": "batch",
        "startedBy": "chronos-schedule/etl",
        "overrides": {"containerOverrides": [{"name": "app", "command": ["run"]}]},
    }
    (owner,) = task["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("ScheduledTask", "etl", True)
    assert task["metadata"]["labels"][keys.LABEL_SCHEDULED_TASK] == "etl"
    assert [reason for reason, _ in api.posted] == ["Fired"]


def test_a_firing_whose_task_never_started_is_given_up_at_the_next_one() -> None:
    """Five firings while the schedule's task definition family is missing (deleted, not yet
    registered): each firing's Task waited for it, and when the family came, all five started
    at once, each late; a schedule whose task can never start (an override naming no
    container) kept every firing's Task, whatever its history limit. EventBridge Scheduler's
    RunTask fails each such firing, and none runs later: a firing's Task that has started
    nothing by the next firing is now given up (StopTask), and its history trimmed."""
    api = FakeApi(DEFAULT_CLUSTER, schedule(taskHistoryLimit=2))

    async def scenario() -> None:
        ctx = context(api, clock=Clock(NOW))
        for minute in range(5):
            ctx.clock.now = NOW + minute * MINUTE + 1  # type: ignore[attr-defined]
            await scheduledtask.reconcile(ctx, "shop", "etl")
            for plural, _, name in list(api.objects):
                if plural == TASKS:
                    await task.reconcile(ctx, "shop", name)
        ctx.clock.now = NOW + 270  # type: ignore[attr-defined]
        td = api.add(task_definition())
        ctx.store.put(resource_of(td), td)
        await taskdefinition.reconcile(ctx, "shop", "web")
        for plural, _, name in list(api.objects):
            if plural == TASKS:
                await task.reconcile(ctx, "shop", name)

    asyncio.run(scenario())
    pods = [name for plural, _, name in api.objects if plural == "pods"]
    assert len(pods) == 1, pods  # the newest firing's, late once, as after an outage
    tasks = [name for plural, _, name in api.objects if plural == TASKS]
    # the history limit, the one given up at the last firing (trimmed at the next), the newest
    assert len(tasks) == 2 + 1 + 1, tasks


class TaskQuotaApi(FakeApi):
    """An API server whose namespace quota allows no more Task objects."""

    async def create(self, resource: Any, body: Json) -> Json:
        if resource.plural == TASKS:
            raise ApiError(403, QUOTA, "Forbidden")
        return await super().create(resource, body)


QUOTA = (
    'tasks.ecs-operator.dev "etl-202601010000" is forbidden: exceeded quota: tasks, requested: '
    "count/tasks.ecs-operator.dev=1, used: count/tasks.ecs-operator.dev=5, limited: "
    "count/tasks.ecs-operator.dev=5"
)


def test_a_firing_the_api_server_refuses_says_why() -> None:
    """A quota of Task objects (or the admin's RBAC) refusing a firing's Task: the schedule
    reads Degraded WriteRefused with the API server's words and a Warning Event, and tries
    again at the backoff's pace. It used to log a traceback each try and leave its status
    empty: nothing told its owner why nothing fired."""
    api = TaskQuotaApi(schedule())
    w = World(api, context(api, clock=Clock(NOW)), scheduledtask.reconcile, SCHEDULED_TASK, "etl")

    result = asyncio.run(w.reconcile())

    assert result == Result.REFUSED
    degraded = w.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "WriteRefused")
    assert "exceeded quota" in degraded["message"]
    assert "WriteRefused" in [reason for reason, _ in api.posted]
    assert "lastFiringTime" not in w.status(), "the firing is still owed"
