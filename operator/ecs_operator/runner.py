"""`ecs-operator run`: the operator process (kopf underneath).

kopf brings watching, peering (an active/standby pair via ``--peering``), the liveness endpoint
and graceful shutdown on SIGTERM/SIGINT; we bring the store, the work queue, the reconcilers
and the metrics endpoint.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from typing import Any

import kopf
from aiohttp import web

from ecs_operator.kube.capabilities import (
    keeps_pod_level_resources,
    nodes_without_pod_level_resources,
)
from ecs_operator.kube.client import LIST_PAGE, KubeClient
from ecs_operator.kube.events import EventRecorder
from ecs_operator.kube.resources import NODE
from ecs_operator.kube.store import Store
from ecs_operator.kube.writer import Writer

from . import metrics
from .handlers import install_handlers
from .handlers.context import Context, Settings, Timers
from .policy import BASELINE, EXPOSED_SERVICE_TYPES, LEVELS, Policy


def configure(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace", "-n", action="append", default=[], help="watch this namespace (repeatable)"
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch every namespace (default)"
    )
    metrics.add_endpoint_arguments(parser, default_port=8080)
    parser.add_argument(
        "--health-port", type=int, default=8081, help="liveness endpoint port (0: off)"
    )
    parser.add_argument(
        "--health-address",
        default="0.0.0.0",
        help="address the liveness endpoint listens on (:: on IPv6-only clusters)",
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )
    parser.add_argument(
        "--peering",
        metavar="NAME",
        default=None,
        help="join the KopfPeering NAME for an active/standby pair (default: standalone)",
    )
    parser.add_argument("--workers", type=int, default=32, help="concurrent reconciles")
    parser.add_argument(
        "--pod-level-resources",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="render task cpu/memory as pod-level resources, or (--no-) spread them over the "
        "containers (default: as the API server keeps, asked at startup; kube/capabilities.py)",
    )
    parser.add_argument(
        "--task-retention", type=float, default=3600.0, help="seconds to keep stopped task pods"
    )
    metadata = parser.add_argument_group(
        "task metadata", "the ECS task metadata endpoint tasks read (docs/task-metadata.md)"
    )
    metadata.add_argument(
        "--task-metadata-port",
        type=int,
        default=0,
        help="serve the endpoint on this port (default 0: not served)",
    )
    metadata.add_argument(
        "--task-metadata-address", default="0.0.0.0", help="address the endpoint listens on"
    )
    metadata.add_argument(
        "--task-metadata-url",
        metavar="URL",
        default=None,
        help="the endpoint's address as tasks reach it (a Service in front of the operator): "
        "each container's ECS_CONTAINER_METADATA_URI_V4 (default: none set)",
    )
    parser.add_argument(
        "--account-id", default=None, help="AWS account id used in ARNs and IRSA roles"
    )
    tenancy = parser.add_argument_group(
        "tenancy", "what writing ECS objects allows in every namespace (docs/security.md)"
    )
    tenancy.add_argument(
        "--allow-task-role",
        metavar="ARN_PATTERN",
        action="append",
        default=[],
        help="an IAM role ARN pattern (* matches anything) tasks may use (repeatable; "
        "default: none, namespaces allow theirs with an annotation)",
    )
    tenancy.add_argument(
        "--pod-security-ceiling",
        choices=LEVELS,
        default=BASELINE,
        help="the highest Pod Security level tasks are rendered at (default: baseline)",
    )
    tenancy.add_argument(
        "--allow-service-type",
        choices=EXPOSED_SERVICE_TYPES,
        action="append",
        default=[],
        help="a Service type load balancers may get besides ClusterIP (repeatable)",
    )
    tenancy.add_argument(
        "--no-disruption-budgets",
        dest="disruption_budgets",
        action="store_false",
        help="give services no PodDisruptionBudget (minimumHealthyPercent then does not hold "
        "through node drains; namespaces may turn them on with an annotation)",
    )
    # The operator's waits (handlers/context.py, Timers), in seconds: hidden, since the
    # defaults are the tuned values; the tests' operator shortens them (tests/support).
    for timer in fields(Timers):
        parser.add_argument(
            f"--{timer.name.replace('_', '-')}",
            type=float,
            default=timer.default,
            dest=f"timer_{timer.name}",
            help=argparse.SUPPRESS,
        )


def reconcile_settings(args: argparse.Namespace) -> Settings:
    """The reconcilers' settings from ``ecs-operator run``'s arguments."""
    return Settings(
        pod_level_resources=args.pod_level_resources is not False,
        task_retention_seconds=args.task_retention,
        account_id=args.account_id,
        task_metadata_url=args.task_metadata_url,
        policy=Policy(
            task_roles=tuple(args.allow_task_role),
            pod_security_ceiling=args.pod_security_ceiling,
            service_types=frozenset(args.allow_service_type),
            disruption_budgets=args.disruption_budgets,
        ),
        timers=Timers(**{t.name: getattr(args, f"timer_{t.name}") for t in fields(Timers)}),
    )


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff base: our handlers are all ``on.event`` (level-triggered, reading the store),
    so the essence kopf otherwise deep-copies out of every event of every watched object (a
    sixth of the operator's CPU under load) would never be used."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def credentials(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account, else kubeconfig: kopf's watches log in with it, and so does
    our client (kube/client.py). Without kopf's fallback to the official client, which would
    import it (most of a kopf operator's memory)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


async def pod_level_resources_kept(
    client: KubeClient,
    namespaces: Sequence[str],
    nodes: Iterable[dict[str, Any]],
    logger: kopf.Logger,
) -> bool:
    """Whether to render task sizes as pod-level resources: where the API server keeps them
    (asked in the first watched namespace, else ``default``) and the kubelet of every one of
    ``nodes`` enforces them; yes if the API server will not say, as before the question was
    asked, with a warning naming the flag that settles it."""
    namespace = namespaces[0] if namespaces else "default"
    kept = await keeps_pod_level_resources(client, namespace)
    if kept is None:
        logger.warning(
            "could not ask the API server whether it keeps pod-level resources (a dry-run "
            f"Deployment in namespace {namespace} was refused): rendering them; on Kubernetes "
            "older than 1.34 run with --no-pod-level-resources"
        )
        return True
    if not kept:
        logger.warning(
            "the API server drops pod-level resources (Kubernetes older than 1.34, or the "
            "PodLevelResources feature gate off): task cpu and memory are spread over the "
            "containers"
        )
        return False
    older = nodes_without_pod_level_resources(nodes)
    if older:
        shown = ", ".join(older[:5]) + (f" and {len(older) - 5} more" if len(older) > 5 else "")
        logger.warning(
            f"nodes with a kubelet older than 1.34 would not enforce pod-level resources "
            f"({shown}): task cpu and memory are spread over the containers until the operator "
            "starts again with none left"
        )
        return False
    logger.info(
        "task cpu and memory are pod-level resources: the API server and kubelets keep them"
    )
    return True


def _startup(args: argparse.Namespace) -> None:
    """Register the startup/cleanup hooks that create and close the reconcile context."""

    kopf.on.login()(credentials)

    @kopf.on.startup()
    async def start(
        settings: kopf.OperatorSettings, logger: kopf.Logger, memo: kopf.Memo, **_: Any
    ) -> None:
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 120
        settings.watching.client_timeout = 150
        # kopf's own initial LISTs, a page at a time as ours (tenants choose object sizes)
        settings.watching.chunk_size = LIST_PAGE
        settings.persistence.finalizer = "ecs-operator.dev/kopf"
        settings.persistence.diffbase_storage = NoDiffBase()
        info = credentials(settings=settings)
        if info is None:
            raise kopf.PermanentError(
                "no Kubernetes credentials: neither in-cluster nor kubeconfig"
            )
        from .handlers.indexes import INDEXES, PROJECTIONS
        from .handlers.prewarm import prewarm
        from .handlers.queue import WorkQueue
        from .handlers.reconcilers import RECONCILERS

        client = KubeClient(info)
        store = Store(INDEXES, PROJECTIONS)
        # opened by the watches' first event: a pod that kopf's peering keeps paused waits
        queue = WorkQueue(RECONCILERS, max_backoff=args.timer_max_backoff, opened=False)
        events = EventRecorder(client)
        chosen = reconcile_settings(args)
        writer = Writer(
            client,
            store,
            settle=chosen.timers.status_settle,
            settle_in_progress=chosen.timers.status_settle_in_progress,
        )
        context = Context(
            store=store,
            writer=writer,
            events=events,
            queue=queue,
            settings=chosen,
        )
        memo["closing"] = (queue.stop, writer.flush, events.drain, client.close)
        await prewarm(context, args.namespace)
        if args.pod_level_resources is None:  # asked of the nodes prewarm has just listed
            nodes = store.all(NODE)
            kept = await pod_level_resources_kept(client, args.namespace, nodes, logger)
            context = replace(context, settings=replace(chosen, pod_level_resources=kept))
        if args.task_metadata_port:  # answered from the store, now that prewarm has filled it
            endpoint = await serve_task_metadata(
                context, args.task_metadata_address, args.task_metadata_port
            )
            memo["closing"] = (endpoint.cleanup, *memo["closing"])
        # the watch handlers find it in their memo: kopf copies this root memo into each
        # object's, and starts watching only after the startup handlers are done
        memo["context"] = context
        queue.start(context, args.workers)
        logger.info("ecs-operator started")

    @kopf.on.cleanup()
    async def stop(memo: kopf.Memo, **_: Any) -> None:
        for close in memo.get("closing", ()):  # in order: no reconcile posts or writes after
            await close()


async def serve_task_metadata(context: Context, address: str, port: int) -> web.AppRunner:
    """Start serving the ECS task metadata endpoint (handlers/task_metadata.py)."""
    from .handlers.task_metadata import metadata_app

    runner = web.AppRunner(metadata_app(context.store, context.settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address, port).start()
    return runner


def liveness_endpoint(address: str, port: int) -> str | None:
    """kopf's liveness endpoint URL (None: off); an IPv6 address goes in brackets."""
    if not port:
        return None
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}/healthz"


def run(args: argparse.Namespace) -> int:
    level = getattr(logging, args.log_level.upper())
    kopf.configure(
        debug=level == logging.DEBUG,
        quiet=level >= logging.WARNING,
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.FULL,
    )
    logging.getLogger().setLevel(level)
    logging.getLogger("kopf.objects").setLevel(max(level, logging.WARNING))
    metrics.serve(args, metrics.REGISTRY)
    _startup(args)
    install_handlers()
    kopf.run(
        standalone=args.peering is None,
        peering_name=args.peering,
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=liveness_endpoint(args.health_address, args.health_port),
    )
    return 0
