"""Benchmark 2, API efficiency: how many writes the operator sends to converge N Services,
while N converged Services sit idle, and to roll one shared task definition family to a new
revision used by a hundred of them.

Every number is counted twice, from both ends of the wire: the operator's own
``ecs_operator_api_writes_total``, and the API server's ``apiserver_request_total`` narrowed to
the requests only the operator sends (see ``api.OPERATOR_SERIES``; the bench's own applies
are subtracted). Events are reported apart from writes: they are how the operator tells users
what happened (ECS's service events), and the API server's count includes every component's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ecs_operator.kube.resources import ECS_SERVICE
from ecs_operator_devtools.devcluster.cluster import DevCluster

from .api import Api, Tracker
from .convergence import operator_trackers, service_steady, timed
from .env import fresh_devcluster, log
from .operator_process import OperatorProcess, delta, events_only, without_events
from .request_metrics import RequestKey, count_delta, event_writes, operator_writes
from .workload import SHARED_FAMILY, Workload, resource, service_name, shared_spec

SETTLE_S = 5.0
#: what the operator writes for a Service itself (``services`` is the ECS Service's status
#: and, applied, a Kubernetes Service of its endpoints)
SERVICE_PATH = (
    "services",
    "deployments",
    "daemonsets",
    "serviceaccounts",
    "poddisruptionbudgets",
    "horizontalpodautoscalers",
)
#: How long convergence (and the rollout) may take before the operator is called stalled;
#: idle and rollout are not measured on Services that never converged.
LIMIT_S = 900.0


class Counter:
    """Snapshots of the operator's and the API server's write counters."""

    def __init__(self, api: Api, operator: OperatorProcess) -> None:
        self.api = api
        self.operator = operator
        self._operator: dict[str, float] = {}
        self._server: dict[RequestKey, float] = {}
        self._own: dict[tuple[str, str], int] = {}

    async def mark(self) -> None:
        self._operator = self.operator.writes()
        self._server = await self.api.request_counts()
        self._own = dict(self.api.writes)

    async def since(self, services: int) -> dict[str, Any]:
        """Writes since the last mark: totals, per Service, and by verb and resource."""
        ours = delta(self._operator, self.operator.writes())
        server = count_delta(self._server, await self.api.request_counts())
        own = {k: v - self._own.get(k, 0) for k, v in self.api.writes.items()}
        seen = operator_writes(server, own)
        writes = without_events(ours)
        return {
            "writes": writes,
            "writes_per_service": round(writes / services, 2) if services else None,
            "events": events_only(ours),
            "apiserver_writes": sum(seen.values()),
            "apiserver_events_all_components": event_writes(server),
            "apiserver_writes_all_components": sum(server.values()),
            "by_resource": dict(sorted(ours.items())),
            "apiserver_by_resource": dict(sorted(seen.items())),
        }


def service_path_writes(by_resource: dict[str, float]) -> float:
    """Writes of the Service path alone: its status, its Deployment, ServiceAccount and
    attached objects (the rest registers task definitions and keeps the Cluster's counts)."""
    return sum(v for k, v in by_resource.items() if k.split()[1] in SERVICE_PATH)


async def _measure(
    cluster: DevCluster, workload: Workload, idle_s: float, logs: Path
) -> dict[str, Any]:
    api = Api(cluster)
    operator = OperatorProcess(cluster, logs / "operator-writes.log")
    namespace = workload.namespace
    results: dict[str, Any] = {"services": workload.services, "rollout_services": workload.shared}
    try:
        await api.create_namespace(namespace)
        await asyncio.to_thread(operator.wait_started)
        counter = Counter(api, operator)

        await counter.mark()
        trackers = operator_trackers(api, workload)
        run = await timed(api, trackers, [workload.ecs_objects()], LIMIT_S, "convergence")
        results["converge_s"] = round(run.seconds, 1)
        results["converged"] = run.converged
        results["converge_milestones"] = run.milestones
        await asyncio.sleep(SETTLE_S)
        converge = await counter.since(workload.services)
        converge["service_path_writes_per_service"] = round(
            service_path_writes(converge["by_resource"]) / workload.services, 2
        )
        converge["events_per_service"] = round(converge["events"] / workload.services, 2)
        results["converge"] = converge
        log(
            f"  {'converged' if run.converged else 'did NOT converge'} {workload.services} "
            f"Services in {results['converge_s']}s {run.progress or ''}: "
            f"{converge['writes_per_service']} writes/Service "
            f"(API server: {converge['apiserver_writes']:.0f} writes)"
        )
        if not run.converged:
            results["idle"] = results["rollout"] = None
            return results

        await counter.mark()
        await asyncio.sleep(idle_s)
        results["idle"] = {"seconds": idle_s, **await counter.since(0)}
        log(f"  idle {idle_s:.0f}s: {results['idle']['writes']:.0f} writes")

        await counter.mark()
        shared = {service_name(i) for i in range(workload.shared)}
        new_ref = f"{SHARED_FAMILY}:2"

        def rolled(service: dict[str, Any]) -> bool:
            moved = service["metadata"]["name"] not in shared or (
                (service.get("status") or {}).get("taskDefinition") == new_ref
            )
            return moved and service_steady(service)

        trackers = {
            "services rolled": (
                Tracker(api, ECS_SERVICE.path(namespace), rolled),
                workload.services,
            )
        }
        revision = resource("TaskDefinition", SHARED_FAMILY, namespace, shared_spec("2"))
        run = await timed(api, trackers, [[revision]], LIMIT_S, "the rollout")
        results["rollout_s"] = round(run.seconds, 1)
        results["rollout_milestones"] = run.milestones
        await asyncio.sleep(SETTLE_S)
        rollout = await counter.since(workload.shared)
        rollout["converged"] = run.converged
        rollout["progress"] = run.progress
        results["rollout"] = rollout
        log(
            f"  revision rolled to {workload.shared} Services in {results['rollout_s']}s: "
            f"{rollout['writes']:.0f} writes ({rollout['writes_per_service']}/Service)"
        )
    except BaseException:
        log(f"operator log tail:\n{operator.tail()}")
        raise
    finally:
        operator.stop()
        await api.close()
    return results


def run(
    services: int,
    rollout: int,
    idle_s: float,
    logs: Path,
    keep: bool = False,
    task_roles: bool = False,
) -> dict[str, Any]:
    log(f"API efficiency: {services} Services ({rollout} sharing one family), {idle_s:.0f}s idle")
    workload = Workload("writes", services, shared=rollout, task_roles=task_roles)
    with fresh_devcluster(workload.ec2_pods, keep=keep) as cluster:
        return asyncio.run(_measure(cluster, workload, idle_s, logs))
