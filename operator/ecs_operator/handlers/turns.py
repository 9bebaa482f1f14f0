"""The work queue's order: namespace by namespace in turn, first come first served within one.

The operator acts for every tenant that may write ECS objects, through one queue. Served first
come first served, a tenant's burst (hundreds of objects at once, each needing several passes,
or a flood of retries) would keep every other tenant's keys behind all of its own whenever
more keys wait than there are workers. Taken in turns, a namespace waits for at most one key
of each other namespace with work queued.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from typing import Generic, Protocol, TypeVar


class Namespaced(Protocol):
    @property
    def namespace(self) -> str: ...


K = TypeVar("K", bound=Namespaced)


class Turns(Generic[K]):
    """A queue that hands out keys namespace by namespace in turn (``put_nowait``, ``get``)."""

    def __init__(self) -> None:
        self._waiting: OrderedDict[str, deque[K]] = OrderedDict()
        self._count: asyncio.Queue[None] = asyncio.Queue()

    def put_nowait(self, key: K) -> None:
        self._waiting.setdefault(key.namespace, deque()).append(key)
        self._count.put_nowait(None)

    async def get(self) -> K:
        await self._count.get()
        namespace, keys = next(iter(self._waiting.items()))
        key = keys.popleft()
        if keys:
            self._waiting.move_to_end(namespace)  # its next key waits for the others' turns
        else:
            del self._waiting[namespace]
        return key
