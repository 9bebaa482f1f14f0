"""Kubernetes Events about ECS objects, in ECS words ("(service web) has reached a steady
state.").

Posted through our client rather than kopf's event queue so reconcilers running in our own
worker tasks can post them. The same event is not posted twice in a row for an object: a
retried reconcile must not flood ``kubectl describe``. Posting happens in the background, a
few at a time: an Event is a report, and a reconcile that waited for each of its reports
(three per service on the way to steady state) took that much longer to do its real work.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from .client import ApiError, KubeClient, Resource

log = logging.getLogger("ecs_operator.events")

EVENT = Resource("", "v1", "events", "Event")
COMPONENT = "ecs-operator"
#: Events posted at once
CONCURRENCY = 4


class EventRecorder:
    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._last: dict[tuple[str, str], str] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._posting: set[asyncio.Task[None]] = set()

    def record(self, obj: dict[str, Any], reason: str, message: str, warning: bool = False) -> bool:
        """Post the event (in the background) unless it repeats the last one of this reason;
        True if it will be posted."""
        metadata = obj["metadata"]
        key = (metadata["uid"], reason)
        if self._last.get(key) == message:
            return False
        self._last[key] = message
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
