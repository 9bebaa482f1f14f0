"""The devcluster's simulated fleet: kwok, and the EC2 node-pool and Fargate nodes of
``ecs_operator.nodes.default_fleet`` registered as Node objects whose kubelets kwok plays
(its stages, ``stages.yaml``, say how their pods run). Started once the control plane is up;
ready when every node is Ready and untainted, and when it is not, the wait says which node and
why."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecs_operator import nodes

from . import processes

if TYPE_CHECKING:
    from .cluster import DevCluster

POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.240.0.1"


def start(cluster: DevCluster, kwok: Path, port: int, timeout: float) -> None:
    """Start kwok (its server on ``port``), register the fleet's nodes and wait for kwok to
    make them Ready."""
    stages = cluster.state_dir / "kwok-stages.yaml"
    stages.write_text(resources.files(__package__).joinpath("stages.yaml").read_text())
    command = [
        str(kwok),
        f"--kubeconfig={cluster.kubeconfig}",
        f"--config={stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={nodes.ANNOTATION_KWOK_NODE}={nodes.KWOK_FAKE}",
        "--node-lease-duration-seconds=40",
        f"--cidr={POD_CIDR}",
        f"--node-ip={NODE_IP}",
        f"--server-address=127.0.0.1:{port}",
    ]
    processes.start("kwok", command, cluster.state_dir)
    api_client, client = cluster.api()
    core = client.CoreV1Api(api_client)
    for node in nodes.default_fleet():
        core.create_node(node.manifest())
    cluster._wait(
        lambda: not problems(core),
        timeout,
        "the node fleet to become Ready",
        "kwok",
        explain=lambda: _explain(core),
    )


def problems(core: Any) -> list[str]:
    """Why each node of the fleet is not Ready yet: missing, its Ready condition, or a
    ``node.kubernetes.io/`` taint the node lifecycle controller has not lifted."""
    listed = {n.metadata.name: n for n in core.list_node().items}
    found = []
    for wanted in nodes.default_fleet():
        node = listed.get(wanted.name)
        if node is None:
            found.append(f"{wanted.name}: not registered")
            continue
        ready = next((c for c in node.status.conditions or [] if c.type == "Ready"), None)
        taints = [
            f"{t.key}:{t.effect}"
            for t in node.spec.taints or []
            if t.key.startswith("node.kubernetes.io/")
        ]
        if ready is None or ready.status != "True":
            state = f"Ready={ready.status} ({ready.reason})" if ready else "no Ready condition"
            found.append(f"{wanted.name}: {state}")
        elif taints:
            found.append(f"{wanted.name}: tainted {', '.join(taints)}")
    return found


def _explain(core: Any) -> str:
    try:
        return "; ".join(problems(core)) or "every node Ready"
    except Exception as error:  # the API server itself may be what is wrong
        return f"the nodes could not be listed ({error})"
