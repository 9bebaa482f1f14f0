"""The cluster network's pieces that need no cluster: the Corefile, kube-proxy's configuration,
the kube-dns Service and EndpointSlice, the RBAC CoreDNS reads with, the client certificates,
and how teardown recognises kube-proxy's chains."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ecs_operator_devtools.devcluster import netconfig, network, pki


def test_corefile_serves_the_cluster_domain_on_the_host_address_and_forwards_the_rest() -> None:
    text = netconfig.corefile(1053, 8181, Path("/state/coredns.kubeconfig"))
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == ".:1053 {"
    assert f"bind {network.HOST_IP}" in lines
    assert "ready 127.0.0.1:8181" in lines
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa {" in lines
    assert "kubeconfig /state/coredns.kubeconfig" in lines
    assert "forward . /etc/resolv.conf" in lines
    assert text.count("{") == text.count("}")


def test_kube_proxy_runs_iptables_for_the_pod_network_and_leaves_host_sysctls_alone() -> None:
    config = netconfig.kube_proxy_config(Path("/k"), "real-0", 10256, 10249)
    assert config["kind"] == "KubeProxyConfiguration"
    assert (config["mode"], config["clusterCIDR"]) == ("iptables", "10.85.0.0/16")
    assert config["hostnameOverride"] == "real-0"
    assert config["clientConnection"]["kubeconfig"] == "/k"
    assert config["healthzBindAddress"] == "127.0.0.1:10256"
    assert config["metricsBindAddress"] == "127.0.0.1:10249"
    # no NodePort on the host's real addresses, no route_localnet, no conntrack sysctls
    assert config["nodePortAddresses"] == [f"{network.HOST_IP}/32"]
    assert config["iptables"]["localhostNodePorts"] is False
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["oomScoreAdj"] == 0


def test_kube_dns_is_the_cluster_dns_ip_and_its_slice_points_at_coredns() -> None:
    service = netconfig.dns_service()
    assert (service["metadata"]["namespace"], service["metadata"]["name"]) == (
        "kube-system",
        "kube-dns",
    )
    assert service["spec"]["clusterIP"] == network.CLUSTER_DNS_IP == "10.96.0.10"
    assert "selector" not in service["spec"]
    assert {(p["name"], p["port"], p["protocol"]) for p in service["spec"]["ports"]} == {
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
    }
    assert ipaddress.ip_address(network.CLUSTER_DNS_IP) in ipaddress.ip_network(pki.SERVICE_CIDR)

    slice_ = netconfig.dns_endpoint_slice(1053)
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert slice_["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] != (
        "endpointslice-controller.k8s.io"
    )
    assert slice_["endpoints"] == [{"addresses": [network.HOST_IP], "conditions": {"ready": True}}]
    # kube-proxy pairs the Service's ports with the slice's by name
    assert {(p["name"], p["port"], p["protocol"]) for p in slice_["ports"]} == {
        ("dns", 1053, "UDP"),
        ("dns-tcp", 1053, "TCP"),
    }


def test_coredns_may_list_and_watch_what_the_kubernetes_plugin_reads_and_nothing_more() -> None:
    role, binding = netconfig.coredns_rbac()
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert ("discovery.k8s.io", "endpointslices", "watch") in granted
    assert ("", "services", "list") in granted
    assert {verb for _, _, verb in granted} == {"list", "watch"}
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:coredns"}
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_the_host_address_is_private_and_outside_every_cluster_range() -> None:
    host = ipaddress.ip_address(network.HOST_IP)
    assert host.is_private and not host.is_loopback and not host.is_link_local
    for cidr in (network.CLUSTER_CIDR, pki.SERVICE_CIDR, "10.244.0.0/16"):
        assert host not in ipaddress.ip_network(cidr)


def test_pki_adds_the_host_address_to_the_server_cert_and_issues_client_certs(
    tmp_path: Path,
) -> None:
    certs = pki.generate(tmp_path, server_ips=(network.HOST_IP,))
    server = x509.load_pem_x509_certificate(certs.server_cert.read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "10.96.0.1",
        network.HOST_IP,
    }
    cert, key = pki.issue_client(certs, "kube-proxy", "system:kube-proxy")
    issued = x509.load_pem_x509_certificate(cert.read_bytes())
    assert issued.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "system:kube-proxy"
    )
    assert issued.issuer == server.issuer
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_teardown_recognises_kube_proxys_chains_and_not_the_kubelets() -> None:
    dump = "\n".join(
        [
            "*mangle",
            ":KUBE-PROXY-CANARY - [0:0]",
            ":KUBE-KUBELET-CANARY - [0:0]",
            "COMMIT",
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":KUBE-SERVICES - [0:0]",
            ":KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]",
            ":KUBE-SEP-ABCDEF - [0:0]",
            ":KUBE-MARK-MASQ - [0:0]",
            "-A PREROUTING -j KUBE-SERVICES",
            "COMMIT",
            "*filter",
            ":KUBE-FIREWALL - [0:0]",
            ":KUBE-FORWARD - [0:0]",
            "COMMIT",
        ]
    )
    assert netconfig.proxy_chains(dump) == [
        "mangle/KUBE-PROXY-CANARY",
        "nat/KUBE-SERVICES",
        "nat/KUBE-SVC-NPX46M4PTMTKRN6Y",
        "nat/KUBE-SEP-ABCDEF",
        "nat/KUBE-MARK-MASQ",
        "filter/KUBE-FORWARD",
    ]


def test_stop_sweeps_the_host_only_when_no_other_live_devcluster_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[tuple[str, ...]] = []
    monkeypatch.setattr(network, "_run", lambda *command: commands.append(command))
    monkeypatch.setattr(network, "_host_address_present", lambda: True)
    kube_proxy = tmp_path / "kube-proxy"
    kube_proxy.touch()
    (tmp_path / network.STATE).write_text(json.dumps({"binaries": {"kube-proxy": str(kube_proxy)}}))
    holders: list[dict[str, str] | None] = [
        None,
        {"state_dir": str(tmp_path)},
        {"state_dir": "/elsewhere"},
    ]
    monkeypatch.setattr(network.hostclaim, "is_stale", lambda claim: False)
    swept = []
    for holder in holders:
        commands.clear()
        monkeypatch.setattr(network.hostclaim, "holder", lambda holder=holder: holder)
        network.stop(tmp_path)
        swept.append((str(kube_proxy), "--cleanup") in commands)
    assert swept == [True, True, False]
