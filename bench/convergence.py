"""Benchmark 1, convergence: N ECS Services (2 tasks each) applied at once, timed until every
task runs and every Service reports steady state; against the same N Services applied
directly as the Deployments and ServiceAccounts the renderer makes of them, timed until every
pod runs and every Deployment is available. Both in the same devcluster, one after the other
in separate namespaces, the first namespace deleted (and gone) before the second run starts.

The operator is not running during the direct run (it watches every pod labelled as its own,
which the rendered pods are), and is started, idle and pre-warmed, before the operator run's
clock starts: a deployed operator is already running when users apply their Services. With
``repeats`` > 1 the order alternates and the median is reported.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ecs_operator.kube.resources import DEPLOYMENT, ECS_SERVICE, POD, TASK_DEFINITION
from ecs_operator_devtools.devcluster import processes
from ecs_operator_devtools.devcluster.cluster import DevCluster

from .api import Api, Tracker, Until
from .env import fresh_devcluster, log
from .operator_process import OperatorProcess, delta, events_only, proc_usage, without_events
from .request_metrics import count_delta, mean_latency, operator_writes
from .workload import Workload


def pod_running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp"
    )


def deployment_available(deployment: dict[str, Any]) -> bool:
    """Every replica updated, ready and available, no old pod left, latest spec observed."""
    want = deployment["spec"].get("replicas", 1)
    status = deployment.get("status") or {}
    current = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
    counts = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    return current and all(status.get(key, 0) == want for key in counts)


def service_steady(service: dict[str, Any]) -> bool:
    """What ECS calls steady state: runningCount == desiredCount, and our Ready=True."""
    status = service.get("status") or {}
    want = (service.get("spec") or {}).get("desiredCount", 1)
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return ready and status.get("runningCount") == want


@dataclass
class Run:
    """One timed run: seconds from the first request to convergence (or to the time limit,
    with ``converged`` false and the ``progress`` made), to the end of the applies, and to
    each milestone (the moment a tracker first reached its target)."""

    seconds: float
    apply_s: float
    milestones: dict[str, float]
    converged: bool = True
    progress: dict[str, str] = field(default_factory=dict)
    #: the 1-minute load average at the end: the machine is shared, and a direct run on a
    #: busier machine than its operator run (or the other way round) skews their ratio
    load: float = 0.0
    #: CPU seconds each process used during the run (``cpu_seconds``)
    cpu_s: dict[str, float] = field(default_factory=dict)
    #: the API server's request seconds during the run, the most costly requests first
    #: (``request_time_used``)
    request_s: dict[str, float] = field(default_factory=dict)


Sampler = Callable[[], dict[str, float]]


def cpu_seconds(cluster: DevCluster, operator: OperatorProcess | None = None) -> Sampler:
    """A sampler of the CPU seconds used so far by each devcluster component, the bench
    itself (its applies and watches) and the operator, if any.

    On 2 cores a run is CPU-bound: its time follows the CPU every process takes, so the two
    sides' totals say where an operator run's extra time goes and what its floor is."""

    def sample() -> dict[str, float]:
        used = {
            p.name: proc_usage(p.pid).cpu_s
            for p in processes.tracked(cluster.state_dir)
            if p.alive()
        }
        used["bench"] = proc_usage(os.getpid()).cpu_s
        if operator is not None:
            used["operator"] = operator.usage().cpu_s
        return used

    return sample


def request_time_used(
    before: dict[str, float], after: dict[str, float], top: int = 10
) -> dict[str, float]:
    """The ``top`` requests by the API server's seconds between two readings, and ``total``."""
    used = {k: v - before.get(k, 0.0) for k, v in after.items()}
    ranked = sorted(((v, k) for k, v in used.items() if v > 0), reverse=True)
    return {
        **{k: round(v, 1) for v, k in ranked[:top]},
        "total": round(sum(v for v, _ in ranked), 1),
    }


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per process, and in ``total``, the CPU seconds between two samples."""
    used = {k: round(v - before.get(k, 0.0), 1) for k, v in sorted(after.items())}
    return {**used, "total": round(sum(used.values()), 1)}


def exists(_: dict[str, Any]) -> bool:
    return True


def registered(task_definition: dict[str, Any]) -> bool:
    return bool((task_definition.get("status") or {}).get("revisions"))


@dataclass
class Point:
    """One N: the median run of each side, their ratio, and the operator's writes. When the
    operator did not converge within its limit, ``operator_s`` is the limit and ``ratio`` a
    lower bound (``converged`` false)."""

    n: int
    operator_s: float
    direct_s: float
    ratio: float
    converged: bool
    operator_runs: list[float]
    direct_runs: list[float]
    operator_load: list[float]
    direct_load: list[float]
    operator_milestones: dict[str, float]
    direct_milestones: dict[str, float]
    operator_progress: dict[str, str]
    operator_apply_s: float
    direct_apply_s: float
    writes_per_service: float
    events_per_service: float
    writes: dict[str, float]
    apiserver_writes: dict[str, float]
    api_latency_s: dict[str, float]
    reconciles: dict[str, float]
    operator_cpu_s: float
    operator_peak_rss_mb: float
    #: CPU seconds per process during the last run of each side, and their totals' ratio
    operator_side_cpu_s: dict[str, float]
    direct_cpu_s: dict[str, float]
    cpu_ratio: float
    #: the API server's request seconds during the last run of each side (``Run.request_s``)
    operator_side_request_s: dict[str, float]
    direct_request_s: dict[str, float]


#: The operator side gets this many times the direct side's time (at least MIN_LIMIT_S)
#: before it is called unconverged: five times the target ratio says enough, and keeps a run
#: whose operator has stalled within the time the whole benchmark can take.
LIMIT_FACTOR = 5.0
MIN_LIMIT_S = 120.0


def timeout_for(n: int) -> float:
    """A limit for runs with no direct side to compare with."""
    return 180.0 + 4.0 * n


async def timed(
    api: Api,
    trackers: dict[str, tuple[Tracker, int]],
    objects: list[list[dict[str, Any]]],
    limit: float,
    what: str,
    cpu: Sampler | None = None,
) -> Run:
    """Apply each batch of objects in turn (each batch all at once), then wait for every
    tracker to reach its target, at most ``limit`` seconds from the first request."""
    async with Until(trackers) as until:
        cpu_before = cpu() if cpu else {}
        requests_before = await api.request_time()
        started = time.monotonic()
        for batch in objects:
            await api.apply_all(batch)
        applied = time.monotonic()
        try:
            finished = await until.wait(max(limit - (applied - started), 1.0), what)
            converged = True
        except TimeoutError:
            finished, converged = time.monotonic(), False
        used = cpu_used(cpu_before, cpu()) if cpu else {}
        requests = request_time_used(requests_before, await api.request_time())
        return Run(
            seconds=finished - started,
            apply_s=applied - started,
            milestones={
                name: round(at - started, 2)
                for name, at in sorted(until.reached.items(), key=lambda item: item[1])
            },
            converged=converged,
            progress={} if converged else until.counts(),
            load=round(os.getloadavg()[0], 2),
            cpu_s=used,
            request_s=requests,
        )


async def direct(api: Api, workload: Workload, limit: float, cpu: Sampler) -> Run:
    """Apply the rendered ServiceAccounts, then all Deployments (and the objects rendered
    with them) at once; wait for them.

    The account goes first: pods naming a missing ServiceAccount are refused, and the
    ReplicaSet controller's back-off would be timed (the operator applies it first too)."""
    accounts, objects = workload.kubernetes_objects()
    namespace = workload.namespace
    trackers = {
        **_deployment_trackers(api, workload),
        "pods running": (Tracker(api, POD.path(namespace), pod_running), workload.pods),
    }
    return await timed(api, trackers, [accounts, objects], limit, "the direct Deployments", cpu)


