"""A coalescing work queue of reconciles, one at a time per object, with backoff.

Watch events only enqueue a key; a worker reconciles it from the store. Ten events for one
object while it is being reconciled cause one more reconcile, not ten; a reconcile that asks
to be retried (a missing reference, an API error) comes back after a growing delay (1 s,
2 s, ... up to the maximum backoff, 60 s by default) instead of a hot loop, and resolves by
itself once the cause is gone.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from ecs_operator.kube.client import ApiError
from ecs_operator.metrics import RECONCILE_SECONDS, RECONCILES

from .turns import Turns

if TYPE_CHECKING:
    from .context import Context

log = logging.getLogger("ecs_operator.queue")


class Kind(StrEnum):
    """What a queue key names: an ECS kind, the sweep of a namespace's task-role accounts, or
    the check of the store after startup."""

    TASK_DEFINITION = "TaskDefinition"
    SERVICE = "Service"
    TASK = "Task"
    CLUSTER = "Cluster"
    SCHEDULED_TASK = "ScheduledTask"
    ACCOUNTS = "ServiceAccounts"
    #: the check of what the startup LIST put in the store (handlers/prewarm.py)
    PREWARMED = "Prewarmed"


class Key(NamedTuple):
    kind: Kind
    namespace: str
    #: ``*``: every object of the kind in the namespace (Cluster counts, the account sweep)
    name: str


class Result(StrEnum):
    """How a reconcile ended (the ``outcome`` label of ``ecs_operator_reconciles_total``)."""

    OK = "ok"
    #: the spec breaks ECS rules (reported; the user's edit wakes it)
    INVALID = "invalid"
    #: a reference does not resolve yet, or something is in its grace period
    WAITING = "waiting"
    #: the namespace's tenancy policy refuses it, or the API server a write it needs
    REFUSED = "refused"
    #: a name it needs is held by an object the operator did not create
    CONFLICT = "conflict"
    #: the deployment circuit breaker rolled back: render the revision it chose
    ROLLBACK = "rollback"
    #: the reconcile raised
    ERROR = "error"


@dataclass(frozen=True)
class Outcome:
    """What a reconcile achieved; ``retry`` asks for another pass ``after`` seconds (capped at
    the maximum backoff; ``math.inf``: at the queue's slowest pace), by default after the
    backoff."""

    result: Result = Result.OK
    retry: bool = False
    after: float | None = None


OK = Outcome()
#: what a reconcile that met a name conflict returns: come back at the queue's slowest pace.
#: Nothing else wakes the ECS object when the other object goes (it is not ours, so usually
#: not watched); each retry costs one refused create and one read, no write when the report
#: is unchanged.
CONFLICT = Outcome(Result.CONFLICT, retry=True, after=math.inf)

Reconcile = Callable[["Context", str, str], Awaitable[Outcome]]


def gone_meanwhile(error: Exception) -> bool:
    """Whether a reconcile failed only because what it wrote went meanwhile: the object (or a
    child) deleted after the store last saw it (404), or its namespace terminating (403, the
    namespace lifecycle admission). Ordinary churn, not a bug: counted as ``waiting`` and
    logged without a traceback, still retried with the backoff."""
    if not isinstance(error, ApiError):
        return False
    return error.status == 404 or (error.status == 403 and "being terminated" in error.message)


class WorkQueue:
    """``opened=False``: nothing runs until :meth:`open` (the watches' first event). kopf's
    peering pauses an operator by not starting its watches: the new pod of a rolling update
    waits so while the old one runs, and its queue must wait with it, or its startup check
    and retries would reconcile, and write, from a store no watch keeps current."""

    def __init__(
        self,
        reconcilers: Mapping[Kind, Reconcile],
        max_backoff: float = 60.0,
        opened: bool = True,
    ) -> None:
        self._reconcilers = reconcilers
        self._opened = asyncio.Event()
        if opened:
            self._opened.set()
        self._max_backoff = max_backoff
        self._pending: set[Key] = set()
        self._running: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._failures: dict[Key, int] = {}
        self._queue: Turns[Key] = Turns()
        self._workers: list[asyncio.Task[None]] = []

    def start(self, context: Context, workers: int = 8) -> None:
        self._workers = [asyncio.create_task(self._work(context)) for _ in range(workers)]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for timer in self._timers.values():
            timer.cancel()

    def add(self, key: Key, after: float = 0.0) -> None:
        if after > 0:
            loop = asyncio.get_running_loop()
            timer = self._timers.get(key)
            if timer is not None:
                if timer.when() <= loop.time() + after:
                    return  # the earliest wake-up wins: it comes sooner already
                timer.cancel()  # a task stopping by its deadline waits longer than retention
            self._timers[key] = loop.call_later(after, self._fire, key)
            return
        if key in self._pending:
            return
        self._pending.add(key)
        if key not in self._running:
            self._queue.put_nowait(key)

    def open(self) -> None:
        """Let the workers run (the watches report: the operator is not paused)."""
        self._opened.set()

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or running (used by tests and the demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._pending and not self._running:
                return True
            await asyncio.sleep(0.05)
        return False

    async def _work(self, context: Context) -> None:
        await self._opened.wait()
        while True:
            # give the loop back between keys: a reconcile that waits on nothing, woken again
            # and again, would otherwise never let the watches or any other task run
            await asyncio.sleep(0)
            key = await self._queue.get()
            self._pending.discard(key)
            self._running.add(key)
            try:
                await self.process(context, key)
            finally:
                self._running.discard(key)
                if key in self._pending:
                    self._queue.put_nowait(key)

    async def process(self, context: Context, key: Key) -> Outcome:
        """Reconcile ``key`` once and schedule its retry, if it asks for one."""
        started = time.monotonic()
        try:
            outcome = await self._reconcilers[key.kind](context, key.namespace, key.name)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if gone_meanwhile(error):  # deleted under the reconcile: the next pass finds it gone
                log.info("reconcile of %s %s/%s: %s; will look again", *key, error)
                outcome = Outcome(Result.WAITING, retry=True)
            else:
                log.exception("reconcile of %s %s/%s failed; will retry", *key)
                outcome = Outcome(Result.ERROR, retry=True)
        RECONCILE_SECONDS.labels(kind=key.kind.value).observe(time.monotonic() - started)
        RECONCILES.labels(kind=key.kind.value, outcome=outcome.result.value).inc()
        if outcome.retry:
            self.add(key, after=self.delay(key, outcome))
        else:
            self._failures.pop(key, None)
        return outcome

    def delay(self, key: Key, outcome: Outcome) -> float:
        """Seconds before a retry: the outcome's own wait, else the backoff (doubling with
        each failure in a row, capped at the maximum)."""
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        wanted = 2.0 ** min(failures - 1, 30) if outcome.after is None else outcome.after
        return min(wanted, self._max_backoff)
