"""What the devcluster's cluster network is made of, as data: CoreDNS's Corefile, kube-proxy's
configuration, and the API objects that wire them into the cluster (the ``kube-dns`` Service
and the EndpointSlice that points it at CoreDNS, and the RBAC CoreDNS reads with).

Pure functions of addresses, ports and paths; network.py starts the processes and applies
the objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The host's address on the cluster network: the API server and CoreDNS listen on it, and the
#: ``kubernetes`` and ``kube-dns`` Services' endpoints point at it. A private address added to
#: the loopback interface while real nodes run: pods reach it through their bridge's gateway
#: like any address of the host, but it is not on any network the host is attached to, so a
#: laptop does not offer the API server or an open DNS forwarder to the café's Wi-Fi (as
#: binding the host's primary address would). Outside the pod, service and kwok ranges.
HOST_IP = "10.95.255.254"
#: The pod network of the real nodes (node ``real-i`` uses 10.85.i.0/24): kube-proxy treats
#: traffic from it as the cluster's own and masquerades the rest.
CLUSTER_CIDR = "10.85.0.0/16"
#: The ``kube-dns`` Service's ClusterIP: the kubelet's clusterDNS.
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
#: CoreDNS's user to the API server, and the names of the RBAC objects that let it read.
COREDNS_USER = "system:coredns"
COREDNS_RBAC = "ecs-devcluster:coredns"
#: The field manager and ``managed-by`` label of the kube-dns EndpointSlice: the
#: EndpointSlice controller leaves slices of other managers alone.
MANAGER = "devcluster.ecs-operator.dev"
DNS_PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))
#: The iptables chains kube-proxy makes, by table (iptables/cleanup.go in kube-proxy), and the
#: prefixes of its per-Service and per-endpoint chains; kubelet's KUBE-FIREWALL and
#: KUBE-KUBELET-CANARY are the node's, not the network's.
PROXY_CHAINS = {
    "nat": ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"),
    "filter": (
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FORWARD",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-FIREWALL",
    ),
}
PROXY_CHAIN_PREFIXES = (
    "KUBE-PROXY-CANARY",
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-EXT-",
    "KUBE-FW-",
    "KUBE-SEP-",
)


def corefile(dns_port: int, ready_port: int, kubeconfig: Path) -> str:
    """CoreDNS on ``HOST_IP:dns_port``: cluster names from the API server, everything else
    forwarded to the host's resolvers (CoreDNS runs on the host, so those are reachable)."""
    return f""".:{dns_port} {{
    bind {HOST_IP}
    ready 127.0.0.1:{ready_port}
    errors
    cache 30
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    forward . /etc/resolv.conf
}}
"""


def kube_proxy_config(
    kubeconfig: Path, node_name: str, healthz_port: int, metrics_port: int
) -> dict[str, Any]:
    """kube-proxy in iptables mode for the real nodes of this host. It leaves the host's
    sysctls alone (conntrack sizes and timeouts, route_localnet, its own oom_score_adj, which
    needs a capability the machine may lack), and offers NodePorts on ``HOST_IP`` only."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": node_name,
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "detectLocalMode": "ClusterCIDR",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "nodePortAddresses": [f"{HOST_IP}/32"],
        "iptables": {"localhostNodePorts": False, "syncPeriod": "30s", "minSyncPeriod": "0s"},
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "oomScoreAdj": 0,
    }


def dns_service() -> dict[str, Any]:
    """``kube-system/kube-dns`` without a selector: its endpoints are CoreDNS on the host."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "clusterIP": CLUSTER_DNS_IP,
            "ports": [
                {"name": name, "port": 53, "protocol": protocol} for name, protocol in DNS_PORTS
            ],
        },
    }


def dns_endpoint_slice(dns_port: int) -> dict[str, Any]:
    """The ``kube-dns`` Service's one endpoint: CoreDNS at ``HOST_IP:dns_port``."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-coredns",
            "namespace": "kube-system",
            "labels": {
                "kubernetes.io/service-name": "kube-dns",
                "endpointslice.kubernetes.io/managed-by": MANAGER,
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [HOST_IP], "conditions": {"ready": True}}],
        "ports": [
            {"name": name, "port": dns_port, "protocol": protocol} for name, protocol in DNS_PORTS
        ],
    }


def coredns_rbac() -> list[dict[str, Any]]:
    """What CoreDNS's kubernetes plugin reads (as upstream's deployment grants it)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": COREDNS_RBAC},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["endpoints", "services", "pods", "namespaces"],
                "verbs": ["list", "watch"],
            },
            {
                "apiGroups": ["discovery.k8s.io"],
                "resources": ["endpointslices"],
                "verbs": ["list", "watch"],
            },
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": COREDNS_RBAC},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": COREDNS_RBAC,
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": COREDNS_USER}
        ],
    }
    return [role, binding]


def proxy_chains(iptables_save: str) -> list[str]:
    """kube-proxy's chains in an ``iptables-save`` dump, as ``table/chain``."""
    found, table = [], ""
    for line in iptables_save.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            chain = line[1:].split()[0]
            if chain in PROXY_CHAINS.get(table, ()) or chain.startswith(PROXY_CHAIN_PREFIXES):
                found.append(f"{table}/{chain}")
    return found
