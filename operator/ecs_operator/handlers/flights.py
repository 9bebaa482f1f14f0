"""Single flight: concurrent requests for one key share one call.

Thirty-two workers reconciling the first Services of a namespace at once all find its default
Cluster, or its shared task-role ServiceAccount, missing from the store; without this, each
would send its own create (all but one refused, or all applied).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, call: Callable[[], Awaitable[V]]) -> V:
        """The result of ``call()``, or of the call for ``key`` already in flight."""
        flight = self._calls.get(key)
        if flight is None:
            flight = self._calls[key] = asyncio.ensure_future(call())
            flight.add_done_callback(lambda _: self._calls.pop(key, None))
        return await asyncio.shield(flight)
