"""A coalescing work queue of reconciles, one at a time per object, with backoff.

Watch events only enqueue a key; a worker reconciles it from the store. Ten events for one
object while it is being reconciled cause one more reconcile, not ten; a reconcile that asks
to be retried (a missing reference, an API error) comes back after a growing delay (1 s,
2 s, ... 60 s) instead of a hot loop, and resolves by itself once the cause is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ecs_operator.metrics import RECONCILE_SECONDS, RECONCILES

log = logging.getLogger("ecs_operator.queue")

Key = tuple[str, str, str]  # (kind, namespace, name)
Reconcile = Callable[[str, str], Awaitable["Outcome"]]

MAX_BACKOFF = 60.0


@dataclass(frozen=True)
class Outcome:
    """What a reconcile achieved; ``retry`` asks for another pass later."""

    name: str = "ok"
    retry: bool = False
    after: float | None = None


OK = Outcome()


class WorkQueue:
    def __init__(self, reconcilers: dict[str, Reconcile]) -> None:
        self._reconcilers = reconcilers
        self._pending: set[Key] = set()
        self._running: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._failures: dict[Key, int] = {}
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []

    def start(self, workers: int = 8) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(workers)]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for timer in self._timers.values():
            timer.cancel()

    def add(self, kind: str, namespace: str, name: str, after: float = 0.0) -> None:
        key = (kind, namespace, name)
        if after > 0:
            if key in self._timers:
                return
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(after, self._fire, key)
            return
        if key in self._pending:
            return
        self._pending.add(key)
        if key not in self._running:
            self._queue.put_nowait(key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(*key)

    async def idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or running (used by tests and the demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._pending and not self._running:
                return True
            await asyncio.sleep(0.05)
        return False

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            self._running.add(key)
            try:
                await self._run(key)
            finally:
                self._running.discard(key)
                if key in self._pending:
                    self._queue.put_nowait(key)

    async def _run(self, key: Key) -> None:
        kind, namespace, name = key
        started = time.monotonic()
        try:
            outcome = await self._reconcilers[kind](namespace, name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconcile of %s %s/%s failed; will retry", kind, namespace, name)
            outcome = Outcome("error", retry=True)
        RECONCILE_SECONDS.labels(kind=kind).observe(time.monotonic() - started)
        RECONCILES.labels(kind=kind, outcome=outcome.name).inc()
        if outcome.retry:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay = (
                outcome.after
                if outcome.after is not None
                else min(2.0 ** (failures - 1), MAX_BACKOFF)
            )
            self.add(kind, namespace, name, after=delay)
        else:
            self._failures.pop(key, None)
