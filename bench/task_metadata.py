"""Benchmark 6, the ECS task metadata endpoint: what a task's container waits for when it
reads ``${ECS_CONTAINER_METADATA_URI_V4}/task``.

Twenty clients at once read the task of the running tasks of ten services, round robin, from
the operator's endpoint; beside them, twenty clients GET the same pods from the Kubernetes API
(one aiohttp session with the admin certificate): the read a sidecar would make to learn the
same facts without the endpoint. Latencies as p50/p99; the machine's load average with them
(its 2 cores may be shared). The default 25 reads per client read each task 25 times, under
the endpoint's burst of 60 a task (handlers/task_metadata.Throttle): the lane times answers,
not refusals, and fails on a 429.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from ecs_operator.kube.resources import POD
from ecs_operator.status.task import ecs_names
from ecs_operator_devtools.devcluster.cluster import DevCluster, free_port

from .api import Api
from .ecsapi import CLIENTS, percentiles, timed_reads
from .env import fresh_devcluster, log
from .operator_process import OperatorProcess
from .workload import Workload

NAMESPACE = "ecs-bench-metadata"
SERVICES = 10


async def _running_pods(api: Api, count: int, timeout: float = 300) -> list[dict[str, Any]]:
    """The namespace's service pods once ``count`` of them run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = (await api.get(POD.path(NAMESPACE)))["items"]
        running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        if len(running) >= count:
            return running
        await asyncio.sleep(1)
    raise TimeoutError(f"{count} service pods did not run in {timeout:.0f} s")


def _task_paths(pods: Sequence[dict[str, Any]]) -> list[str]:
    """Each pod's ``…/task`` path, as its first container's variable names it."""
    paths = []
    for pod in pods:
        container = next(iter(ecs_names(pod).values()), "")
        paths.append(f"/v4/{NAMESPACE}/{pod['metadata']['uid']}/{container}/task")
    return paths


async def _measure(cluster: DevCluster, port: int, calls: int) -> dict[str, Any]:
    api = Api(cluster, concurrency=CLIENTS)
    try:
        await api.create_namespace(NAMESPACE)
        workload = Workload(NAMESPACE, SERVICES)
        await api.apply_all(workload.ecs_objects())
        pods = await _running_pods(api, workload.pods)
        paths = _task_paths(pods)
        names = [p["metadata"]["name"] for p in pods]
        endpoint = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(endpoint) as session:

            async def metadata(client: int, i: int) -> Any:
                async with session.get(paths[(client + i) % len(paths)]) as response:
                    response.raise_for_status()
                    return await response.json()

            load_before = os.getloadavg()[0]
            log(f"task metadata: …/task of {len(paths)} tasks, {CLIENTS} clients")
            endpoint_reads = await timed_reads(metadata, calls)

        async def kubernetes(client: int, i: int) -> Any:
            return await api.get(POD.path(NAMESPACE, names[(client + i) % len(names)]))

        log("task metadata: the same pods through the Kubernetes API (GET)")
        kubernetes_reads = await timed_reads(kubernetes, calls)
        return {
            "clients": CLIENTS,
            "tasks": len(paths),
            "task_metadata_task": percentiles(endpoint_reads),
            "kubernetes_get_pod": percentiles(kubernetes_reads),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cpus": os.cpu_count(),
        }
    finally:
        await api.close()


def run(calls: int, logs: Path, keep: bool) -> dict[str, Any]:
    """The lane's numbers: p50/p99 of each read at ``CLIENTS`` concurrent clients, each making
    ``calls`` reads."""
    with fresh_devcluster(SERVICES * 2, keep) as cluster:
        port = free_port()
        flags = (
            "--task-metadata-port",
            str(port),
            "--task-metadata-url",
            f"http://127.0.0.1:{port}",
        )
        operator = OperatorProcess(cluster, logs / "operator-task-metadata.log", args=flags)
        try:
            operator.wait_started()
            return asyncio.run(_measure(cluster, port, calls))
        finally:
            operator.stop()
