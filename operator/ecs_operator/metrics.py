"""The Prometheus metrics of ``ecs-operator run`` and ``ecs-operator api`` (documented in
docs/metrics.md).

Kopf exposes none of its own, so every number an SRE needs is defined here: the operator's in
one registry served by ``ecs-operator run --metrics-port``, the ECS API's in another served by
``ecs-operator api --metrics-port`` (each process serves only its own).
"""

from __future__ import annotations

import argparse

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry()
ECSAPI_REGISTRY = CollectorRegistry()

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

ECSAPI_REQUESTS = Counter(
    "ecs_operator_ecsapi_requests",
    "ECS API requests, by operation and answer (OK or the ECS error code).",
    ["operation", "code"],
    registry=ECSAPI_REGISTRY,
)
ECSAPI_REQUEST_SECONDS = Histogram(
    "ecs_operator_ecsapi_request_duration_seconds",
    "Time the ECS API took to answer one request, by operation.",
    ["operation"],
    registry=ECSAPI_REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def add_endpoint_arguments(parser: argparse.ArgumentParser, default_port: int) -> None:
    """``--metrics-port`` and ``--metrics-address``, which ``run`` and ``api`` both take."""
    parser.add_argument(
        "--metrics-port", type=int, default=default_port, help="Prometheus metrics port (0: off)"
    )
    parser.add_argument(
        "--metrics-address",
        default="0.0.0.0",
        help="address the metrics endpoint listens on (127.0.0.1: only a sidecar can scrape it)",
    )


def serve(args: argparse.Namespace, registry: CollectorRegistry) -> None:
    """Serve ``registry`` at ``/metrics`` as the arguments say (in a thread of its own)."""
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_address, registry=registry)
