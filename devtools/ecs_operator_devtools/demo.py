"""`ecs-operator demo` (`make demo`): the operator on the devcluster, running examples/.

Starts the devcluster (building it on first use), installs the CRDs, starts the operator and
the ECS API as processes tracked in the devcluster's state directory (so `make demo-down` /
`devcluster down` stops them too), applies examples/, waits for steady state with a progress
line, and prints the ECS-style view and how to call the ECS API (demo_api.py).

Where real nodes can run (realnode.unavailable_reason() is None: Linux, root, the packages),
the devcluster gets one, ``real-0``, and examples/real/ runs on it: a task whose container
really runs, so the printout ends with its ``kubectl logs`` and exit code. Elsewhere the demo
is kwok's simulation only, and its first line says why.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from ecs_operator.policy import ANNOTATION_POD_SECURITY_CEILING, PRIVILEGED
from ecs_operator.render.keys import LABEL_SERVICE
from ecs_operator.status.task import ecs_names

from . import demo_api
from .devcluster import binaries, images, processes, realnode
from .devcluster.cli import env_command
from .devcluster.cluster import (
    OPERATOR,
    OPERATOR_PORTS,
    DevCluster,
    default_state_dir,
    free_port,
)
from .devcluster.errors import DevclusterError
from .devcluster.network import HOST_IP
from .devcluster.nodeconfig import NodePaths

NAMESPACE = "ecs-demo"
KINDS = ("clusters", "taskdefinitions", "services", "tasks")
#: what runs on the real node when there is one (examples/real/hello-real.yaml): a service
#: whose output the printout shows, and a task whose container's exit code it shows
REAL_EXAMPLES = binaries.repo_root() / "examples" / "real"
REAL_SERVICE = "hello-real"
REAL_TASK = "exit-real"
#: the operator's task metadata endpoint's port, among those the demo keeps
TASK_METADATA = "task_metadata"
#: examples/ name busybox from a registry; on a real node that name is the locally built busybox
#: (examples/daemon-agent.yaml's DAEMON service runs on every EC2 node, real-0 among them)
EXAMPLES_BUSYBOX = "public.ecr.aws/docker/library/busybox:1.36"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--examples",
        type=Path,
        default=binaries.repo_root() / "examples",
        help="the manifests to apply (a file or a directory; default: the repository's examples/)",
    )
    parser.add_argument(
        "--namespace", default=NAMESPACE, help=f"where they run (default: {NAMESPACE})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for every service to be steady and every task started (default: 300)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="the devcluster's state directory, as for `ecs-operator devcluster` "
        f"(default: {default_state_dir()})",
    )


class Kubectl:
    def __init__(self, kubeconfig: Path, kubectl: Path) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.binary = str(kubectl)

    def __call__(self, *args: str) -> str:
        result = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise DevclusterError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def items(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = json.loads(self("get", kind, "-n", namespace, "-o", "json"))[
            "items"
        ]
        return listed


def _start_operator(cluster: DevCluster, ports: dict[str, int], real: bool) -> None:
    """The operator, serving the task metadata endpoint where tasks reach it: a real node's
    pods at the devcluster's host address (as they reach the API server), the host itself."""
    if any(p.name == OPERATOR and p.alive() for p in processes.tracked(cluster.state_dir)):
        return
    metadata = f"http://{HOST_IP if real else '127.0.0.1'}:{ports[TASK_METADATA]}"
    command = [
        sys.executable, "-m", "ecs_operator.cli", "run",
        "--metrics-port", str(ports["metrics"]), "--health-port", str(ports["health"]),
        "--task-metadata-port", str(ports[TASK_METADATA]), "--task-metadata-url", metadata,
    ]  # fmt: skip
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    processes.start(OPERATOR, command, cluster.state_dir)
    (cluster.state_dir / OPERATOR_PORTS).write_text(json.dumps(ports))


def metadata_line(kubectl: Kubectl, namespace: str, port: int) -> str:
    """How to read a service task's ECS task metadata, as its container does: one of the
    namespace's service pods' path (namespace, uid, its first container's ECS name)."""
    pods = [
        p
        for p in kubectl.items("pods", namespace)
        if (p["metadata"].get("labels") or {}).get(LABEL_SERVICE)
    ]
    if not pods:
        return "task metadata: no service task to read"
    container = next(iter(ecs_names(pods[0]).values()), "")
    path = f"/v4/{namespace}/{pods[0]['metadata']['uid']}/{container}/task"
    return f"task metadata (a task's ECS_CONTAINER_METADATA_URI_V4/task): curl -s http://127.0.0.1:{port}{path}"


