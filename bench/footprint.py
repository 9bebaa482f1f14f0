"""Benchmark 3, footprint: the operator's memory (VmRSS, and its peak VmHWM) and CPU
(utime + stime) from /proc, when started on an empty cluster, while converging 1,000
Services with 1,000 TaskDefinitions, and idle with all of them converged.

Also: how much of the memory is just the imported code (a Python process that only imports
what the operator imports), and whether the official ``kubernetes`` client, which kopf's
maintainer measured at most of a kopf operator's memory, gets imported by the operator
process. The operator cannot be asked (and is not changed for the benchmark), so it is
restarted once with ``python -X importtime``, which logs every module as it is first
imported, for the whole life of the process; that restart is also timed and its writes counted
(a converged operator that restarts should write nothing).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ecs_operator_devtools.devcluster.cluster import DevCluster

from .api import Api
from .convergence import operator_trackers, timed
from .env import fresh_devcluster, log
from .operator_process import OperatorProcess, delta, without_events
from .workload import Workload

STARTUP_SETTLE_S = 5.0
#: How long convergence may take before the operator is called stalled (its memory and CPU
#: are still measured then, and reported as not converged).
LIMIT_S = 1200.0
#: How long the restarted operator gets to reconcile every Service once.
RESTART_LIMIT_S = 180.0
#: What the operator process imports by the time it reconciles: the command line, kopf, the
#: runner, and (lazily, at start-up) the handlers, reconcilers, renderer and API models.
OPERATOR_IMPORTS = (
    "kopf",
    "ecs_operator.cli",
    "ecs_operator.runner",
    "ecs_operator.handlers.watch",
    "ecs_operator.handlers.reconcilers",
)

_RSS_PROBE = (
    "import re, sys\n"
    "names = sys.argv[1:]\n"
    "if names and names[0] == '--block-kubernetes':\n"
    "    names = names[1:]\n"
    "    sys.modules['kubernetes'] = None  # import kubernetes now raises ImportError\n"
    "for name in names:\n"
    "    __import__(name)\n"
    "status = open('/proc/self/status').read()\n"
    "print(int(re.search(r'VmRSS:\\s+(\\d+) kB', status).group(1)) / 1024)\n"
)


def import_rss_mb(*modules: str) -> float:
    """VmRSS of a fresh Python process that imports ``modules`` and nothing else."""
    probe = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, *modules], capture_output=True, text=True, check=True
    )
    return round(float(probe.stdout.strip()), 1)


def imported_modules(log_text: str) -> list[str]:
    """Module names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return [
        line.rsplit("|", 1)[1].strip()
        for line in log_text.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    ][1:]  # the first line is the header


