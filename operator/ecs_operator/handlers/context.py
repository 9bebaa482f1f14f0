"""What every reconcile works with, passed in rather than reached for: the store it decides
from, the writer it writes through, the event recorder it reports with, the queue it wakes
other objects on, the settings (``ecs-operator run`` flags) and the clock.

Created once by runner.py at startup and handed to the work queue, which passes it to each
reconciler, and to the watch handlers (through kopf's ``memo``). A test builds one with a fake
writer and a fixed clock (tests/unit/test_reconcile_*.py); nothing is a module global.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecs_operator.kube.store import Store
from ecs_operator.kube.writer import Writer
from ecs_operator.policy import Policy

from .queue import Key
from .relists import Relists
from .stops import Stops


@dataclass(frozen=True)
class Timers:
    """The operator's waits, in seconds. The defaults are the tuned values; the tests' operator
    shortens them (hidden ``ecs-operator run`` flags) so that tests need not wait them out."""

    #: a new object's references that may still appear go unreported this long
    #: (handlers/common.py, report_unresolved)
    reference_grace: float = 10.0
    #: an unused task-role ServiceAccount is kept this long after its creation
    #: (handlers/identities.py)
    account_grace: float = 30.0
    #: between a workload's or pod's deletion and the sweep of its namespace's accounts
    account_sweep_delay: float = 5.0
    #: the longest wait between retries of a reconcile (handlers/queue.py)
    max_backoff: float = 60.0
    #: between checks of whether a TaskDefinition held by the in-use finalizer is free
    deletion_hold_retry: float = 5.0
    #: a pod event waits this long before it reconciles its Service or Task: a starting pod's
    #: burst of events (and its siblings') becomes one reconcile (handlers/watch.py)
    pod_coalescing: float = 0.5
    #: between a change in a namespace and the refresh of its Clusters' counts
    cluster_refresh: float = 3.0
    #: a Service's status on its way to a steady state is written this long after it was
    #: decided, unless a later one replaces it (kube/writer.py): one write, not two
    status_settle: float = 10.0
    #: the same while the API server's status reads "in progress" already (a new Service's
    #: none, an older generation's, Reconciling=True): every tool reads it so (kube/writer.py)
    status_settle_in_progress: float = 30.0
    #: a task's container the kubelet keeps failing to start (its image cannot be pulled) is
    #: given this long from the pod's start, the kubelet's retries, before the task stops as
    #: failed to start (status/start_failures.py), as ECS's agent retries a pull and gives up
    start_failure_grace: float = 60.0
    #: after startup, what the operator's own LIST put in the store and no watch event has
    #: confirmed since is looked up (handlers/prewarm.py): kopf's watches list every live
    #: object within moments of starting
    prewarm_confirm: float = 30.0


@dataclass(frozen=True)
class Settings:
    """Choices about the target cluster and the operator's pace (``ecs-operator run`` flags)."""

    pod_level_resources: bool = True
    task_retention_seconds: float = 3600.0
    account_id: str | None = None
    #: where tasks reach the ECS task metadata endpoint (None: no endpoint variables)
    task_metadata_url: str | None = None
    #: the admin's cluster-wide tenancy policy (namespaces' annotations extend it)
    policy: Policy = field(default_factory=Policy)
    timers: Timers = field(default_factory=Timers)


class Recorder(Protocol):
    """Posts Kubernetes Events (kube/events.py, EventRecorder)."""

    def record(
        self, obj: dict[str, Any], reason: str, message: str, warning: bool = False
    ) -> bool: ...


class Queue(Protocol):
    """Where reconcilers wake other objects (handlers/queue.py, WorkQueue)."""

    def add(self, key: Key, after: float = 0.0) -> None: ...

    def open(self) -> None: ...


@dataclass(frozen=True)
class Context:
    store: Store
    writer: Writer
    events: Recorder
    queue: Queue
    settings: Settings = field(default_factory=Settings)
    #: seconds since the epoch (time.time); a test's clock stands still
    clock: Callable[[], float] = time.time
    #: service pods seen to go, not yet in their Service's status
    stops: Stops = field(default_factory=Stops)
    #: the watches listing again after a gap (handlers/relists.py)
    relists: Relists = field(default_factory=Relists)

    @property
    def timers(self) -> Timers:
        return self.settings.timers
