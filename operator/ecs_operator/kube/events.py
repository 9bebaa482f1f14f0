"""Kubernetes Events about ECS objects, in ECS words ("(service web) has reached a steady
state.").

Posted through our client rather than kopf's event queue so reconcilers running in our own
worker tasks can post them. The same event is not posted twice in a row for an object: a
retried reconcile must not flood ``kubectl describe``. Posting happens in the background, a
few at a time: an Event is a report, and a reconcile that waited for each of its reports
(three per service on the way to steady state) took that much longer to do its real work.

What was last posted is remembered for the newest :data:`REMEMBERED` (object, reason) pairs
only: objects come and go for as long as the operator runs (a scheduled task's Task every
minute, a pipeline's RunTask at every push), and each would otherwise stay remembered for
good. One forgotten posts its next event even if it repeats the last, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from .client import ApiError, KubeClient, Resource

log = logging.getLogger("ecs_operator.events")

EVENT = Resource("", "v1", "events", "Event")
COMPONENT = "ecs-operator"
#: Events posted at once
CONCURRENCY = 4
#: (object, reason) pairs whose last event is remembered: a few per ECS object of a large
#: cluster's working set (a pair costs about 200 bytes)
REMEMBERED = 20_000


class EventRecorder:
    def __init__(self, client: KubeClient, remembered: int = REMEMBERED) -> None:
        self._client = client
        #: (uid, reason) -> the hash of the last message posted, least recently posted first
        self._last: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._remembered = remembered
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._posting: set[asyncio.Task[None]] = set()

    def record(self, obj: dict[str, Any], reason: str, message: str, warning: bool = False) -> bool:
        """Post the event (in the background) unless it repeats the last one of this reason;
        True if it will be posted."""
        metadata = obj["metadata"]
        key, said = (metadata["uid"], reason), hash(message)
        repeated = self._last.get(key) == said
        self._last[key] = said
        self._last.move_to_end(key)
        if repeated:
            return False
        if len(self._last) > self._remembered:
            self._last.popitem(last=False)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": f"{metadata['name']}.",
                "namespace": metadata["namespace"],
            },
            "involvedObject": {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "name": metadata["name"],
                "namespace": metadata["namespace"],
                "uid": metadata["uid"],
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": COMPONENT,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        task = asyncio.get_running_loop().create_task(self._post(event))
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)
        return True

    def __len__(self) -> int:
        """How many (object, reason) pairs it remembers the last event of."""
        return len(self._last)

    async def _post(self, event: dict[str, Any]) -> None:
        async with self._slots:
            try:
                await self._client.create(EVENT, event)
            except ApiError as error:
                log.warning(
                    "could not post event %s on %s: %s",
                    event["reason"],
                    event["involvedObject"]["name"],
                    error,
                )

    async def drain(self) -> None:
        """Wait for the events being posted (at shutdown)."""
        await asyncio.gather(*self._posting, return_exceptions=True)

    def forget(self, uid: str) -> None:
        for key in [k for k in self._last if k[0] == uid]:
            del self._last[key]
