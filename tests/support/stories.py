"""The ECS objects of the real-node stories (tests/e2e/real/), written as a user writes them in
examples/: a Cluster whose capacity provider `real` is the node pool `real` (the devcluster's
real kubelet nodes), task definitions whose containers run the locally built busybox image
(never pulled: its tag is not `latest`, so the kubelet's default pull policy is IfNotPresent),
and what a user reads back: the Task's status, `kubectl ecs` output and container logs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from tests.support.ecs import apply, resource, status
from tests.support.kube import Kube, wait_for

IMAGE = "localhost/busybox:stable"
CLUSTER = "real"
#: the node pool of the devcluster's real nodes, an EC2 capacity provider of the Cluster
POOL = "real"
#: ECS's minimum health check settings: a check every 5 s, 2 s to answer, one failure counts
FAST_CHECK = {"interval": 5, "timeout": 2, "retries": 1}


def cluster() -> dict[str, Any]:
    """The stories' Cluster: every task lands on the real node pool."""
    return resource(
        "Cluster",
        CLUSTER,
        {
            "clusterName": CLUSTER,
            "capacityProviders": [POOL],
            "defaultCapacityProviderStrategy": [{"capacityProvider": POOL, "weight": 1}],
        },
    )


def container(name: str, script: str, **members: Any) -> dict[str, Any]:
    """A busybox container running ``script`` with ``sh -c`` (``entryPoint``, as ECS users
    write it), 32 MiB unless said otherwise."""
    return {
        "name": name,
        "image": IMAGE,
        "entryPoint": ["sh", "-c"],
        "command": [script],
        "memory": 32,
        **members,
    }


def task_definition(family: str, *containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return resource(
        "TaskDefinition",
        family,
        {
            "family": family,
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": list(containers),
            **extra,
        },
    )


def run_task(name: str, family: str, **spec: Any) -> dict[str, Any]:
    """A RunTask of ``family`` on the stories' cluster."""
    return resource("Task", name, {"cluster": CLUSTER, "taskDefinition": family, **spec})


def ecs_service(name: str, family: str, **spec: Any) -> dict[str, Any]:
    return resource(
        "Service",
        name,
        {"cluster": CLUSTER, "serviceName": name, "taskDefinition": family, **spec},
    )


def story_namespace(kube: Kube, module: str) -> Iterator[str]:
    """A namespace with the stories' Cluster for one test module (a fixture's body)."""
    namespace = kube.create_test_namespace(module)
    apply(namespace, cluster())
    try:
        yield namespace
    finally:
        kube.delete_namespace(namespace)


def task_record(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    """The first (only) task of a Task object, as its status records it ({} before it has one)."""
    tasks = status(kube, namespace, "Task", name).get("tasks") or [{}]
    record: dict[str, Any] = tasks[0]
    return record


def containers_of(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in record.get("containers") or []}


def wait_task(
    kube: Kube, namespace: str, name: str, last_status: str, timeout: float = 90
) -> dict[str, Any]:
    """Wait for the task to reach ``last_status``; its record."""

    def reached() -> dict[str, Any] | None:
        record = task_record(kube, namespace, name)
        return record if record.get("lastStatus") == last_status else None

    return wait_for(reached, timeout, f"task {name} {last_status}")


def kubectl_ecs(namespace: str, *args: str) -> str:
    """Run the `kubectl ecs` plugin as a user does (the process kubectl would start); its
    standard output. ``logs`` and ``execute-command`` hand over to kubectl."""
    done = subprocess.run(
        [sys.executable, "-m", "ecs_operator.plugin.cli", *args, "-n", namespace],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode:
        raise AssertionError(
            f"kubectl ecs {' '.join(args)} exited {done.returncode}: {done.stderr}"
        )
    return done.stdout


def describe_task(namespace: str, task_id: str) -> dict[str, Any]:
    """``kubectl ecs describe-tasks --cluster real --tasks ID -o json``: the one task."""
    out = kubectl_ecs(
        namespace, "describe-tasks", "--cluster", CLUSTER, "--tasks", task_id, "-o", "json"
    )
    [task] = json.loads(out)["tasks"]
    described: dict[str, Any] = task
    return described
