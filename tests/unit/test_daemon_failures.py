"""Why a service's DaemonSet cannot create its pods: its FailedCreate Events, read only while
it is short of pods (handlers/daemon_failures.py; the kwok lane's test_cluster_admin.py shows
it with Pod Security admission refusing a privileged daemon)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ecs_operator.handlers import daemon_failures
from ecs_operator.kube.events import EVENT
from ecs_operator.status.workloads import WorkloadState

from .fakes import FakeApi, context

DAEMON_SET = {"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "shop", "uid": "u"}}
PSA = 'pods "agent-x" is forbidden: violates PodSecurity "baseline:latest": privileged'


class EventsApi(FakeApi):
    """An API server holding the DaemonSet controller's FailedCreate Events of ``agent``."""

    def __init__(self) -> None:
        super().__init__()
        self.selectors: list[str] = []

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
            {"lastTimestamp": "2026-12-05T10:05:00Z", "message": PSA},
        ]


def _state(replicas: int, desired: int = 3, current: bool = True) -> WorkloadState:
    return WorkloadState(desired, replicas, 0, 0, 0, current=current, failed=False)


def test_a_daemon_set_short_of_pods_fails_with_its_controllers_newest_refusal() -> None:
    api = EventsApi()
    ctx = context(api)

    state = asyncio.run(daemon_failures.with_create_failure(ctx, DAEMON_SET, _state(0)))

    assert state.failure == PSA
    assert api.selectors == ["involvedObject.uid=u,reason=FailedCreate"]


def test_a_daemon_set_with_its_pods_or_not_caught_up_reads_no_events() -> None:
    api = EventsApi()
    ctx = context(api)
    for state in (_state(3), _state(0, current=False)):
        assert asyncio.run(daemon_failures.with_create_failure(ctx, DAEMON_SET, state)) == state
    deployment = {**DAEMON_SET, "kind": "Deployment"}
    assert not daemon_failures.short(deployment, _state(0))
    assert api.selectors == []
