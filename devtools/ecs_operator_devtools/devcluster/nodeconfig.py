"""What a real node is made of, as data: its paths, and the containerd, CNI and kubelet
configurations rendered from them (pure; realnode.py writes and starts them).

Everything a node writes lives in its own directory of the devcluster's state directory,
except the sockets, which live under ``/run`` (a unix socket path may not exceed 107 bytes,
and containerd names shim sockets with 64 hex digits), and the few fixed host paths kubelet
and CNI write whatever they are told (hostclean.FIXED_PATHS).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecs_operator import nodes

from . import network

#: The EC2 node pool (capacity provider) the real nodes form, with the kwok pools' label set.
POOL = "real"
INSTANCE_TYPE = {"amd64": "m5.xlarge", "arm64": "m6g.xlarge"}
#: Markers by which teardown and ``leftovers`` recognise what real nodes put on the host.
RUN_ROOT = Path("/run/ecs-operator-real")
CGROUP_PARENT = "ecs-operator-real"
BRIDGE_PREFIX = "ecsreal"
NETWORK_PREFIX = "ecs-real-"
NODES_DIR = "realnodes"
MAX_PODS = 20
RUNC = "/usr/sbin/runc"
CNI_BIN_DIR = "/usr/lib/cni"


@dataclass(frozen=True)
class NodePaths:
    """Node ``real-<index>`` of the devcluster in ``state_dir``: its names and paths."""

    state_dir: Path
    index: int

    @property
    def name(self) -> str:
        return f"real-{self.index}"

    @property
    def directory(self) -> Path:
        return self.state_dir / NODES_DIR / self.name

    @property
    def run(self) -> Path:
        return RUN_ROOT / self.name

    @property
    def socket(self) -> Path:
        return self.run / "containerd.sock"

    @property
    def bridge(self) -> str:
        return f"{BRIDGE_PREFIX}{self.index}"

    @property
    def network(self) -> str:
        return f"{NETWORK_PREFIX}{self.index}"

    @property
    def subnet(self) -> str:
        return f"10.85.{self.index}.0/24"

    @property
    def cgroup_root(self) -> str:
        return f"/{CGROUP_PARENT}/{self.name}"

    def path(self, name: str) -> Path:
        """A file or directory of the node's own (``containerd.toml``, ``kubelet`` ...)."""
        return self.directory / name


def node_labels(name: str, arch: str, zone_index: int) -> dict[str, str]:
    """The labels of node ``name`` of pool ``real``: the kwok EC2 pools' set (nodes.ec2_node)."""
    zone = nodes.ZONES[zone_index % len(nodes.ZONES)]
    return nodes.ec2_node(name, POOL, zone, INSTANCE_TYPE.get(arch, "m5.xlarge")).labels


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f"'{key}'"


def render_toml(table: dict[str, Any], prefix: str = "") -> str:
    """A nested dict as TOML (the little of it containerd's config needs): a table's scalars,
    then a ``[section]`` per nested table."""
    lines = [
        f"{_toml_key(key)} = {_toml(value)}"
        for key, value in table.items()
        if not isinstance(value, dict)
    ]
    for key, value in table.items():
        if isinstance(value, dict):
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            lines += ["", f"[{name}]"]
            body = render_toml(value, name)
            if body:
                lines.append(body)
    return "\n".join(lines)


def containerd_config(node: NodePaths, shim: Path) -> dict[str, Any]:
    """containerd's config (version 3) for a node: private root, state and sockets; the CRI
    with Debian's runc on cgroupfs, the node's CNI network, the pinned local pause image."""
    runtime = "io.containerd.cri.v1.runtime"
    return {
        "version": 3,
        "root": str(node.path("containerd/root")),
        "state": str(node.path("containerd/state")),
        # the NRI socket and /opt/containerd are fixed host paths: neither is used here
        "disabled_plugins": ["io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt"],
        "grpc": {"address": str(node.socket)},
        "ttrpc": {"address": f"{node.socket}.ttrpc"},
        "plugins": {
            "io.containerd.cri.v1.images": {
                "snapshotter": "overlayfs",
                "pinned_images": {"sandbox": "localhost/pause:3.10"},
            },
            runtime: {
                # pod network namespaces under the node's state, not /run/netns
                "netns_mounts_under_state_dir": True,
                # without CAP_SYS_RESOURCE (containers, CI) the sandbox's oom_score_adj of
                # -998 makes every runc create fail: clamp it to containerd's own
                "restrict_oom_score_adj": True,
                "enable_cdi": False,
                "containerd": {
                    "default_runtime_name": "runc",
                    "runtimes": {
                        "runc": {
                            "runtime_type": "io.containerd.runc.v2",
                            "runtime_path": str(shim),
                            "options": {
                                "BinaryName": RUNC,
                                "SystemdCgroup": False,
                                "Root": str(node.run / "runc"),
                            },
                        }
                    },
                },
                "cni": {
                    "bin_dirs": [CNI_BIN_DIR],
                    "conf_dir": str(node.path("cni/net.d")),
                    "max_conf_num": 1,
                },
            },
            "io.containerd.shim.v1.manager": {"socket_dir": str(node.run / "s")},
        },
    }


def cni_conflist(node: NodePaths) -> dict[str, Any]:
    """The node's pod network: a bridge with host-local addresses in 10.85.<index>.0/24."""
    return {
        "cniVersion": "1.0.0",
        "name": node.network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": node.bridge,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": node.subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node.path("cni/ipam")),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(
    node: NodePaths, address: str, port: int, healthz_port: int, client_ca: Path
) -> dict[str, Any]:
    """The KubeletConfiguration: cgroupfs under the node's own cgroup root (cgroups v1 too),
    the node's containerd, private dirs, API server clients checked against the devcluster CA."""
    endpoint = f"unix://{node.socket}"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": endpoint,
        "imageServiceEndpoint": endpoint,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(client_ca)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "address": address,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "maxPods": MAX_PODS,
        "clusterDNS": [network.CLUSTER_DNS_IP],
        "clusterDomain": network.CLUSTER_DOMAIN,
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(node.path("pod-logs")),
        "volumePluginDir": str(node.path("volume-plugins")),
        "serializeImagePulls": False,
        "registerNode": True,
        # a shared development machine's disk is often fuller than a node's would be
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
    }


def kubelet_command(
    kubelet: Path, node: NodePaths, node_ip: str, labels: dict[str, str]
) -> list[str]:
    return [
        str(kubelet),
        f"--config={node.path('kubelet-config.yaml')}",
        f"--kubeconfig={node.path('kubelet.kubeconfig')}",
        f"--root-dir={node.path('kubelet')}",
        f"--cert-dir={node.path('kubelet-pki')}",
        f"--hostname-override={node.name}",
        f"--node-ip={node_ip}",
        "--node-labels=" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "--v=2",
    ]
