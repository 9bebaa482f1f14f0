"""The cluster network of a devcluster with real nodes: kube-proxy and CoreDNS as host
processes, so pods reach ClusterIP Services (the API server's ``kubernetes`` Service among
them) and resolve Service names the way they do in any cluster.

- The API server and CoreDNS listen on :data:`HOST_IP`, a private address this module puts on
  the loopback interface while the network is up (netconfig.py says why that address).
- kube-proxy (iptables mode, the kube module's build) programs the Services; it runs as the
  user ``system:kube-proxy``, which Kubernetes' default RBAC already binds.
- CoreDNS (devcluster/coredns, a few plugins) serves ``cluster.local`` from the API server
  as ``system:coredns``; the ``kube-system/kube-dns`` Service at :data:`CLUSTER_DNS_IP` points
  at it through an EndpointSlice this module writes, and kube-proxy carries the packets.

``stop`` undoes all of it exactly: the processes, kube-proxy's chains (its own ``--cleanup``),
the address; ``leftovers`` lists whatever of it is still on the host.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import binaries, hostclaim, pki, processes
from .errors import DevclusterError
from .netconfig import (
    CLUSTER_CIDR,
    CLUSTER_DNS_IP,
    CLUSTER_DOMAIN,
    COREDNS_USER,
    HOST_IP,
    coredns_rbac,
    corefile,
    dns_endpoint_slice,
    dns_service,
    kube_proxy_config,
    proxy_chains,
)

if TYPE_CHECKING:
    from .cluster import DevCluster

__all__ = [
    "CLUSTER_CIDR",
    "CLUSTER_DNS_IP",
    "CLUSTER_DOMAIN",
    "COREDNS",
    "HOST_IP",
    "KUBE_PROXY",
    "add_host_address",
    "apiserver_flags",
    "leftovers",
    "start",
    "stop",
    "sweep",
    "wait_ready",
]

KUBE_PROXY = "kube-proxy"
COREDNS = "coredns"
#: What ``start`` started, in the state directory, for a ``stop`` from another process.
STATE = "network.json"
_LOOPBACK = "lo"


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _host_address_present() -> bool:
    shown = _run("ip", "-o", "-4", "addr", "show", "dev", _LOOPBACK).stdout
    return f" {HOST_IP}/32 " in shown


def add_host_address() -> None:
    """Put :data:`HOST_IP` on the loopback interface (before the API server binds it)."""
    result = _run("ip", "addr", "replace", f"{HOST_IP}/32", "dev", _LOOPBACK)
    if result.returncode != 0:
        raise DevclusterError(f"cannot add {HOST_IP} to {_LOOPBACK}: {result.stderr.strip()}")


def _remove_host_address() -> None:
    if _host_address_present():
        _run("ip", "addr", "del", f"{HOST_IP}/32", "dev", _LOOPBACK)


def apiserver_flags() -> list[str]:
    """The API server's flags with real nodes (after the defaults, so they win): it listens and
    advertises on :data:`HOST_IP`, and keeps the ``kubernetes`` Service's endpoint (that
    address) itself, so kube-proxy routes ``kubernetes.default.svc`` to it."""
    return [
        f"--bind-address={HOST_IP}",
        f"--advertise-address={HOST_IP}",
        "--endpoint-reconciler-type=lease",
    ]


def _kubeconfig(cluster: DevCluster, name: str, user: str) -> Path:
    """A kubeconfig for ``user`` (a client certificate of the devcluster's CA)."""
    certs = cluster.certs
    client = pki.issue_client(certs, name, user)
    return pki.write_kubeconfig(
        certs, cluster.server(), cluster.state_dir / f"{name}.kubeconfig", client=client
    )


def start(cluster: DevCluster, node_name: str, timeout: float = 120.0) -> None:
    """Start CoreDNS and kube-proxy and wire ``kube-dns`` to CoreDNS; wait for CoreDNS only.

    kube-proxy waits (up to 30 s) for its Node, ``node_name``, the first real node that the
    caller starts next: :func:`wait_ready` after the nodes waits for its first sync.
    """
    bins = {**binaries.ensure_network(), KUBE_PROXY: binaries.ensure_node()[KUBE_PROXY]}
    names = ("dns", "dns_ready", "proxy_healthz", "proxy_metrics")
    ports = {name: processes.free_port() for name in names}
    directory = cluster.state_dir / "network"
    directory.mkdir(exist_ok=True)
    (cluster.state_dir / STATE).write_text(
        json.dumps({"ports": ports, "binaries": {k: str(v) for k, v in bins.items()}}, indent=2)
    )
    _apply(cluster, [*coredns_rbac(), dns_service(), dns_endpoint_slice(ports["dns"])])

    coredns_file = directory / "Corefile"
    coredns_file.write_text(
        corefile(ports["dns"], ports["dns_ready"], _kubeconfig(cluster, COREDNS, COREDNS_USER))
    )
    processes.start(COREDNS, [str(bins[COREDNS]), "-conf", str(coredns_file)], cluster.state_dir)

    proxy_file = directory / "kube-proxy.yaml"
    proxy_kubeconfig = _kubeconfig(cluster, KUBE_PROXY, "system:kube-proxy")
    proxy_file.write_text(
        yaml.safe_dump(
            kube_proxy_config(
                proxy_kubeconfig, node_name, ports["proxy_healthz"], ports["proxy_metrics"]
            )
        )
    )
    processes.start(
        KUBE_PROXY, [str(bins[KUBE_PROXY]), f"--config={proxy_file}"], cluster.state_dir
    )
    ready = f"http://127.0.0.1:{ports['dns_ready']}/ready"
    cluster._wait(lambda: _http_ok(ready), timeout, "CoreDNS /ready", COREDNS)


def wait_ready(cluster: DevCluster, timeout: float = 60.0) -> None:
    """Wait until kube-proxy has found its node and programmed the Services."""
    port = _state(cluster.state_dir)["ports"]["proxy_healthz"]
    healthz = f"http://127.0.0.1:{port}/healthz"
    cluster._wait(lambda: _http_ok(healthz), timeout, "kube-proxy /healthz", KUBE_PROXY)


def stop(state_dir: Path) -> list[str]:
    """Stop the CoreDNS and kube-proxy of the devcluster in ``state_dir``, then :func:`sweep`
    the host unless another devcluster holds it now (this one was dead and taken over: the
    chains and the address are the new holder's). Returns the processes that were running."""
    stopped = []
    for process in processes.tracked(state_dir):
        if process.name in (KUBE_PROXY, COREDNS):
            if process.alive():
                stopped.append(process.name)
            processes.stop(process)
    owner = hostclaim.holder()
    if owner is None or owner["state_dir"] == str(state_dir) or hostclaim.is_stale(owner):
        recorded = _state(state_dir).get("binaries", {}).get(KUBE_PROXY)
        sweep(Path(recorded) if recorded else None)
    return stopped


def sweep(kube_proxy: Path | None = None) -> None:
    """Remove a cluster network's host state: kube-proxy's chains (its own ``--cleanup``) and
    the host address. Only for the devcluster that holds the host, or before one claims it."""
    kube_proxy = kube_proxy or _cached_kube_proxy()
    if kube_proxy.exists():
        _run(str(kube_proxy), "--cleanup")
    _remove_host_address()


def _cached_kube_proxy() -> Path:
    """Where ``ensure_node`` keeps kube-proxy (built or not)."""
    module = next(m for m in binaries.NODE_MODULES if KUBE_PROXY in m.binaries)
    return binaries.cache_dir(module) / KUBE_PROXY


def leftovers() -> list[str]:
    """What of a cluster network is on this host: kube-proxy's iptables chains (IPv4 and
    IPv6), the host address, kube-proxy and CoreDNS processes. Empty after ``stop``."""
    found = []
    for save in ("iptables-save", "ip6tables-save"):
        result = _run(save)
        found += [f"{save}: {chain}" for chain in proxy_chains(result.stdout)]
    if _host_address_present():
        found.append(f"address {HOST_IP} on {_LOOPBACK}")
    for name in (KUBE_PROXY, COREDNS):
        pids = _run("pgrep", "-x", name).stdout.split()
        found += [f"process {name} ({pid})" for pid in pids]
    return found


def _state(state_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((state_dir / STATE).read_text())
    except (OSError, ValueError):
        return {}
    return data


def _apply(cluster: DevCluster, manifests: list[dict[str, Any]]) -> None:
    """Create the network's API objects (the state directory's cluster is fresh: none exist)."""
    api_client, client = cluster.api()
    creators: dict[str, Callable[[dict[str, Any]], object]] = {
        "ClusterRole": client.RbacAuthorizationV1Api(api_client).create_cluster_role,
        "ClusterRoleBinding": client.RbacAuthorizationV1Api(api_client).create_cluster_role_binding,
        "Service": lambda body: client.CoreV1Api(api_client).create_namespaced_service(
            body["metadata"]["namespace"], body
        ),
        "EndpointSlice": lambda body: client.DiscoveryV1Api(
            api_client
        ).create_namespaced_endpoint_slice(body["metadata"]["namespace"], body),
    }
    for manifest in manifests:
        creators[manifest["kind"]](manifest)


def _http_ok(url: str) -> bool:
    from .cluster import _http_ok as http_ok

    return http_ok(url)
