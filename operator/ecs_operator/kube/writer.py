"""Writes that keep the store current: every create, apply, patch and delete puts what the API
server answered into the store (or takes out what it removed).

Why: reconcilers decide from the store only, and the next pass must see their own writes
without waiting for the watch to echo them. Pairing each API call with a ``store.put`` or
``store.forget`` by hand was done in ten places, and a forgotten one made the next pass redo
the write. The ownership rules (create what is new, apply only our own, delete with
preconditions) stay in :mod:`kube.apply`; the writer only adds the store.
"""

from __future__ import annotations

from typing import Any

from . import apply
from .client import KubeClient, Resource
from .resources import resource_of
from .store import Store


class Writer:
    def __init__(self, client: KubeClient, store: Store) -> None:
        self.client = client
        self.store = store

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
            self.store.forget(resource, metadata.get("namespace") or "", metadata["name"])
        return True


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
