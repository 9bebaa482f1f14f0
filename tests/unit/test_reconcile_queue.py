"""The work queue: one reconcile at a time per key, events meanwhile coalesced into one more
pass, retries after a backoff that doubles up to the maximum and resets on success."""

from __future__ import annotations

import asyncio
import math
from typing import Any, cast

import pytest

from ecs_operator.handlers.context import Context
from ecs_operator.handlers.queue import OK, Key, Kind, Outcome, Result, WorkQueue
from ecs_operator.kube.client import ApiError

KEY = Key(Kind.SERVICE, "shop", "web")
CTX = cast(Context, None)  # the reconcilers here read nothing from it
RETRY = Outcome(Result.WAITING, retry=True)


class Recording(WorkQueue):
    """A queue that records its retries instead of arming timers."""

    def __init__(self, outcomes: list[Outcome | Exception], max_backoff: float = 60.0) -> None:
        async def reconcile(ctx: Context, namespace: str, name: str) -> Outcome:
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        super().__init__(dict.fromkeys(Kind, reconcile), max_backoff=max_backoff)
        self.retries: list[float] = []

    def add(self, key: Key, after: float = 0.0) -> None:
        self.retries.append(after)


@pytest.mark.parametrize(
    ("outcomes", "max_backoff", "retries"),
    [
        ([OK], 60.0, []),
        ([RETRY] * 4, 60.0, [1.0, 2.0, 4.0, 8.0]),
        ([RETRY] * 9, 60.0, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]),
        ([RETRY] * 4, 5.0, [1.0, 2.0, 4.0, 5.0]),  # the maximum is a setting
        ([RETRY, RETRY, OK, RETRY], 60.0, [1.0, 2.0, 1.0]),  # success resets the backoff
        ([RuntimeError("boom"), RuntimeError("boom")], 60.0, [1.0, 2.0]),  # errors back off too
        ([Outcome(Result.WAITING, retry=True, after=5.0)], 60.0, [5.0]),  # its own wait
        ([Outcome(Result.ROLLBACK, retry=True, after=0.0)], 60.0, [0.0]),  # at once
        ([Outcome(Result.CONFLICT, retry=True, after=math.inf)], 7.0, [7.0]),  # slowest pace
    ],
)
def test_retries_back_off(
    outcomes: list[Outcome | Exception], max_backoff: float, retries: list[float]
) -> None:
    queue = Recording(list(outcomes), max_backoff)
    for _ in range(len(outcomes)):
        asyncio.run(queue.process(CTX, KEY))
    assert queue.retries == retries


def test_an_error_is_an_outcome_of_its_own() -> None:
    queue = Recording([RuntimeError("boom")])
    assert asyncio.run(queue.process(CTX, KEY)).result == Result.ERROR


def test_events_during_a_reconcile_cause_one_more_pass_and_keys_run_one_at_a_time() -> None:
    runs: list[str] = []
    running: set[str] = set()
    overlapped: list[str] = []

    async def scenario() -> None:
        gate = asyncio.Event()

        async def reconcile(ctx: Any, namespace: str, name: str) -> Outcome:
            if name in running:
                overlapped.append(name)
            running.add(name)
            runs.append(name)
            if len(runs) == 1:
                await gate.wait()  # the first pass is slow: events arrive meanwhile
            running.discard(name)
            return OK

        queue = WorkQueue(dict.fromkeys(Kind, reconcile))
        queue.start(CTX, workers=4)
        queue.add(KEY)
        await asyncio.sleep(0.05)
        for _ in range(10):
            queue.add(KEY)
        queue.add(Key(Kind.SERVICE, "shop", "api"))
        await asyncio.sleep(0.05)
        gate.set()
        assert await queue.idle(5)
        await queue.stop()

    asyncio.run(scenario())
    assert sorted(runs) == ["api", "web", "web"]  # ten events, one more pass
    assert overlapped == []


def test_a_delayed_key_is_armed_once() -> None:
    runs: list[str] = []

    async def scenario() -> None:
        async def reconcile(ctx: Any, namespace: str, name: str) -> Outcome:
            runs.append(name)
            return OK

        queue = WorkQueue(dict.fromkeys(Kind, reconcile))
        queue.start(CTX, workers=2)
        for _ in range(5):  # a burst of pod events, each asking for a pass 0.1 s later
            queue.add(KEY, after=0.1)
        await asyncio.sleep(0.3)
        assert await queue.idle(5)
        await queue.stop()

    asyncio.run(scenario())
    assert runs == ["web"]


