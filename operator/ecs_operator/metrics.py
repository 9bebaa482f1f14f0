"""The operator's Prometheus metrics (documented in docs/metrics.md).

Kopf exposes none of its own, so every number an SRE needs is defined here, in one registry
served by ``ecs-operator run --metrics-port``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

RECONCILES = Counter(
    "ecs_operator_reconciles",
    "Reconciliations by kind and outcome (ok, invalid, waiting, error).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "ecs_operator_reconcile_duration_seconds",
    "Time spent in one reconciliation, by kind.",
    ["kind"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
API_WRITES = Counter(
    "ecs_operator_api_writes",
    "Write requests the operator sent to the API server, by verb and resource.",
    ["verb", "resource"],
    registry=REGISTRY,
)
MANAGED_OBJECTS = Gauge(
    "ecs_operator_managed_objects",
    "ECS objects the operator currently manages, by kind.",
    ["kind"],
    registry=REGISTRY,
)
TASKS = Gauge(
    "ecs_operator_tasks",
    "Tasks (standalone RunTask tasks) by ECS lastStatus.",
    ["last_status"],
    registry=REGISTRY,
)
FINDINGS = Counter(
    "ecs_operator_render_findings",
    "Renderer findings (fields mapped approximately or unsupported), by ECS field and kind.",
    ["field", "kind"],
    registry=REGISTRY,
)
