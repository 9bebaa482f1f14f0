"""kube/writer.py: the store holds what the API server answered, and status writes settle."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from ecs_operator.kube.resources import ECS_SERVICE, POD
from ecs_operator.kube.store import Store
from ecs_operator.kube.writer import Writer, merge_patch, then

from .fakes import FakeApi

SERVICE = {
    "apiVersion": "ecs-operator.dev/v1alpha1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {},
    "status": {"findings": [{"path": "x"}], "runningCount": 0},
}


def _world(settle: float) -> tuple[FakeApi, Store, Writer, dict[str, Any]]:
    api = FakeApi(SERVICE)
    store = Store()
    body = api.objects["services", "shop", "web"]
    store.put(ECS_SERVICE, body)
    return api, store, Writer(cast(Any, api), store, settle=settle), body


def test_a_settling_status_waits_and_a_later_one_replaces_it() -> None:
    async def run() -> tuple[FakeApi, Store]:
        api, store, writer, body = _world(settle=0.2)
        first = await writer.write_status(
            ECS_SERVICE, body, {"runningCount": 1, "findings": None}, settling=True
        )
        assert api.written == []  # not yet...
        assert first["status"] == {"runningCount": 1}  # ...but the store holds it already
        await writer.write_status(ECS_SERVICE, first, {"runningCount": 2}, settling=True)
        await asyncio.sleep(0.4)
        return api, store

    api, store = asyncio.run(run())
    assert api.written == [("patch/status", "services", "web")]  # one write for both
    live = api.objects["services", "shop", "web"]
    assert live["status"] == {"runningCount": 2}  # the removal of findings went out too
    stored = store.get(ECS_SERVICE, "shop", "web")
    assert (
        stored is not None
        and stored["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    )


def test_a_status_that_does_not_settle_goes_at_once_with_what_waited() -> None:
    async def run() -> FakeApi:
        api, _, writer, body = _world(settle=30.0)
        first = await writer.write_status(
            ECS_SERVICE, body, {"runningCount": 1, "findings": None}, settling=True
        )
        await writer.write_status(ECS_SERVICE, first, {"runningCount": 2, "steady": True})
        return api

    api = asyncio.run(run())
    assert api.written == [("patch/status", "services", "web")]
    assert api.objects["services", "shop", "web"]["status"] == {"runningCount": 2, "steady": True}


def test_flush_writes_what_waits() -> None:
    async def run() -> FakeApi:
        api, _, writer, body = _world(settle=30.0)
        await writer.write_status(ECS_SERVICE, body, {"runningCount": 1}, settling=True)
        await writer.flush()
        return api

    api = asyncio.run(run())
    assert api.objects["services", "shop", "web"]["status"]["runningCount"] == 1


def test_merge_patches_compose() -> None:
    target = {"a": {"x": 1, "y": 2}, "b": 1, "c": [1]}
    first, second = {"a": {"x": None}, "b": None}, {"a": {"z": 3}, "c": [2]}
    assert merge_patch(target, then(first, second)) == merge_patch(
        merge_patch(target, first), second
    )


def test_a_pod_still_terminating_stays_in_the_store_as_the_server_answered() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}}

    class Graceful(FakeApi):
        async def delete(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
            gone = await super().delete(*args, **kwargs)
            assert gone is not None
            gone["metadata"] |= {"deletionTimestamp": "t", "deletionGracePeriodSeconds": 30}
            return gone

    for api, kept in ((FakeApi(pod), False), (Graceful(pod), True)):
        store = Store()
        live = api.objects["pods", "shop", "p"]
        store.put(POD, live)
        assert asyncio.run(Writer(cast(Any, api), store).delete_ours(POD, live))
        assert (store.get(POD, "shop", "p") is not None) == kept


def test_a_settled_status_of_an_object_gone_meanwhile_leaves_no_ghost() -> None:
    async def run() -> Store:
        api, store, writer, body = _world(settle=0.1)
        await writer.write_status(ECS_SERVICE, body, {"runningCount": 1}, settling=True)
        del api.objects["services", "shop", "web"]  # deleted, and the watch said so
        store.forget(ECS_SERVICE, "shop", "web")
        await asyncio.sleep(0.3)
        return store

    assert asyncio.run(run()).get(ECS_SERVICE, "shop", "web") is None


def test_a_status_decided_after_the_object_went_leaves_no_ghost() -> None:
    """A reconcile that read the object before the watch reported its deletion writes its
    status after it: neither that status nor its failed write puts the object back in the
    store (a ghost is reconciled for good: no event ever removes it)."""

    async def run() -> Store:
        api, store, writer, body = _world(settle=0.1)
        del api.objects["services", "shop", "web"]
        store.forget(ECS_SERVICE, "shop", "web", body["metadata"]["uid"])  # the watch's DELETED
        await writer.write_status(ECS_SERVICE, body, {"runningCount": 1}, settling=True)
        await asyncio.sleep(0.3)
        return store

    assert asyncio.run(run()).get(ECS_SERVICE, "shop", "web") is None


def test_a_write_answered_after_the_deletion_does_not_bring_the_object_back() -> None:
    store = Store()
    before = {**SERVICE, "metadata": {**SERVICE["metadata"], "uid": "u1", "resourceVersion": "5"}}
    store.put(ECS_SERVICE, before)
    store.forget(ECS_SERVICE, "shop", "web")
    store.put(ECS_SERVICE, before)  # a patch's answer, sent before the deletion
    assert store.get(ECS_SERVICE, "shop", "web") is None
    again = {**SERVICE, "metadata": {**SERVICE["metadata"], "uid": "u2", "resourceVersion": "9"}}
    store.put(ECS_SERVICE, again)  # created anew under the same name
    assert store.get(ECS_SERVICE, "shop", "web") is not None


def test_a_settled_status_not_written_is_forgotten_so_the_next_pass_writes_it() -> None:
    async def run() -> Store:
        api, store, writer, body = _world(settle=0.1)
        await writer.write_status(ECS_SERVICE, body, {"runningCount": 1}, settling=True)
        api.objects.clear()  # the API server refuses (404) though the watch has not said so
        await asyncio.sleep(0.3)
        return store

    stored = asyncio.run(run()).get(ECS_SERVICE, "shop", "web")
    assert stored is not None and stored["status"]["runningCount"] == 0


def test_a_status_on_its_way_waits_longer_while_the_server_reads_in_progress_already() -> None:
    """While the server's status reads "in progress" to every tool (kstatus: for an older
    generation, a new Service's none included, or Reconciling=True), the next status on the
    way waits the longer window; one that would change the reading (a steady Service starting
    a rollout) only the short one."""

    async def run(status: dict[str, Any]) -> list[tuple[str, str, str]]:
        api = FakeApi(SERVICE)
        live = api.objects["services", "shop", "web"]
        live["metadata"]["generation"] = 2
        live["status"] = status
        store = Store()
        store.put(ECS_SERVICE, live)
        writer = Writer(cast(Any, api), store, settle=0.1, settle_in_progress=30.0)
        await writer.write_status(ECS_SERVICE, live, {"runningCount": 1}, settling=True)
        await asyncio.sleep(0.3)
        written = list(api.written)
        await writer.flush()
        return written

    def reconciling(state: str) -> dict[str, Any]:
        return {
            "observedGeneration": 2,
            "conditions": [{"type": "Reconciling", "status": state}],
        }

    for waits in ({}, {"observedGeneration": 1}, reconciling("True")):
        assert asyncio.run(run(waits)) == [], waits  # still waiting after the short window
    for goes in ({"observedGeneration": 2}, reconciling("False")):
        assert asyncio.run(run(goes)) == [("patch/status", "services", "web")], goes


def test_a_status_decided_while_a_settled_one_is_on_its_way_lands_after_it() -> None:
    """The settled write goes out in the background; a status decided meanwhile (the steady
    state) must not be overtaken by it, or the stale one stays: our own status writes wake no
    reconcile that would mend it."""

    class Slow(FakeApi):
        delays = [0.3]

        async def merge_patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if self.delays:
                await asyncio.sleep(self.delays.pop())
            return await super().merge_patch(*args, **kwargs)

    async def run() -> FakeApi:
        api = Slow(SERVICE)
        store = Store()
        body = api.objects["services", "shop", "web"]
        store.put(ECS_SERVICE, body)
        writer = Writer(cast(Any, api), store, settle=0.05)
        held = await writer.write_status(ECS_SERVICE, body, {"runningCount": 1}, settling=True)
        await asyncio.sleep(0.1)  # the settled write is in flight (slowly)
        await writer.write_status(ECS_SERVICE, held, {"runningCount": 2, "steady": True})
        await writer.flush()
        return api

    status = asyncio.run(run()).objects["services", "shop", "web"]["status"]
    assert (status["runningCount"], status.get("steady")) == (2, True)