def test_a_sooner_wake_up_replaces_a_later_one() -> None:
    """A task stopping waits out its pod's grace period (a later wake-up); once the pod has
    stopped, its retention asks for a sooner one, which must not be lost behind the first."""
    runs: list[float] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def reconcile(ctx: Any, namespace: str, name: str) -> Outcome:
            runs.append(loop.time() - start)
            return OK

        queue = WorkQueue(dict.fromkeys(Kind, reconcile))
        queue.start(CTX, workers=1)
        queue.add(KEY, after=30)
        queue.add(KEY, after=0.1)  # sooner: replaces the 30 s one
        queue.add(KEY, after=20)  # later than the one armed: dropped
        await asyncio.sleep(0.4)
        assert await queue.idle(5)
        await queue.stop()

    asyncio.run(scenario())
    assert len(runs) == 1 and runs[0] < 5


def test_reconciles_that_never_wait_cannot_starve_the_operator() -> None:
    """Two keys that wake each other and finish without waiting on anything (two deleting
    TaskDefinitions of one family once did) kept a worker busy without ever giving the event
    loop back: the watches, the metrics and every other key starved, and the operator hung.
    A worker yields between keys."""
    passes = 0
    limit = 2_000
    others_ran_at: list[int] = []

    async def scenario() -> None:
        async def ping_pong(ctx: Any, namespace: str, name: str) -> Outcome:
            nonlocal passes
            passes += 1
            if passes < limit:
                queue.add(Key(Kind.TASK_DEFINITION, "shop", "b" if name == "a" else "a"))
            return OK

        async def another_task() -> None:
            others_ran_at.append(passes)

        queue = WorkQueue(dict.fromkeys(Kind, ping_pong))
        queue.start(CTX, workers=1)
        queue.add(Key(Kind.TASK_DEFINITION, "shop", "a"))
        await asyncio.sleep(0)  # the worker takes the key
        await asyncio.gather(another_task())
        assert await queue.idle(5)
        await queue.stop()

    asyncio.run(scenario())
    assert others_ran_at and others_ran_at[0] < limit, others_ran_at


def test_a_queue_that_waits_for_the_watches_runs_nothing_until_they_report() -> None:
    """The operator's queue starts closed and opens at the watches' first event: an operator
    that kopf's peering keeps paused (the new pod of a rolling update, while the old one
    runs) writes nothing, where its startup check and retries used to reconcile, and write,
    from a store no watch kept current."""
    runs: list[str] = []

    async def reconcile(ctx: Any, namespace: str, name: str) -> Outcome:
        runs.append(name)
        return OK

    async def scenario() -> list[str]:
        queue = WorkQueue(dict.fromkeys(Kind, reconcile), opened=False)
        queue.start(CTX, workers=2)
        queue.add(KEY)
        await asyncio.sleep(0.1)
        before = list(runs)
        queue.open()
        assert await queue.idle(5)
        await queue.stop()
        return before

    assert asyncio.run(scenario()) == []
    assert runs == ["web"]


@pytest.mark.parametrize(
    ("error", "result"),
    [
        (ApiError(404, 'tasks.ecs-operator.dev "t-1" not found', "NotFound"), Result.WAITING),
        (
            ApiError(
                403,
                'clusters.ecs-operator.dev "default" is forbidden: unable to create new content '
                "in namespace a because it is being terminated",
                "Forbidden",
            ),
            Result.WAITING,
        ),
        (ApiError(403, "pods is forbidden: exceeded quota", "Forbidden"), Result.ERROR),
        (ApiError(500, "etcd timeout", "InternalError"), Result.ERROR),
    ],
)
def test_an_object_deleted_under_its_reconcile_is_no_error(
    error: Exception, result: Result
) -> None:
    """Deleting an object, or its namespace, while it reconciles is ordinary churn: it was
    an ERROR traceback and ``outcome="error"`` (188 of them for 150 create/delete cycles and
    one namespace deletion, bench/churn_phase.py), which the docs say to alert on."""
    queue = Recording([error])
    assert asyncio.run(queue.process(CTX, KEY)).result == result
    assert queue.retries == [1.0]  # still looked at again


def test_namespaces_take_turns() -> None:
    """One tenant's burst does not put another's work behind all of its own: namespace b's one
    Service is reconciled second, not after namespace a's five (first come first served within
    a namespace)."""
    runs: list[tuple[str, str]] = []

    async def reconcile(ctx: Any, namespace: str, name: str) -> Outcome:
        runs.append((namespace, name))
        return OK

    async def scenario() -> None:
        queue = WorkQueue(dict.fromkeys(Kind, reconcile), opened=False)
        queue.start(CTX, workers=1)
        for i in range(5):
            queue.add(Key(Kind.SERVICE, "a", f"web-{i}"))
        queue.add(Key(Kind.SERVICE, "b", "web"))
        queue.open()
        assert await queue.idle(5)
        await queue.stop()

    asyncio.run(scenario())
    assert runs == [("a", "web-0"), ("b", "web"), *(("a", f"web-{i}") for i in range(1, 5))]