async def _measure(
    cluster: DevCluster, workload: Workload, idle_s: float, logs: Path
) -> dict[str, Any]:
    api = Api(cluster)
    namespace = workload.namespace
    results: dict[str, Any] = {
        "services": workload.services,
        "task_definitions": len(workload.task_definition_specs()),
        "tasks": workload.pods,
    }
    operator = OperatorProcess(cluster, logs / "operator-footprint.log")
    try:
        await api.create_namespace(namespace)
        results["startup_s"] = round(await asyncio.to_thread(operator.wait_started), 1)
        await asyncio.sleep(STARTUP_SETTLE_S)
        empty = operator.usage()
        results["empty"] = {"rss_mb": round(empty.rss_mb, 1), "cpu_s": round(empty.cpu_s, 1)}
        log(f"  operator started: {empty.rss_mb:.0f} MB RSS on an empty cluster")

        trackers = operator_trackers(api, workload)
        run = await timed(api, trackers, [workload.ecs_objects()], LIMIT_S, "convergence")
        converged = operator.usage()
        results["converged_in_time"] = run.converged
        results["converge_s"] = round(run.seconds, 1)
        results["converge_milestones"] = run.milestones
        results["converge_progress"] = run.progress
        results["converge_cpu_s"] = round(converged.cpu_s - empty.cpu_s, 1)
        log(
            f"  {'converged' if run.converged else 'did NOT converge'} {workload.services} "
            f"Services in {results['converge_s']}s {run.progress or ''}, "
            f"using {results['converge_cpu_s']} CPU s"
        )

        await asyncio.sleep(STARTUP_SETTLE_S)
        settled = operator.usage()
        await asyncio.sleep(idle_s)
        idle = operator.usage()
        results["converged"] = {
            "rss_mb": round(idle.rss_mb, 1),
            "peak_rss_mb": round(idle.peak_rss_mb, 1),
            "idle_seconds": idle_s,
            "idle_cpu_percent": round(100 * (idle.cpu_s - settled.cpu_s) / idle_s, 2),
        }
        log(
            f"  converged and idle: {idle.rss_mb:.0f} MB RSS (peak {idle.peak_rss_mb:.0f} MB), "
            f"{results['converged']['idle_cpu_percent']}% CPU"
        )
    except BaseException:
        log(f"operator log tail:\n{operator.tail()}")
        raise
    finally:
        operator.stop()

    # the restart, with every module import logged
    restarted = OperatorProcess(cluster, logs / "operator-importtime.log", "-X", "importtime")
    try:
        results["restart_s"] = round(await asyncio.to_thread(restarted.wait_started), 1)
        before = restarted.writes()
        reconciled = await _wait_reconciled(restarted, workload.services, RESTART_LIMIT_S)
        await asyncio.sleep(STARTUP_SETTLE_S)
        usage = restarted.usage()
        restart_writes = delta(before, restarted.writes())
        results["restart"] = {
            "reconciled_every_service": reconciled,
            "writes": without_events(restart_writes),
            "by_resource": dict(sorted(restart_writes.items())),
            "rss_mb": round(usage.rss_mb, 1),
            "cpu_s": round(usage.cpu_s, 1),
        }
    finally:
        restarted.stop()
        await api.close()
    modules = imported_modules(restarted.log.read_text(errors="replace"))
    kubernetes = sorted(m for m in modules if m == "kubernetes" or m.startswith("kubernetes."))
    results["imports"] = {
        "modules": len(modules),
        # -X importtime logs failed attempts too (kopf tries `from kubernetes.client import`,
        # which fails in the image and here, see
        # operator_process.AS_IN_THE_IMAGE): only a loaded client has submodules
        "kubernetes_client_imported": any(m.startswith("kubernetes.client.") for m in kubernetes),
        "kubernetes_modules": kubernetes[:10],
        "python_rss_mb": import_rss_mb(),
        "kopf_and_runner_rss_mb": import_rss_mb("kopf", "ecs_operator.runner"),
        "operator_modules_rss_mb": import_rss_mb(*OPERATOR_IMPORTS),
        "official_client_rss_mb": import_rss_mb("kubernetes"),
        # what the operator's modules would cost if kopf could not import the official
        # client (kopf/_cogs/helpers/thirdparty.py imports it whenever it is installed)
        "operator_modules_without_kubernetes_rss_mb": import_rss_mb(
            "--block-kubernetes", *OPERATOR_IMPORTS
        ),
    }
    log(f"  imports: {results['imports']}")
    return results


async def _wait_reconciled(operator: OperatorProcess, services: int, limit: float) -> bool:
    """Until the restarted operator has reconciled every Service once (or ``limit`` s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = sum(v for k, v in operator.reconciles().items() if k.startswith("Service "))
        if done >= services:
            return True
        await asyncio.sleep(1)
    return False


def run(
    services: int, idle_s: float, logs: Path, keep: bool = False, task_roles: bool = False
) -> dict[str, Any]:
    log(f"footprint: {services} Services and TaskDefinitions")
    workload = Workload("footprint", services, task_roles=task_roles)
    with fresh_devcluster(workload.ec2_pods, keep=keep) as cluster:
        return asyncio.run(_measure(cluster, workload, idle_s, logs))
