"""A fresh devcluster per benchmark, in a private temporary state directory.

Each benchmark starts from an empty etcd and idle controllers, so one benchmark's leftovers
(terminating namespaces, a busy garbage collector, watch caches full of objects) cannot slow
the next one down; and the shared devcluster other people use
(~/.cache/ecs-operator/devcluster/default) is never touched.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ecs_operator.kube.resources import NODE
from ecs_operator_devtools.devcluster import binaries
from ecs_operator_devtools.devcluster.cluster import DevCluster

from .api import Api
from .workload import bench_nodes

CRDS = binaries.repo_root() / "crds"
CHART = binaries.repo_root() / "charts" / "ecs-operator"
#: what the chart installs besides the operator and acts on every write: the policy that sets
#: a TaskDefinition's in-use finalizer as it is created (Kubernetes 1.36+)
ADMISSION = "templates/in-use-finalizer.yaml"


def log(message: str) -> None:
    """Progress on stderr: the table and the results go to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def fresh_devcluster(ec2_pods: int, keep: bool = False) -> Iterator[DevCluster]:
    """A devcluster with the CRDs installed and EC2 room for ``ec2_pods`` more pods; stopped
    and removed afterwards (its logs kept in the temporary directory when ``keep``)."""
    work = Path(tempfile.mkdtemp(prefix="ecs-bench-"))
    cluster = DevCluster(work / "devcluster")
    started = time.monotonic()
    try:
        cluster.up(log=log)
        tools = binaries.ensure_all(log=False)
        kubectl = str(tools["kubectl"])
        env = {"KUBECONFIG": str(cluster.kubeconfig), "PATH": "/usr/bin:/bin"}
        for args in (
            ["apply", "--server-side", "-f", str(CRDS)],
            ["wait", "--for=condition=Established", "--timeout=60s", "-f", str(CRDS)],
        ):
            subprocess.run([kubectl, *args], env=env, check=True, capture_output=True)
        policy = _chart_template(str(tools["helm"]), ADMISSION)
        subprocess.run(
            [kubectl, "apply", "--server-side", "-f", "-"],
            input=policy, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        asyncio.run(_add_nodes(cluster, bench_nodes(ec2_pods)))
        log(f"devcluster ready in {time.monotonic() - started:.0f}s ({cluster.state_dir})")
        yield cluster
    finally:
        cluster.down(purge=not keep)
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _chart_template(helm: str, template: str) -> str:
    """One template of the chart as the devcluster's Kubernetes version renders it."""
    rendered = subprocess.run(
        [helm, "template", "ecs-operator", str(CHART), "--show-only", template,
         "--kube-version", binaries.KUBE_VERSION.lstrip("v")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return rendered.stdout


async def _add_nodes(cluster: DevCluster, manifests: list[dict[str, Any]]) -> None:
    """Register the extra nodes and wait until kwok reports them Ready and untainted."""
    if not manifests:
        return
    api = Api(cluster)
    try:
        for manifest in manifests:
            await api.request("POST", NODE.path(), manifest)
        wanted = {m["metadata"]["name"] for m in manifests}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listed = (await api.get(NODE.path()))["items"]
            if wanted <= {n["metadata"]["name"] for n in listed if _ready(n)}:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"nodes {sorted(wanted)} not Ready after 60s")
    finally:
        await api.close()


def _ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    taints = (node.get("spec") or {}).get("taints") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) and not any(
        t["key"].startswith("node.kubernetes.io/") for t in taints
    )