def _deployment_trackers(api: Api, workload: Workload) -> dict[str, tuple[Tracker, int]]:
    """The milestones both sides share: every Deployment created, every one available."""
    path = DEPLOYMENT.path(workload.namespace)
    return {
        "deployments created": (Tracker(api, path, exists), workload.services),
        "deployments available": (Tracker(api, path, deployment_available), workload.services),
    }


def operator_trackers(api: Api, workload: Workload) -> dict[str, tuple[Tracker, int]]:
    """Task definitions registered, Deployments created and available (milestones), and
    what convergence means: every Service steady and every task running."""
    namespace = workload.namespace
    return {
        "task definitions registered": (
            Tracker(api, TASK_DEFINITION.path(namespace), registered),
            len(workload.task_definition_specs()),
        ),
        **_deployment_trackers(api, workload),
        "services steady": (
            Tracker(api, ECS_SERVICE.path(namespace), service_steady),
            workload.services,
        ),
        "tasks running": (Tracker(api, POD.path(namespace), pod_running), workload.pods),
    }


async def through_operator(api: Api, workload: Workload, limit: float, cpu: Sampler) -> Run:
    """Apply the TaskDefinitions and Services at once; wait for steady state and tasks."""
    trackers = operator_trackers(api, workload)
    return await timed(api, trackers, [workload.ecs_objects()], limit, "the ECS Services", cpu)