def _wait_healthy(port: int, timeout: float, what: str = "the operator") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise DevclusterError(f"{what} did not become healthy; see its log in the devcluster state dir")


def _steady(kubectl: Kubectl, namespace: str) -> tuple[int, int, int, int]:
    services = kubectl.items("services.ecs-operator.dev", namespace)
    tasks = kubectl.items("tasks.ecs-operator.dev", namespace)
    ready = sum(
        1
        for s in services
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (s.get("status") or {}).get("conditions", [])
        )
    )
    done = sum(
        1 for t in tasks if (t.get("status") or {}).get("lastStatus") in ("RUNNING", "STOPPED")
    )
    return ready, len(services), done, len(tasks)


class Progress:
    """The waiting line. On a terminal it is rewritten in place; in a log (stderr not a TTY, as
    in CI) each change is a line of its own, so the log does not become one line of carriage
    returns, and ``done`` adds a summary."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = ""
        self.started = time.monotonic()

    def show(self, line: str) -> None:
        if line == self.last:
            return
        self.last = line
        if self.tty:
            print(f"\r{line}", end="", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def done(self, outcome: str) -> None:
        """End the line; in a log, say how it ended and how long it took."""
        if self.tty:
            print(file=self.stream)
        else:
            elapsed = time.monotonic() - self.started
            print(f"{outcome} after {elapsed:.0f}s: {self.last}", file=self.stream, flush=True)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """Columns as wide as their widest cell, like kubectl's output."""
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def ecs_view(kubectl: Kubectl, namespace: str) -> str:
    """What `aws ecs describe-services` / `describe-tasks` / `describe-clusters` would show."""
    services = []
    for svc in kubectl.items("services.ecs-operator.dev", namespace):
        st = svc.get("status") or {}
        event = (st.get("events") or [{}])[0].get("message", "")
        counts = [st.get(k, 0) for k in ("desiredCount", "runningCount", "pendingCount")]
        services.append([svc["spec"]["serviceName"], *counts, st.get("taskDefinition", ""), event])
    tasks = [
        [entry["taskId"], entry["lastStatus"], entry["desiredStatus"], entry.get("stopCode", "")]
        for task in kubectl.items("tasks.ecs-operator.dev", namespace)
        for entry in (task.get("status") or {}).get("tasks") or []
    ]
    keys = ("activeServicesCount", "runningTasksCount", "pendingTasksCount")
    clusters = [
        [
            (c.get("status") or {}).get("clusterName", c["metadata"]["name"]),
            *[(c.get("status") or {}).get(k, 0) for k in keys],
            (c.get("status") or {}).get("registeredContainerInstancesCount", 0),
        ]
        for c in kubectl.items("clusters.ecs-operator.dev", namespace)
    ]
    return "\n\n".join(
        [
            table(
                ["SERVICE", "DESIRED", "RUNNING", "PENDING", "TASK DEFINITION", "LAST EVENT"],
                services,
            ),
            table(["TASK", "LAST STATUS", "DESIRED", "STOP CODE"], tasks),
            table(["CLUSTER", "SERVICES", "RUNNING", "PENDING", "INSTANCES"], clusters),
        ]
    )


def containers_line(unavailable: str | None, real: bool) -> str:
    """The printout's first word on where the containers run."""
    if real:
        return (
            "containers: real ones on node real-0 for examples/real/ and the DAEMON example's"
            " pod there (busybox is the locally built localhost/busybox:stable); the rest on"
            " kwok's simulated nodes"
        )
    if unavailable is None:
        unavailable = "this devcluster was started without them (`make demo-down` first)"
    return f"containers: simulated by kwok (no real node: {unavailable})"


def real_view(kubectl: Kubectl, namespace: str) -> str:
    """The real service's output (``kubectl logs``) and the real task's exit code."""
    task = next(
        t for t in kubectl.items("tasks.ecs-operator.dev", namespace)
        if t["metadata"]["name"] == REAL_TASK
    )  # fmt: skip
    selector = f"ecs-operator.dev/service={REAL_SERVICE}"
    try:
        logs = kubectl("logs", "-n", namespace, "-l", selector)
    except DevclusterError as error:
        logs = f"(no logs: {error})"
    lines = [f"real containers on real-0: kubectl logs -n {namespace} -l {selector}"]
    lines += [f"    {line}" for line in logs.splitlines()]
    lines.append(f"  task {REAL_TASK}:")
    for entry in (task.get("status") or {}).get("tasks") or []:
        stop = f", {entry['stopCode']}" if entry.get("stopCode") else ""
        lines.append(f"    {entry['taskId']}: {entry['lastStatus']}{stop}")
        lines += [
            f"      container {c['name']}: exit code {c.get('exitCode', '-')}"
            for c in entry.get("containers") or []
        ]
    return "\n".join(lines)


