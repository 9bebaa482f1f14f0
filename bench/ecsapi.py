"""Benchmark 5, the ECS API (`ecs-operator api`, issue #16): what an ECS client waits for.

Twenty clients at once, each with its own botocore client and access key signature, call
DescribeServices of ten running services, DescribeTasks of a standalone task among them (what
`aws ecs wait tasks-stopped` polls), then RegisterTaskDefinition (each client its own
family, as parallel CI pipelines do); every call's latency is kept and p50/p99 reported. Beside
them, the same read through the Kubernetes API: twenty clients at once LIST the namespace's
Service objects (what DescribeServices reads, and what `kubectl get services.ecs-operator.dev`
reads), over one aiohttp session with the admin certificate. The difference is the API's own
cost: SigV4, impersonation, the ECS view and the extra reads a view needs (its Cluster).

Then a family's size: one client registers a new image of a family that has 1,000 revisions
(recorded beforehand as its ControllerRevisions, as years of deploys would leave them), and of
a family that has one, in turn, so that both see the same load; and the TaskDefinition's
status size with 1,000 revisions (every watcher of TaskDefinitions decodes it on each
registration).

The machine's load average is recorded with the numbers: the 2 cores may be shared.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.session import get_session

from ecs_operator.kube.owners import child_of
from ecs_operator.kube.resources import CONTROLLER_REVISION, ECS_SERVICE, TASK_DEFINITION
from ecs_operator.plan.taskdefinition import controller_revision
from ecs_operator.render.names import json_digest
from ecs_operator_devtools.demo_api import DEPLOYER_RULES, key_manifest
from ecs_operator_devtools.devcluster import binaries
from ecs_operator_devtools.devcluster.cluster import DevCluster, free_port

from .api import Api
from .env import fresh_devcluster, log
from .operator_process import OperatorProcess

NAMESPACE = "ecs-bench-api"
KEY, SECRET = "AKIABENCH", "bench-secret"
CLIENTS = 20
SERVICES = 10
#: a container with a health check, so that the services are steady in seconds
CONTAINER = {
    "name": "app",
    "image": "nginx:1.28",
    "memory": 32,
    "healthCheck": {"command": ["CMD-SHELL", "true"], "retries": 1},
}

#: the large family's revisions, and the registrations timed into each family
LARGE_FAMILY = 1000
REGISTRATIONS = 20
#: a task definition of a realistic size (about 2 KB recorded): its revision objects are
#: what a family's size is made of
SIZED_CONTAINER = {
    **CONTAINER,
    "environment": [{"name": f"SETTING_{i}", "value": "x" * 40} for i in range(25)],
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/bench"}},
}


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds (nearest rank), and the count."""
    ordered = sorted(seconds)
    rank = max(0, min(len(ordered) - 1, round(0.99 * len(ordered)) - 1))
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[rank] * 1000, 1),
        "calls": len(ordered),
    }


def _timed_calls(call: Callable[[int, int], Any], calls: int) -> list[float]:
    """``CLIENTS`` threads, each making ``calls`` calls ``call(client, i)``: every latency."""

    def client(number: int) -> list[float]:
        spent = []
        for i in range(calls):
            started = time.perf_counter()
            call(number, i)
            spent.append(time.perf_counter() - started)
        return spent

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [s for found in pool.map(client, range(CLIENTS)) for s in found]


async def timed_reads(read: Callable[[int, int], Awaitable[Any]], calls: int) -> list[float]:
    """``CLIENTS`` concurrent asyncio clients, each making ``calls`` reads ``read(client, i)``:
    every latency."""

    async def client(number: int) -> list[float]:
        spent = []
        for i in range(calls):
            started = time.perf_counter()
            await read(number, i)
            spent.append(time.perf_counter() - started)
        return spent

    found = await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return [s for spent in found for s in spent]


async def _kubernetes_lists(cluster: DevCluster, calls: int) -> list[float]:
    api = Api(cluster, concurrency=CLIENTS)
    path = ECS_SERVICE.path(NAMESPACE)
    try:
        return await timed_reads(lambda _client, _i: api.get(path), calls)
    finally:
        await api.close()


def _start_api(cluster: DevCluster, log_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable, "-m", "ecs_operator.cli", "api",
        "--host", "127.0.0.1", "--port", str(port), "--namespace", NAMESPACE,
        "--metrics-port", "0",
        "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    with open(log_file, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{endpoint}/healthz", timeout=2):
                return process, endpoint
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise TimeoutError(f"the ECS API did not start:\n{log_file.read_text()[-2000:]}")


