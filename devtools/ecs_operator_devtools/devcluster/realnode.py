"""Real nodes in the devcluster: a containerd and a kubelet per node, so pods really run.

Node ``real-<i>`` runs its own containerd (private root, state and sockets, Debian's runc on
cgroupfs, a CNI bridge on 10.85.<i>.0/24) and its own kubelet (a client certificate of the
devcluster's CA as ``system:node:real-<i>``, its own cgroup root), labelled as a node of the
EC2 node pool ``real`` (nodeconfig.py). The task images (images.py) are imported into every
node when it starts, so nothing is ever pulled.

Real nodes need root and Linux; :func:`unavailable_reason` says in one line why they cannot
run here. One real-node devcluster runs per host at a time (hostclaim.py); :func:`stop` tears
a node down exactly (hostclean.py) and :func:`leftovers` lists what is still on the host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import binaries, hostclaim, hostclean, images, network, nodeconfig, pki, processes
from .errors import DevclusterError
from .nodeconfig import NodePaths

if TYPE_CHECKING:
    from .cluster import DevCluster

#: What real nodes need from Debian packages (the Makefile's `packages` installs them).
_NEEDED = {
    nodeconfig.RUNC: "runc",
    f"{nodeconfig.CNI_BIN_DIR}/bridge": "containernetworking-plugins",
    f"{nodeconfig.CNI_BIN_DIR}/host-local": "containernetworking-plugins",
    f"{nodeconfig.CNI_BIN_DIR}/portmap": "containernetworking-plugins",
    str(images.BUSYBOX_BINARY): "busybox-static",
}
#: the API server's client certificate towards the kubelets (logs, exec, port-forward)
KUBELET_CLIENT = "apiserver-kubelet-client"
IMPORTED = "images.json"
#: How long ``up`` waits for another real-node devcluster to go down (a test session's run)
CLAIM_WAIT = 300.0


def leftovers() -> list[str]:
    """Everything of real nodes and their cluster network still on the host (empty after
    ``down``)."""
    return [*hostclean.leftovers(), *network.leftovers()]


def unavailable_reason() -> str | None:
    """Why real nodes cannot run on this machine, in one line; None when they can."""
    if sys.platform != "linux":
        return f"real nodes need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "real nodes need root (kubelet and containerd manage mounts, cgroups, iptables)"
    missing = sorted({pkg for path, pkg in _NEEDED.items() if not os.access(path, os.X_OK)})
    missing += [tool for tool in ("iptables", "ip", "gcc", "umount") if not shutil.which(tool)]
    if missing:
        return f"real nodes need {', '.join(missing)}: run `make packages`"
    if host_ip() is None:
        return "real nodes need a default route (kubelet's node address is its source address)"
    return None


def host_ip() -> str | None:
    """The host's address on its default route: the nodes' InternalIP."""
    result = subprocess.run(
        ["ip", "-4", "-o", "route", "get", "1.1.1.1"], capture_output=True, text=True
    )
    words = result.stdout.split()
    return words[words.index("src") + 1] if "src" in words else None


def node_names(state_dir: Path) -> list[str]:
    directory = state_dir / nodeconfig.NODES_DIR
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def _nodes(state_dir: Path) -> list[NodePaths]:
    return [NodePaths(state_dir, int(name.split("-")[1])) for name in node_names(state_dir)]


def claim_host(cluster: DevCluster, log: Callable[[str], None]) -> None:
    """Claim the host for ``cluster`` (hostclaim.py) and sweep what a dead one left."""
    taken = hostclaim.claim(cluster.state_dir, CLAIM_WAIT, log)
    left = leftovers()
    if taken is not None or left:
        log(f"real nodes: removing {len(left)} leftovers of an earlier devcluster")
        if taken is not None:
            network.stop(Path(taken["state_dir"]))
        network.sweep()
        sweep(_nodes(Path(taken["state_dir"])) if taken else [])


def apiserver_flags(cluster: DevCluster) -> list[str]:
    """What the API server needs to reach kubelets: their InternalIP (``real-0`` resolves
    nowhere) and a client certificate for logs, exec and port-forward."""
    cert, key = pki.issue_client(cluster.certs, KUBELET_CLIENT, "kube-apiserver-kubelet-client")
    return [
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        f"--kubelet-client-certificate={cert}",
        f"--kubelet-client-key={key}",
    ]


def build() -> tuple[dict[str, Path], list[Path]]:
    """The nodes' binaries and task images, and the cluster network's CoreDNS, built on first
    use (before ``up`` starts anything, so that a first build's minutes are not spent with a
    control plane waiting)."""
    binaries.ensure_network()
    return binaries.ensure_node(), images.task_images()


def start(cluster: DevCluster, count: int, timeout: float, log: Callable[[str], None]) -> None:
    """Start nodes real-0 .. real-<count-1> and wait until they are Ready."""
    bins, archives = build()
    node_ip = host_ip() or "127.0.0.1"
    started = time.monotonic()
    nodes = [NodePaths(cluster.state_dir, i) for i in range(count)]
    hostclean.save_sysctls()
    for node in nodes:
        _start_node(cluster, node, bins, archives, node_ip, timeout)
    api_client, client = cluster.api()
    core = client.CoreV1Api(api_client)
    for node in nodes:
        cluster._wait(
            partial(_ready, core, node.name),
            timeout,
            f"node {node.name} to become Ready",
            f"kubelet-{node.name}",
        )
    log(f"real nodes {', '.join(n.name for n in nodes)} Ready in {time.monotonic() - started:.1f}s")


def _ready(core: Any, name: str) -> bool:
    conditions = core.read_node(name).status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _start_node(
    cluster: DevCluster,
    node: NodePaths,
    bins: dict[str, Path],
    archives: list[Path],
    node_ip: str,
    timeout: float,
) -> None:
    for sub in ("cni/net.d", "cni/ipam", "kubelet", "kubelet-pki", "pod-logs", "volume-plugins"):
        node.path(sub).mkdir(parents=True, exist_ok=True)
    node.run.mkdir(parents=True, exist_ok=True)
    config = nodeconfig.containerd_config(node, bins["containerd-shim-runc-v2"])
    node.path("containerd.toml").write_text(nodeconfig.render_toml(config) + "\n")
    conflist = nodeconfig.cni_conflist(node)
    node.path("cni/net.d/10-bridge.conflist").write_text(json.dumps(conflist, indent=2))
    certs = cluster.certs
    client = pki.issue_client(
        certs, f"node-{node.name}", f"system:node:{node.name}", "system:nodes"
    )
    pki.write_kubeconfig(certs, cluster.server(), node.path("kubelet.kubeconfig"), client=client)
    ports = [processes.free_port() for _ in range(2)]
    kubelet = nodeconfig.kubelet_config(node, node_ip, ports[0], ports[1], certs.ca_cert)
    node.path("kubelet-config.yaml").write_text(yaml.safe_dump(kubelet, sort_keys=False))
    hostclean.make_cgroups(node.cgroup_root)

    containerd = f"containerd-{node.name}"
    command = [str(bins["containerd"]), f"--config={node.path('containerd.toml')}"]
    shims = bins["containerd-shim-runc-v2"].parent
    processes.start(containerd, command, cluster.state_dir, path_first=shims)
    cluster._wait(node.socket.exists, timeout, f"{containerd}'s socket", containerd)
    for archive in archives:
        import_image(node, bins["ctr"], archive)
    labels = nodeconfig.node_labels(node.name, images.host_arch(), node.index)
    command = nodeconfig.kubelet_command(bins["kubelet"], node, node_ip, labels)
    processes.start(f"kubelet-{node.name}", command, cluster.state_dir)


def import_image(node: NodePaths, ctr: Path, archive: Path) -> bool:
    """Import a docker-archive into the node's containerd (namespace k8s.io, unpacked for
    overlayfs); False when this image (by its config's digest) is there already."""
    names, image_id = images.archive_identity(archive)
    record_file = node.path(IMPORTED)
    imported = json.loads(record_file.read_text()) if record_file.exists() else {}
    if names and all(imported.get(name) == image_id for name in names):
        return False
    result = subprocess.run(
        [
            str(ctr),
            f"--address={node.socket}",
            "--namespace=k8s.io",
            "images",
            "import",
            str(archive),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DevclusterError(
            f"importing {archive} into {node.name} failed: {result.stderr[-2000:]}"
        )
    imported.update(dict.fromkeys(names, image_id))
    record_file.write_text(json.dumps(imported, indent=2))
    return True


def import_everywhere(state_dir: Path, archive: Path) -> None:
    ctr = binaries.ensure_node(log=False)["ctr"]
    for node in _nodes(state_dir):
        import_image(node, ctr, archive)


def stop(state_dir: Path) -> list[str]:
    """Stop the real nodes of the devcluster in ``state_dir`` and remove all they left on the
    host; returns the processes that were running (their pid files are processes.stop_all's)."""
    nodes = _nodes(state_dir)
    owner = hostclaim.holder()
    ours = owner is not None and owner["state_dir"] == str(state_dir)
    if not nodes and not ours:
        return []  # a kwok-only devcluster (any user may stop it)
    tracked = {p.name: p for p in processes.tracked(state_dir)}
    stopped: list[str] = []
    if owner is not None and not ours and not hostclaim.is_stale(owner):
        # another devcluster took the host over (ours was dead, and swept): the cgroups,
        # sockets and links of the names real-<i> are its own now
        nodes = []
    for node in nodes:  # kubelets first: nothing restarts what the sweep stops
        kubelet = tracked.get(f"kubelet-{node.name}")
        if kubelet is not None and kubelet.alive():
            processes.stop(kubelet)
            stopped.append(kubelet.name)
    for node in nodes:
        hostclean.kill_cgroup(node.cgroup_root)
        hostclean.kill_shims(node.socket)
        containerd = tracked.get(f"containerd-{node.name}")
        if containerd is not None and containerd.alive():
            processes.stop(containerd)
            stopped.append(containerd.name)
    if nodes:
        sweep(nodes)
    if ours:
        hostclaim.release(state_dir)
    return stopped


def sweep(nodes: list[NodePaths]) -> None:
    """Remove all real nodes' state from the host (the caller holds it: see hostclaim): their
    pods and shims, mounts, links, iptables rules and chains, cgroups, fixed paths, kernel
    settings, and the big directories of ``nodes``."""
    hostclean.kill_cgroup()
    hostclean.kill_shims()
    hostclean.unmount_all()
    for name in hostclean.our_links():
        hostclean.delete_link(name)
    hostclean.clean_iptables()
    hostclean.remove_cgroups()
    for node in nodes:
        for sub in ("containerd", "kubelet"):
            hostclean.remove_tree(node.path(sub))
    hostclean.restore_sysctls()
    hostclean.remove_paths()
