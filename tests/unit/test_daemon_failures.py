"""Why a service's DaemonSet cannot create its pods: its FailedCreate Events, read only while
it is short of pods (handlers/daemon_failures.py; the kwok lane's test_pod_security.py shows
it with Pod Security admission refusing a privileged daemon)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ecs_operator.handlers import daemon_failures
from ecs_operator.handlers.queue import Key, Kind
from ecs_operator.kube.events import EVENT
from ecs_operator.status.workloads import workload_state

from .fakes import FakeApi, FakeQueue, context

KEY = Key(Kind.SERVICE, "shop", "agent")


def daemon_set(scheduled: int, desired: int = 3, caught_up: bool = True) -> dict[str, Any]:
    """A service's DaemonSet, its pods on ``scheduled`` of the ``desired`` nodes."""
    return {
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "shop", "uid": "u", "generation": 2},
        "status": {
            "observedGeneration": 2 if caught_up else 1,
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": scheduled,
        },
    }


PSA = 'pods "agent-x" is forbidden: violates PodSecurity "baseline:latest": privileged'


class EventsApi(FakeApi):
    """An API server holding the DaemonSet controller's FailedCreate Events of ``agent``."""

    def __init__(self, newest: str = PSA) -> None:
        super().__init__()
        self.selectors: list[str] = []
        self.newest = newest

    async def list(
        self,
        resource: Any,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[list[dict[str, Any]]]:
        assert resource == EVENT
        self.selectors.append(field_selector)
        yield [
            {"lastTimestamp": "2026-12-05T10:00:00Z", "message": "an older refusal"},
            {"lastTimestamp": "2026-12-05T10:05:00Z", "message": self.newest},
        ]


def test_a_daemon_set_short_of_pods_fails_with_its_controllers_newest_refusal() -> None:
    api = EventsApi()
    ctx = context(api)

    [state] = asyncio.run(daemon_failures.workload_states(ctx, KEY, [daemon_set(0)]))

    assert state.failure == PSA
    assert api.selectors == ["involvedObject.uid=u,reason=FailedCreate"]


def test_an_events_words_reach_the_status_bounded() -> None:
    """Anyone who may create Events in the namespace can write one naming the DaemonSet: its
    text becomes the service's Degraded message, at most as long as an Event's note may be."""
    api = EventsApi(newest="x" * 100_000)
    [state] = asyncio.run(daemon_failures.workload_states(context(api), KEY, [daemon_set(0)]))
    assert state.failure is not None and len(state.failure) <= daemon_failures.MESSAGE_MAX


def test_a_daemon_set_with_its_pods_or_not_caught_up_reads_no_events() -> None:
    api = EventsApi()
    ctx = context(api)
    for workload in (daemon_set(3), daemon_set(0, caught_up=False)):
        [state] = asyncio.run(daemon_failures.workload_states(ctx, KEY, [workload]))
        assert state == workload_state(workload)
    deployment = {**daemon_set(0), "kind": "Deployment", "spec": {"replicas": 3}}
    asyncio.run(daemon_failures.workload_states(ctx, KEY, [deployment]))
    assert api.selectors == []


def test_a_daemon_set_short_of_pods_that_has_said_nothing_yet_is_looked_at_again() -> None:
    """Events go out after the DaemonSet's status: none yet is no reason, only a later look."""
    ctx = context(FakeApi())  # it refuses the field selector: no Event is read

    [state] = asyncio.run(daemon_failures.workload_states(ctx, KEY, [daemon_set(0)]))

    assert not state.failure
    queue = ctx.queue
    assert isinstance(queue, FakeQueue)
    assert queue.added == [(KEY, daemon_failures.RECHECK_SECONDS)]
