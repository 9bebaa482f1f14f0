"""Stopped service tasks on their way into their Service's status.

A service pod's deletion is seen once, as a watch event (handlers/watch.py); the Service's
reconcile that follows finds the pod gone from the store. So the watch handler records the
stop here, and the reconcile takes it into the status it writes (``status.stoppedTasks``,
status/service_tasks.py) and then forgets it. What is held is bounded: the newest records of
each Service, for a bounded number of Services; a record not yet written when the operator
restarts is lost, as any report of a moment is.

Why a task stopped is read off its pod as it was before its deletion began: a kubelet that
stops the containers of a pod being deleted reports them all ended (a container it never
started as ``ContainerStatusUnknown``, exit 137) before the pod goes. So the pod's last view
before its deletion is kept here, from the event that shows the deletion begun until the one
that shows the pod gone, and that first view of the deletion, which says when it began.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, NamedTuple

from ecs_operator.status.service_tasks import KEPT

from .queue import Key

#: Services with stops not yet written, at most (the oldest go first)
SERVICES = 10_000
#: pods being deleted whose last view before it is kept, at most (the oldest go first)
DELETING = 10_000


class Deletion(NamedTuple):
    """A service pod's views around the start of its deletion."""

    #: as it was just before: why its task stopped
    live: dict[str, Any]
    #: as its deletion began: when (the kubelet's last delete, once the containers stopped,
    #: moves the deletion's time to its end, so the view before the pod went says "now")
    began: dict[str, Any]


class Stops:
    def __init__(self, services: int = SERVICES, deleting: int = DELETING) -> None:
        self._pending: OrderedDict[Key, list[dict[str, Any]]] = OrderedDict()
        self._services = services
        self._deletions: OrderedDict[str, Deletion] = OrderedDict()
        self._deleting = deleting

    def deleting(self, uid: str, deletion: Deletion) -> None:
        """A service pod's deletion has begun."""
        self._deletions[uid] = deletion
        self._deletions.move_to_end(uid)
        while len(self._deletions) > self._deleting:
            self._deletions.popitem(last=False)

    def deletion(self, uid: str) -> Deletion | None:
        """The pod ``uid`` around the start of its deletion, once (it is gone now)."""
        return self._deletions.pop(uid, None)

    def add(self, key: Key, record: dict[str, Any]) -> None:
        pending = self._pending.setdefault(key, [])
        self._pending.move_to_end(key)
        pending.append(record)
        del pending[:-KEPT]
        while len(self._pending) > self._services:
            self._pending.popitem(last=False)

    def pending(self, key: Key) -> list[dict[str, Any]]:
        """The stops of the Service ``key`` not yet in its status."""
        return list(self._pending.get(key, ()))

    def written(self, key: Key, records: list[dict[str, Any]]) -> None:
        """``records`` are in the Service's status now (or it is gone)."""
        left = [r for r in self._pending.get(key, ()) if r not in records]
        if left:
            self._pending[key] = left
        else:
            self._pending.pop(key, None)
