"""Network mode, ports, hostname, DNS and /etc/hosts.

``awsvpc`` gives every task its own IP, which is what a pod has; ``host`` is ``hostNetwork``;
``bridge`` is the pod network too, with static host ports kept as ``hostPort`` (dynamic host
ports need nothing: the pod IP is reachable). Containers of a pod share one network namespace
(in bridge mode each ECS container had its own), so ``links`` become ``/etc/hosts`` aliases of
127.0.0.1. Per-container ``hostname``, DNS and extra hosts are pod-wide in Kubernetes: they are
merged, and a finding says so when the containers disagreed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api.shapes import ContainerDefinition, PortMapping, RegisterTaskDefinitionRequest
from .context import RenderContext
from .findings import Report
from .names import PORT_NAME_MAX, NameAllocator, dns_label, port_name

MAX_RANGE_PORTS = 100
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
LOCALHOST = "127.0.0.1"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def network_mode(td: RegisterTaskDefinitionRequest, ctx: RenderContext) -> str:
    """The effective network mode: as declared, else ``awsvpc`` on Fargate, else ``bridge``."""
    return td.networkMode or ("awsvpc" if ctx.placement.is_fargate else "bridge")


@dataclass(slots=True)
class PortScope:
    """Pod-wide port bookkeeping: unique port names, ports already taken, the ECS mappings."""

    mode: str
    names: NameAllocator = field(default_factory=NameAllocator)
    taken: dict[tuple[int, str], str] = field(default_factory=dict)
    mappings: list[dict[str, Any]] = field(default_factory=list)


def container_ports(
    cd: ContainerDefinition, k8s_name: str, path: str, scope: PortScope, report: Report
) -> list[dict[str, Any]]:
    """``portMappings`` as container ports; the ECS mappings are kept for the annotation."""
    ports: list[dict[str, Any]] = []
    for j, pm in enumerate(cd.portMappings or ()):
        pm_path = f"{path}.portMappings[{j}]"
        numbers = _port_numbers(pm, pm_path, report)
        for number in numbers:
            port = _port(pm, number, len(numbers) == 1, scope, pm_path, report)
            _check_taken(port, cd, scope, pm_path, report)
            ports.append(port)
        if numbers:
            scope.mappings.append({"container": k8s_name, **pm.to_ecs()})
    return ports


def _port_numbers(pm: PortMapping, path: str, report: Report) -> list[int]:
    if pm.containerPortRange:
        first, _, last = pm.containerPortRange.partition("-")
        if not (first.isdigit() and last.isdigit() and 0 < int(first) <= int(last) < 65536):
            report.unsupported(path + ".containerPortRange", "not a port range first-last")
            return []
        count = int(last) - int(first) + 1
        if count > MAX_RANGE_PORTS:
            report.unsupported(
                path + ".containerPortRange",
                f"{count} ports; Kubernetes lists ports one by one (up to {MAX_RANGE_PORTS} "
                "are rendered from a range)",
            )
            return []
        report.approx(path + ".containerPortRange", f"rendered as {count} single ports")
        return list(range(int(first), int(last) + 1))
    if pm.containerPort is None or not 0 < pm.containerPort < 65536:
        report.ignored(path, "a port mapping without a valid containerPort")
        return []
    return [pm.containerPort]


def _port(
    pm: PortMapping, number: int, single: bool, scope: PortScope, path: str, report: Report
) -> dict[str, Any]:
    port: dict[str, Any] = {}
    if pm.name and single:
        port["name"] = scope.names.claim(port_name(pm.name), pm.name, PORT_NAME_MAX)
    port["containerPort"] = number
    port["protocol"] = (pm.protocol or "tcp").upper()
    if pm.hostPort and not 0 < pm.hostPort < 65536:
        report.ignored(path + ".hostPort", f"{pm.hostPort} is not a port number")
    elif pm.hostPort and scope.mode == "bridge" and single:
        port["hostPort"] = pm.hostPort
    elif pm.hostPort and scope.mode not in ("bridge", "host") and pm.hostPort != number:
        report.ignored(path + ".hostPort", f"{scope.mode} tasks are reached on the pod IP")
    return port


def _check_taken(
    port: dict[str, Any], cd: ContainerDefinition, scope: PortScope, path: str, report: Report
) -> None:
    key = (port["containerPort"], port["protocol"])
    other = scope.taken.setdefault(key, cd.name)
    if other != cd.name:
        report.approx(
            path,
            f"containers of a pod share one network namespace: {key[0]}/{key[1]} is also "
            f"used by {other}",
        )


def pod_network(td: RegisterTaskDefinitionRequest, mode: str, report: Report) -> dict[str, Any]:
    """Pod-level network fields: hostNetwork, hostname, dnsPolicy/dnsConfig, hostAliases."""
    out: dict[str, Any] = {}
    if mode == "host":
        out["hostNetwork"] = True
    elif mode == "none":
        report.unsupported(
            "networkMode", "a pod always has a network; the containers get the pod network"
        )
    defs = td.containerDefinitions
    hostname = _hostname(defs, report)
    if hostname:
        out["hostname"] = hostname
    out.update(_dns(defs, report))
    if mode == "host":
        # the cluster's DNS first, as for any pod: on ECS a host task resolves service
        # discovery names through the VPC's resolver, here they are cluster names (and the
        # task metadata endpoint's Service); other names go to the node's resolver
        out.setdefault("dnsPolicy", "ClusterFirstWithHostNet")
    aliases = _host_aliases(defs, report)
    if aliases:
        out["hostAliases"] = aliases
    return out


def _merged(defs: Sequence[ContainerDefinition], member: str, report: Report) -> list[str]:
    """The union of a per-container list in order; a finding when containers disagree."""
    lists = [list(getattr(cd, member) or ()) for cd in defs]
    merged = list(dict.fromkeys(value for values in lists for value in values))
    if merged and any(values != merged for values in lists):
        report.approx(
            f"containerDefinitions[].{member}",
            "pod-wide in Kubernetes: the values of all containers are merged",
        )
    return merged


def _hostname(defs: Sequence[ContainerDefinition], report: Report) -> str | None:
    names = [(i, cd.hostname) for i, cd in enumerate(defs) if cd.hostname]
    if not names:
        return None
    index, wanted = names[0]
    if len({name for _, name in names}) > 1:
        report.approx("containerDefinitions[].hostname", f"one hostname per pod: {wanted!r}")
    label = dns_label(wanted.split(".")[0])
    if label != wanted:
        report.approx(
            f"containerDefinitions[{index}].hostname",
            f"a pod hostname is one DNS label: {label!r}",
        )
    return label


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid(values: list[str], ok: Callable[[str], bool], member: str, report: Report) -> list[str]:
    bad = [v for v in values if not ok(v)]
    if bad:
        report.unsupported(
            f"containerDefinitions[].{member}", f"not valid in Kubernetes: {', '.join(bad)}"
        )
    return [v for v in values if ok(v)]


def _dns(defs: Sequence[ContainerDefinition], report: Report) -> dict[str, Any]:
    servers = _valid(_merged(defs, "dnsServers", report), _is_ip, "dnsServers", report)
    searches = _valid(
        [d.lower().rstrip(".") for d in _merged(defs, "dnsSearchDomains", report)],
        lambda domain: bool(_DNS_SUBDOMAIN.match(domain)),
        "dnsSearchDomains",
        report,
    )
    if len(servers) > MAX_NAMESERVERS:
        report.dropped(
            "containerDefinitions[].dnsServers",
            f"Kubernetes allows {MAX_NAMESERVERS} nameservers: {', '.join(servers[3:])} left out",
        )
        servers = servers[:MAX_NAMESERVERS]
    if len(searches) > MAX_SEARCHES:
        report.dropped(
            "containerDefinitions[].dnsSearchDomains",
            f"Kubernetes allows {MAX_SEARCHES} search domains",
        )
        searches = searches[:MAX_SEARCHES]
    config: dict[str, Any] = {}
    if servers:
        config["nameservers"] = servers
    if searches:
        config["searches"] = searches
    if not config:
        return {}
    # dnsPolicy None: the pod's resolv.conf is exactly dnsConfig, as with docker --dns.
    return {"dnsPolicy": "None", "dnsConfig": config} if servers else {"dnsConfig": config}


def _host_aliases(defs: Sequence[ContainerDefinition], report: Report) -> list[dict[str, Any]]:
    by_ip: dict[str, list[str]] = {}
    entries = [
        (f"containerDefinitions[{i}].extraHosts[{j}]", h.ipAddress, h.hostname)
        for i, cd in enumerate(defs)
        for j, h in enumerate(cd.extraHosts or ())
    ]
    if entries and any(not cd.extraHosts for cd in defs):
        report.approx(
            "containerDefinitions[].extraHosts", "/etc/hosts entries apply to every container"
        )
    entries += _link_aliases(defs, report)
    for path, ip, hostname in entries:
        host = hostname.lower()
        if not _DNS_SUBDOMAIN.match(host) or not _is_ip(ip):
            report.unsupported(path, f"{ip} {hostname}: not a host entry Kubernetes accepts")
            continue
        hosts = by_ip.setdefault(ip, [])
        if host not in hosts:
            hosts.append(host)
    return [{"ip": ip, "hostnames": hosts} for ip, hosts in by_ip.items() if hosts]


def _link_aliases(
    defs: Sequence[ContainerDefinition], report: Report
) -> list[tuple[str, str, str]]:
    """``links`` (``name[:alias]``): the containers share localhost, so the names point there."""
    aliases: list[tuple[str, str, str]] = []
    for i, cd in enumerate(defs):
        for j, link in enumerate(cd.links or ()):
            path = f"containerDefinitions[{i}].links[{j}]"
            aliases += [(path, LOCALHOST, name) for name in dict.fromkeys(link.split(":")) if name]
        if cd.links:
            report.approx(
                f"containerDefinitions[{i}].links",
                "linked names resolve to 127.0.0.1 (one pod network); Docker's link "
                "environment variables are not set",
            )
    return aliases