def _client(endpoint: str) -> Any:
    return get_session().create_client(
        "ecs",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def _kubectl(cluster: DevCluster, *args: str, stdin: str | None = None) -> None:
    kubectl = str(binaries.ensure_all(log=False)["kubectl"])
    env = {"KUBECONFIG": str(cluster.kubeconfig), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [kubectl, *args], input=stdin, env=env, check=True, capture_output=True, text=True
    )


def _steady(ecs: Any, names: list[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = ecs.describe_services(services=names)["services"]
        if all(s["runningCount"] == 1 and len(s["deployments"]) == 1 for s in found):
            return
        time.sleep(1)
    raise TimeoutError("the bench's services did not become steady in 300 s")


async def _record_revisions(cluster: DevCluster, family: str, numbers: range) -> int:
    """Record revisions ``numbers`` of ``family`` as its ControllerRevisions; the bytes of the
    TaskDefinition's status once the operator has taken the last one in."""
    api = Api(cluster, concurrency=CLIENTS)
    try:
        path = TASK_DEFINITION.path(NAMESPACE, family)
        body = await api.get(path)
        spec, name, uid = body["spec"], body["metadata"]["name"], body["metadata"]["uid"]
        digest, generation = json_digest(spec), body["metadata"]["generation"]
        await asyncio.gather(
            *(
                api.request(
                    "POST",
                    CONTROLLER_REVISION.path(NAMESPACE),
                    child_of(controller_revision(name, uid, spec, n, digest, generation), body),
                )
                for n in numbers
            )
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = (await api.get(path)).get("status") or {}
            if status.get("revision") == numbers[-1]:
                return len(json.dumps(status, separators=(",", ":")))
            await asyncio.sleep(0.5)
        raise TimeoutError(f"the operator did not take in {family}'s {numbers[-1]} revisions")
    finally:
        await api.close()


def _family_sizes(cluster: DevCluster, ecs: Any) -> dict[str, Any]:
    """RegisterTaskDefinition of a new image into a family of :data:`LARGE_FAMILY` revisions
    and into one of a single revision, in turn (one client): p50/p99 of each, and the large
    family's status size."""
    for family in ("large", "small"):
        ecs.register_task_definition(family=family, containerDefinitions=[SIZED_CONTAINER])
    log(f"ecsapi: recording {LARGE_FAMILY} revisions of one family")
    status_bytes = asyncio.run(_record_revisions(cluster, "large", range(2, LARGE_FAMILY + 1)))
    spent: dict[str, list[float]] = {"large": [], "small": []}
    for i in range(REGISTRATIONS):
        for family, found in spent.items():
            container = {**SIZED_CONTAINER, "image": f"nginx:1.28.{i}"}
            started = time.perf_counter()
            ecs.register_task_definition(family=family, containerDefinitions=[container])
            found.append(time.perf_counter() - started)
    return {
        "revisions": LARGE_FAMILY,
        "register_into_large_family": percentiles(spent["large"]),
        "register_into_small_family": percentiles(spent["small"]),
        "large_family_status_bytes": status_bytes,
    }


def run(calls: int, logs: Path, keep: bool) -> dict[str, Any]:
    """The lane's numbers: p50/p99 of each call at ``CLIENTS`` concurrent clients, each making
    ``calls`` calls, and the load average around them."""
    with fresh_devcluster(SERVICES, keep) as cluster:
        operator = OperatorProcess(cluster, logs / "operator-ecsapi.log")
        api_process = None
        try:
            operator.wait_started()
            _kubectl(cluster, "create", "namespace", NAMESPACE)
            manifest = key_manifest(NAMESPACE, NAMESPACE, "bench", (KEY, SECRET), DEPLOYER_RULES)
            _kubectl(cluster, "apply", "-f", "-", stdin=manifest)
            api_process, endpoint = _start_api(cluster, logs / "ecs-api.log")
            ecs = _client(endpoint)
            time.sleep(1)  # the API's key cache
            ecs.register_task_definition(family="web", containerDefinitions=[CONTAINER])
            names = [f"web-{i}" for i in range(SERVICES)]
            for name in names:
                ecs.create_service(serviceName=name, taskDefinition="web", desiredCount=1)
            _steady(ecs, names)
            clients = [_client(endpoint) for _ in range(CLIENTS)]
            load_before = os.getloadavg()[0]
            log(f"ecsapi: DescribeServices ({SERVICES} services), {CLIENTS} clients")
            describe = _timed_calls(
                lambda c, _: clients[c].describe_services(services=names), calls
            )
            # what `aws ecs wait tasks-stopped` polls after a run-task, beside the services
            task = ecs.run_task(taskDefinition="web")["tasks"][0]["taskArn"]
            log(f"ecsapi: DescribeTasks (a standalone task), {CLIENTS} clients")
            tasks = _timed_calls(lambda c, _: clients[c].describe_tasks(tasks=[task]), calls)
            log("ecsapi: the same read through the Kubernetes API (LIST)")
            kubernetes = asyncio.run(_kubernetes_lists(cluster, calls))
            log(f"ecsapi: RegisterTaskDefinition, {CLIENTS} clients")
            register = _timed_calls(
                lambda c, _: clients[c].register_task_definition(
                    family=f"bench-{c}", containerDefinitions=[CONTAINER]
                ),
                max(1, calls // 2),
            )
            sizes = _family_sizes(cluster, ecs)
            return {
                **sizes,
                "clients": CLIENTS,
                "services": SERVICES,
                "describe_services": percentiles(describe),
                "kubernetes_list_services": percentiles(kubernetes),
                "describe_tasks": percentiles(tasks),
                "register_task_definition": percentiles(register),
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "cpus": os.cpu_count(),
            }
        finally:
            if api_process is not None:
                api_process.terminate()
                api_process.wait(10)
            operator.stop()
