"""The operator's shared state: API client, object store and work queue.

Created once at startup (kopf's ``on.startup``) and reached through :func:`runtime`. Watch
handlers write to the store and enqueue; reconcilers read the store and write through the
client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecs_operator.kube.client import KubeClient
from ecs_operator.kube.events import EventRecorder
from ecs_operator.kube.store import Store
from ecs_operator.policy import Policy

from .indexes import INDEXES, PROJECTIONS
from .queue import WorkQueue


@dataclass
class Settings:
    """Choices about the target cluster (``ecs-operator run`` flags)."""

    pod_level_resources: bool = True
    task_retention_seconds: float = 3600.0
    account_id: str | None = None
    #: the admin's cluster-wide tenancy policy (namespaces' annotations extend it)
    policy: Policy = field(default_factory=Policy)


@dataclass
class Runtime:
    client: KubeClient
    queue: WorkQueue
    events: EventRecorder
    store: Store = field(default_factory=lambda: Store(INDEXES, PROJECTIONS))
    settings: Settings = field(default_factory=Settings)


_current: Runtime | None = None


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the operator runtime is not started")
    return _current


def install(value: Runtime | None) -> None:
    global _current
    _current = value
