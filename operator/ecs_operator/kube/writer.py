"""Writes that keep the store current: every create, apply, patch and delete puts what the API
server answered into the store (or takes out what it removed).

Why: reconcilers decide from the store only, and the next pass must see their own writes
without waiting for the watch to echo them. Pairing each API call with a ``store.put`` or
``store.forget`` by hand was done in ten places, and a forgotten one made the next pass redo
the write. The ownership rules (create what is new, apply only our own, delete with
preconditions) stay in :mod:`kube.apply`; the writer only adds the store.

**Status writes settle.** A status on its way somewhere (a rollout in progress) is written
after a settle window rather than at once, and a status written for the object meanwhile
replaces it: a Service that reaches its steady state within the window costs one status write
instead of two. The store holds the new status at once, so the next reconcile reports on top
of it; a status that is not settling (a steady state, a problem) goes out at once, with
whatever was waiting.

**A status that already reads "in progress" settles longer.** While the status on the server
already reads as in progress to every tool (kstatus: InProgress, Argo CD: Progressing,
``kubectl wait``: not yet), because it is for an older generation than the spec's (a new
object has none: the CRD defaults ``observedGeneration`` to 0) or carries kstatus's
``Reconciling=True``, a status on its way that would say so again may wait
``settle_in_progress`` instead of ``settle``: a new Service that reaches its steady state
within that window costs one status write, and a rollout shows its progress every
``settle_in_progress`` rather than every ``settle``. The short window stays for what changes
the reading (a steady Service starting a rollout); either is a bound on how late progress
shows.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from . import apply
from .client import KubeClient, Resource
from .resources import resource_of
from .store import Store

log = logging.getLogger("ecs_operator.writer")

#: (resource plural, namespace, name)
StatusKey = tuple[str, str, str]


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with the JSON merge patch ``patch`` (RFC 7386) applied."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def then(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One merge patch doing what ``first`` then ``second`` do (exactly, but for a member that
    ``first`` removes and ``second`` sets to an object: that object is then merged, not set)."""
    result = dict(first)
    for key, value in second.items():
        before = first.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            result[key] = then(before, value)
        else:
            result[key] = value
    return result


@dataclass
class _Settling:
    """A status write waiting out its settle window."""

    resource: Resource
    namespace: str | None
    name: str
    patch: dict[str, Any]
    #: the stored object before the first of the writes waiting (restored if the write fails)
    before: dict[str, Any]
    timer: asyncio.TimerHandle