def _alias_examples_busybox(cluster: DevCluster) -> None:
    """Tag the local busybox with the examples' busybox name in every real node's containerd:
    their pods there run it without a pull (a registry is not reachable, nor wanted)."""
    ctr = str(binaries.ensure_node(log=False)["ctr"])
    for name in realnode.node_names(cluster.state_dir):
        node = NodePaths(cluster.state_dir, int(name.rsplit("-", 1)[1]))
        tag = [ctr, f"--address={node.socket}", "--namespace=k8s.io", "images", "tag"]
        done = subprocess.run(
            [*tag, "--force", images.BUSYBOX, EXAMPLES_BUSYBOX], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise DevclusterError(f"tagging busybox on {name}: {done.stderr.strip()}")


def run(args: argparse.Namespace) -> int:
    unavailable = realnode.unavailable_reason()
    cluster = DevCluster(args.state_dir, real_nodes=0 if unavailable else 1)
    try:
        cluster.up(log=lambda line: print(line, file=sys.stderr))
        real = bool(cluster.state().get("real_nodes"))
        print(containers_line(unavailable, real), file=sys.stderr)
        if real:
            _alias_examples_busybox(cluster)
        bins = binaries.ensure_all(log=False)
        kubectl = Kubectl(cluster.kubeconfig, bins["kubectl"])
        crds = binaries.repo_root() / "crds"
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crds))
        kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crds))
        ports = _ports(cluster)
        _start_operator(cluster, ports, real)
        _wait_healthy(ports["health"], 60)
        subprocess.run(
            [kubectl.binary, "create", "namespace", args.namespace],
            env=kubectl.env,
            capture_output=True,
        )
        # The admin's call, made here for the demo's namespace only: its node agent
        # (examples/daemon-agent.yaml) reads the host's logs, which needs the privileged level.
        kubectl(
            "annotate", "--overwrite", "namespace", args.namespace,
            f"{ANNOTATION_POD_SECURITY_CEILING}={PRIVILEGED}",
        )  # fmt: skip
        kubectl("apply", "-n", args.namespace, "-f", str(args.examples))
        if real:
            kubectl("apply", "-n", args.namespace, "-f", str(REAL_EXAMPLES))
        api_port = demo_api.start_api(cluster.state_dir)
        key = demo_api.access_key(kubectl, args.namespace)
        _wait_healthy(api_port, 60, "the ECS API")
        deadline = time.monotonic() + args.timeout
        progress = Progress(sys.stderr)
        while True:
            ready, services, done, tasks = _steady(kubectl, args.namespace)
            progress.show(f"services steady {ready}/{services}   tasks started {done}/{tasks}")
            if ready == services and done == tasks:
                break
            if time.monotonic() > deadline:
                progress.done("gave up")
                raise DevclusterError("the examples did not reach a steady state in time")
            time.sleep(1)
        progress.done("steady")
        print(ecs_view(kubectl, args.namespace))
        if real:
            print("\n" + real_view(kubectl, args.namespace))
        described = kubectl.items("services.ecs-operator.dev", args.namespace)
        print("\n" + demo_api.usage(api_port, key, described))
        print("\n" + metadata_line(kubectl, args.namespace, ports[TASK_METADATA]))
        print(
            f"\nmetrics: curl -s http://127.0.0.1:{ports['metrics']}/metrics | grep ecs_operator_"
            f"\nlook:    eval $({env_command(cluster, args.state_dir)}); "
            f"kubectl get ecs -n {args.namespace}"
            "\nstop:    make demo-down"
        )
    except DevclusterError as error:
        print(f"ecs-operator demo: {error}", file=sys.stderr)
        return 1
    return 0


def _ports(cluster: DevCluster) -> dict[str, int]:
    kept = cluster.operator_ports() or {}
    return {name: kept.get(name) or free_port() for name in ("metrics", "health", TASK_METADATA)}
