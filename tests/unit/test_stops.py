"""Stopped service tasks on their way into their Service's status (handlers/stops.py): the
records waiting for the Service's reconcile, and each pod's last view before its deletion."""

from __future__ import annotations

from ecs_operator.handlers.queue import Key, Kind
from ecs_operator.handlers.stops import Deletion, Stops
from ecs_operator.status.service_tasks import KEPT

WEB = Key(Kind.SERVICE, "shop", "web")


def test_a_pods_views_around_its_deletion_are_kept_until_it_is_gone_and_bounded() -> None:
    stops = Stops(deleting=2)
    for uid in ("a", "b", "c"):
        stops.deleting(uid, Deletion({"metadata": {"uid": uid}}, {"metadata": {}}))

    assert stops.deletion("a") is None  # the oldest went, past the bound
    assert stops.deletion("b") == Deletion({"metadata": {"uid": "b"}}, {"metadata": {}})
    assert stops.deletion("b") is None  # taken once: the pod is gone


def test_a_services_newest_stops_wait_until_written() -> None:
    stops = Stops()
    records = [{"taskId": str(i)} for i in range(KEPT + 5)]
    for record in records:
        stops.add(WEB, record)

    pending = stops.pending(WEB)
    assert pending == records[-KEPT:]
    stops.written(WEB, pending[:3])
    assert stops.pending(WEB) == records[-KEPT + 3 :]
    stops.written(WEB, stops.pending(WEB))
    assert stops.pending(WEB) == []