class Writer:
    def __init__(
        self,
        client: KubeClient,
        store: Store,
        settle: float = 0.0,
        settle_in_progress: float | None = None,
    ) -> None:
        self.client = client
        self.store = store
        #: seconds a settling status write waits (0: none waits)
        self.settle = settle
        #: seconds it waits while the server's status reads "in progress" already (default:
        #: ``settle``; see the module doc)
        self.settle_in_progress = settle if settle_in_progress is None else settle_in_progress
        self._settling: dict[StatusKey, _Settling] = {}
        #: settled status writes on their way to the API server, by object
        self._flushing: dict[StatusKey, asyncio.Task[None]] = {}

    def _keep(self, body: dict[str, Any]) -> dict[str, Any]:
        self.store.put(resource_of(body), body)
        return body

    async def merge_patch(
        self,
        resource: Resource,
        body: dict[str, Any],
        patch: dict[str, Any],
        subresource: str = "",
    ) -> dict[str, Any]:
        """Merge-patch the stored object ``body`` (its ``subresource``, e.g. ``status``)."""
        metadata = body["metadata"]
        patched = await self.client.merge_patch(
            resource, metadata.get("namespace"), metadata["name"], patch, subresource
        )
        self.store.put(resource, patched)
        return patched

    async def write_status(
        self,
        resource: Resource,
        body: dict[str, Any],
        status: dict[str, Any],
        *,
        settling: bool = False,
    ) -> dict[str, Any]:
        """Merge-patch the stored object ``body``'s status (a member set to None is removed);
        ``settling``: the status is on its way somewhere, so the write may wait out the settle
        window (see the module doc). Returns the object as the store now holds it."""
        metadata = body["metadata"]
        key = (resource.plural, metadata.get("namespace") or "", metadata["name"])
        waiting = self._settling.get(key)
        patch = then(waiting.patch, {"status": status}) if waiting else {"status": status}
        window = self.settle_in_progress if reads_in_progress(body) else self.settle
        if settling and (waiting is not None or window > 0):
            local = {**body, "status": merge_patch(body.get("status") or {}, status)}
            if waiting is not None:
                waiting.patch = patch
            else:
                loop = asyncio.get_running_loop()
                timer = loop.call_later(window, self._due, key)
                self._settling[key] = _Settling(
                    resource, metadata.get("namespace"), metadata["name"], patch, body, timer
                )
            self.store.put(resource, local)
            return local
        if waiting is not None:
            waiting.timer.cancel()
            del self._settling[key]
        flushing = self._flushing.get(key)
        if flushing is not None:
            # a settled status of this object is on its way: this newer one goes after it, or
            # the older could land last and stay (our own status writes wake no reconcile)
            await asyncio.wait({flushing})
        return await self.merge_patch(resource, body, patch, "status")

    def _due(self, key: StatusKey) -> None:
        task = asyncio.get_running_loop().create_task(self._write_settled(key))
        self._flushing[key] = task
        task.add_done_callback(lambda _: self._flushed(key, task))

    def _flushed(self, key: StatusKey, task: asyncio.Task[None]) -> None:
        if self._flushing.get(key) is task:
            del self._flushing[key]

    async def _write_settled(self, key: StatusKey) -> None:
        waiting = self._settling.pop(key, None)
        if waiting is None:
            return
        try:
            patched = await self.client.merge_patch(
                waiting.resource, waiting.namespace, waiting.name, waiting.patch, "status"
            )
        except Exception:  # the object went, or the API server failed
            log.warning("status of %s %s/%s not written", *key, exc_info=True)
            # the store forgets the status it was told of (unless the watch brought the object
            # since, or its deletion), so the next pass writes it again
            held = self.store.get(waiting.resource, waiting.namespace or "", waiting.name)
            version = waiting.before["metadata"].get("resourceVersion")
            if held is not None and held["metadata"].get("resourceVersion") == version:
                self.store.put(waiting.resource, waiting.before)
            return
        self.store.put(waiting.resource, patched)

    async def flush(self) -> None:
        """Write every settling status now (at shutdown)."""
        for key, waiting in list(self._settling.items()):
            waiting.timer.cancel()
            await self._write_settled(key)
        await asyncio.gather(*self._flushing.values(), return_exceptions=True)

    async def ensure(
        self, desired: dict[str, Any], live: dict[str, Any] | None, ours: apply.Ours
    ) -> dict[str, Any]:
        """:func:`kube.apply.ensure`: the object as the API server has it after the write (or
        ``live`` when nothing needed writing)."""
        result = await apply.ensure(self.client, desired, live, ours)
        return result if result is live else self._keep(result)

    async def claim_name(self, body: dict[str, Any], ours: apply.Ours) -> dict[str, Any]:
        """:func:`kube.apply.claim_name`: the object created, or ours that had the name."""
        return self._keep(await apply.claim_name(self.client, body, ours))

    async def delete_ours(
        self, resource: Resource, body: dict[str, Any], *, unchanged: bool = False
    ) -> bool:
        """:func:`kube.apply.delete_ours`; a deleted object leaves the store, unless the API
        server answered that it is still there, terminating (a pod's grace period, a
        finalizer): then the store holds it as such."""
        answer = await apply.delete_ours(self.client, resource, body, unchanged=unchanged)
        if answer is None:
            return False
        metadata = body["metadata"]
        if _terminating(answer, metadata["uid"]):
            self.store.put(resource, answer)
        else:
            self.store.forget(
                resource, metadata.get("namespace") or "", metadata["name"], metadata["uid"]
            )
        return True


def reads_in_progress(body: dict[str, Any]) -> bool:
    """Whether the object's status (as the API server holds it, when nothing of ours waits)
    reads "in progress" to kstatus, and so to every tool: for an older generation than the
    spec's (or missing), or with kstatus's own ``Reconciling`` condition True."""
    status = body.get("status") or {}
    generation = body["metadata"].get("generation")
    if generation is not None and int(status.get("observedGeneration") or 0) < int(generation):
        return True
    return any(
        c.get("type") == "Reconciling" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _terminating(answer: dict[str, Any], uid: str) -> bool:
    """Whether a DELETE's answer is the object still there with a deletion under way (the API
    server answers a Status, or the object as it was, when it is gone)."""
    metadata = answer.get("metadata") or {}
    return (
        answer.get("kind") != "Status"
        and metadata.get("uid") == uid
        and bool(metadata.get("deletionTimestamp"))
        and bool(metadata.get("finalizers") or metadata.get("deletionGracePeriodSeconds"))
    )