async def _measure(
    cluster: DevCluster, n: int, repeats: int, logs: Path, py_spy: str | None, roles: bool
) -> Point:
    """``repeats`` pairs of runs, the direct one first (it sets the operator's limit)."""
    api = Api(cluster)
    operator_runs: list[Run] = []
    direct_runs: list[Run] = []
    writes: dict[str, float] = {}
    reconciles: dict[str, float] = {}
    seen: dict[str, float] = {}
    latency: dict[str, float] = {}
    cpu = peak = 0.0
    try:
        for attempt in range(repeats):
            namespace = f"direct-{n}-{attempt}"
            await api.create_namespace(namespace)
            workload = Workload(namespace, n, task_roles=roles)
            run = await direct(api, workload, timeout_for(n), cpu_seconds(cluster))
            direct_runs.append(run)
            log(f"  N={n} direct: {_describe(run)}")
            gone = await api.delete_namespace(namespace, timeout_for(n))
            log(f"  N={n} direct namespace deleted in {gone:.0f}s")

            namespace = f"operator-{n}-{attempt}"
            await api.create_namespace(namespace)
            operator = OperatorProcess(cluster, logs / f"operator-{n}-{attempt}.log")
            try:
                await asyncio.to_thread(operator.wait_started)
                if py_spy:
                    operator.profile(logs / f"profile-convergence-{n}-{attempt}.txt", py_spy)
                before, usage, reconciled = (
                    operator.writes(),
                    operator.usage(),
                    operator.reconciles(),
                )
                counts, seconds, own = (
                    await api.request_counts(),
                    await api.request_seconds(),
                    dict(api.writes),
                )
                limit = max(MIN_LIMIT_S, LIMIT_FACTOR * run.seconds)
                workload = Workload(namespace, n, task_roles=roles)
                sampler = cpu_seconds(cluster, operator)
                run = await through_operator(api, workload, limit, sampler)
                await asyncio.sleep(3)  # trailing status writes belong to the run
                used = operator.usage()
                operator_runs.append(run)
                writes = delta(before, operator.writes())
                reconciles = delta(reconciled, operator.reconciles())
                seen = operator_writes(
                    count_delta(counts, await api.request_counts()),
                    {k: v - own.get(k, 0) for k, v in api.writes.items()},
                )
                latency = mean_latency(seconds, await api.request_seconds(), set(seen))
                cpu, peak = used.cpu_s - usage.cpu_s, used.peak_rss_mb
                log(f"  N={n} operator: {_describe(run)}")
                if not run.converged or attempt == repeats - 1:
                    break  # the devcluster goes anyway; a stalled operator is not retried
                await api.delete_namespace(namespace, timeout_for(n))
            except BaseException:
                log(f"operator log tail:\n{operator.tail()}")
                raise
            finally:
                operator.stop()
    finally:
        await api.close()
    operator_s = statistics.median(r.seconds for r in operator_runs)
    direct_s = statistics.median(r.seconds for r in direct_runs)
    last_operator, last_direct = operator_runs[-1], direct_runs[-1]
    return Point(
        n=n,
        operator_s=round(operator_s, 2),
        direct_s=round(direct_s, 2),
        ratio=round(operator_s / direct_s, 3),
        converged=all(r.converged for r in operator_runs),
        operator_runs=[round(r.seconds, 2) for r in operator_runs],
        direct_runs=[round(r.seconds, 2) for r in direct_runs],
        operator_load=[r.load for r in operator_runs],
        direct_load=[r.load for r in direct_runs],
        operator_milestones=last_operator.milestones,
        direct_milestones=last_direct.milestones,
        operator_progress=last_operator.progress,
        operator_apply_s=round(statistics.median(r.apply_s for r in operator_runs), 2),
        direct_apply_s=round(statistics.median(r.apply_s for r in direct_runs), 2),
        writes_per_service=round(without_events(writes) / n, 2),
        events_per_service=round(events_only(writes) / n, 2),
        writes=writes,
        apiserver_writes=seen,
        api_latency_s=latency,
        reconciles=reconciles,
        operator_cpu_s=round(cpu, 1),
        operator_peak_rss_mb=round(peak, 1),
        operator_side_cpu_s=last_operator.cpu_s,
        direct_cpu_s=last_direct.cpu_s,
        operator_side_request_s=last_operator.request_s,
        direct_request_s=last_direct.request_s,
        cpu_ratio=round(
            last_operator.cpu_s.get("total", 0) / max(last_direct.cpu_s.get("total", 0), 0.1), 3
        ),
    )


def _describe(run: Run) -> str:
    outcome = (
        f"{run.seconds:.1f}s"
        if run.converged
        else f"NOT converged after {run.seconds:.0f}s ({run.progress})"
    )
    return (
        f"{outcome}, applied in {run.apply_s:.1f}s, load {run.load}, milestones "
        f"{run.milestones}, CPU s {run.cpu_s}, API server request s {run.request_s}"
    )


def run(
    sizes: list[int],
    repeats: dict[int, int],
    logs: Path,
    keep: bool = False,
    py_spy: str | None = None,
    task_roles: bool = False,
) -> list[dict[str, Any]]:
    """One fresh devcluster per N."""
    points = []
    for n in sizes:
        log(f"convergence N={n} ({repeats.get(n, 1)} run(s) per side)")
        workload = Workload("sizing", n)
        with fresh_devcluster(workload.ec2_pods, keep=keep) as cluster:
            point = asyncio.run(_measure(cluster, n, repeats.get(n, 1), logs, py_spy, task_roles))
        bound = "" if point.converged else " (operator did not converge: a lower bound)"
        log(
            f"  N={n}: operator {point.operator_s:.1f}s, direct {point.direct_s:.1f}s, "
            f"ratio {point.ratio:.2f}{bound}, {point.writes_per_service:.2f} writes/Service"
        )
        points.append(asdict(point))
    return points
