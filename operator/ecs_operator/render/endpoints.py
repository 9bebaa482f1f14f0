"""How clients reach an ECS service: its load balancers, Cloud Map registries and Service
Connect names, as Kubernetes Services selecting the service's pods.

- ``loadBalancers[]``: a target group (or Classic Load Balancer) forwards to one container port
  of every task. On Kubernetes that is a Service on that port, named ``<service>-lb-<port>``
  (entries on one container port share it), of type ClusterIP unless the ECS Service object
  asks for another with the annotation ``ecs-operator.dev/load-balancer-type`` (``LoadBalancer``
  makes the cloud's load balancer; ``NodePort`` suits an external one) and the cluster admin
  allows that type in the namespace (policy.py). The target group ARNs
  and load balancer names are kept in annotations, for a controller that binds them.
- ``serviceRegistries[]``: Cloud Map answers DNS queries for a service with the IPs (A) or
  IP:port (SRV) of its tasks: a *headless* Service does exactly that. The Cloud Map service's
  name cannot be read from its ARN (``srv-...``), so the Service is named after the ECS service.
- ``serviceConnectConfiguration``: each ``services[]`` entry's ``discoveryName`` (default: its
  ``portName``) is a Service of that name on the container port, and each client alias a
  Service named after the first label of its ``dnsName`` (``orders.local`` -> ``orders``) on the
  alias port, forwarding to the container port. Other tasks in the namespace reach it by the
  same short name they used on ECS. Names that are not valid Service names are reported.

Services whose names meet (an alias named like the discovery name) become one Service with the
ports of both. The selector is the service's pod selector without the capacity provider, so a
service split over several providers is one endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api.shapes import CreateServiceRequest, ServiceConnectService
from . import keys
from .findings import Report
from .metadata import json_annotation
from .names import PORT_NAME_MAX, NameAllocator, dns_label, port_name
from .workloads import Meta

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
DEFAULT_SERVICE_TYPE = "ClusterIP"
#: ECS ``appProtocol`` to a Service port's ``appProtocol`` (IANA or Kubernetes-defined names)
APP_PROTOCOLS = {"http": "http", "http2": "kubernetes.io/h2c", "grpc": "kubernetes.io/h2c"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class PodPort:
    """A port of the rendered pod, as a Service port targets it."""

    container: str  # the ECS container name
    number: int
    protocol: str = "TCP"
    name: str | None = None  # the pod's port name: targetPort by name when there is one
    mapping: str | None = None  # the ECS port mapping's name (Service Connect's portName)
    app_protocol: str | None = None

    @property
    def target(self) -> int | str:
        return self.name or self.number


def pod_ports(template: Mapping[str, Any]) -> list[PodPort]:
    """Every container port of a rendered pod template, with the ECS container and port
    mapping names it came from (read back from the template's annotations)."""
    annotations = template["metadata"].get("annotations") or {}
    names: dict[str, str] = json.loads(annotations.get(keys.ANNOTATION_CONTAINER_NAMES, "{}"))
    mappings = {
        (m["container"], m.get("containerPort")): m
        for m in json.loads(annotations.get(keys.ANNOTATION_PORT_MAPPINGS, "[]"))
    }
    spec = template["spec"]
    found: list[PodPort] = []
    for container in [*spec.get("initContainers", ()), *spec["containers"]]:
        for port in container.get("ports", ()):
            mapping = mappings.get((container["name"], port["containerPort"]), {})
            found.append(
                PodPort(
                    container=names.get(container["name"], container["name"]),
                    number=port["containerPort"],
                    protocol=port.get("protocol", "TCP"),
                    name=port.get("name"),
                    mapping=mapping.get("name"),
                    app_protocol=mapping.get("appProtocol"),
                )
            )
    return found


def find_port(ports: Sequence[PodPort], container: str | None, number: int) -> PodPort | None:
    """The pod port ``number`` of ``container`` (of any container when None)."""
    return next((p for p in ports if p.number == number and container in (None, p.container)), None)


def service_name(dns_name: str) -> str | None:
    """The Service that answers for an ECS DNS name: its first label, when that is a valid
    Service name (DNS is case-insensitive, so ``Orders.local`` is ``orders``)."""
    label = dns_name.split(".", 1)[0].lower()
    return label if _DNS_LABEL.match(label) else None


@dataclass
class _Wanted:
    """One Service being assembled from the ECS members that name it."""

    name: str
    headless: bool
    load_balanced: bool
    ports: dict[tuple[int, str], PodPort] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Services:
    """The Services of one ECS service, by name; a second use of a name adds ports to it."""

    report: Report
    wanted: dict[str, _Wanted] = field(default_factory=dict)

    def add(
        self,
        name: str,
        path: str,
        port: tuple[int, PodPort] | None,
        *,
        headless: bool = False,
        load_balanced: bool = False,
        notes: Mapping[str, str | None] | None = None,
    ) -> None:
        service = self.wanted.setdefault(name, _Wanted(name, headless, load_balanced))
        if service.headless and not headless:
            service.headless = False
            self.report.approx(path, f"Service {name} also serves Cloud Map: it gets a cluster IP")
        service.load_balanced |= load_balanced
        if port is not None:
            number, target = port
            taken = service.ports.setdefault((number, target.protocol), target)
            if taken != target:
                self.report.unsupported(
                    path,
                    f"port {number} of Service {name} already forwards to {taken.container}:"
                    f"{taken.number}; no second target",
                )
        for key, value in (notes or {}).items():
            values = service.notes.setdefault(key, [])
            if value and value not in values:
                values.append(value)


def _load_balancers(svc: CreateServiceRequest, ports: Sequence[PodPort], out: _Services) -> None:
    base = dns_label(svc.serviceName)
    for k, lb in enumerate(svc.loadBalancers or ()):
        path = f"loadBalancers[{k}]"
        if lb.advancedConfiguration is not None:
            out.report.unsupported(
                path + ".advancedConfiguration", "blue/green traffic shifting is not rendered"
            )
        if lb.containerPort is None:
            out.report.unsupported(path, "no containerPort: no Service is rendered")
            continue
        target = find_port(ports, lb.containerName, lb.containerPort)
        if target is None:
            out.report.unsupported(
                path,
                f"the task definition has no port {lb.containerPort} on container "
                f"{lb.containerName}: no Service is rendered",
            )
            continue
        notes = {
            keys.ANNOTATION_TARGET_GROUPS: lb.targetGroupArn,
            keys.ANNOTATION_LOAD_BALANCER_NAMES: lb.loadBalancerName,
        }
        name = dns_label(f"{base}-lb-{lb.containerPort}")
        out.add(name, path, (lb.containerPort, target), load_balanced=True, notes=notes)


def _registries(svc: CreateServiceRequest, ports: Sequence[PodPort], out: _Services) -> None:
    name = dns_label(svc.serviceName)
    for k, registry in enumerate(svc.serviceRegistries or ()):
        path = f"serviceRegistries[{k}]"
        number = registry.containerPort or registry.port
        target = None if number is None else find_port(ports, registry.containerName, number)
        if number is not None and target is None:
            out.report.unsupported(
                path,
                f"the task definition has no port {number}"
                + (f" on container {registry.containerName}" if registry.containerName else "")
                + ": the Service answers with task IPs only (no SRV port)",
            )
        port = None if target is None else (registry.port or target.number, target)
        notes = {keys.ANNOTATION_REGISTRIES: registry.registryArn}
        out.add(name, path, port, headless=True, notes=notes)


def _namespace_name(namespace: str | None) -> str | None:
    """The Cloud Map namespace's name, when given by name (an ARN names only its id)."""
    return None if namespace is None or namespace.startswith("arn:") else namespace


def _connect_service(
    entry: ServiceConnectService,
    path: str,
    namespace: str | None,
    ports: Sequence[PodPort],
    out: _Services,
) -> None:
    target = next((p for p in ports if p.mapping == entry.portName), None)
    if target is None:
        out.report.unsupported(
            path + ".portName", f"no port mapping is named {entry.portName!r}: nothing to reach"
        )
        return
    discovery = entry.discoveryName or entry.portName
    qualified = f"{discovery}.{namespace}" if namespace else discovery
    name = service_name(discovery)
    if name is None:
        member = "discoveryName" if entry.discoveryName else "portName"
        out.report.unsupported(
            f"{path}.{member}", f"{discovery!r} is not a valid Kubernetes Service name"
        )
    else:
        notes = {keys.ANNOTATION_ECS_DNS_NAMES: qualified}
        out.add(name, path, (target.number, target), notes=notes)
    for j, alias in enumerate(entry.clientAliases or ()):
        alias_path = f"{path}.clientAliases[{j}]"
        dns = alias.dnsName or qualified
        alias_name = service_name(dns)
        if alias_name is None:
            out.report.unsupported(
                alias_path + ".dnsName",
                f"{dns!r}: its first label is not a valid Kubernetes Service name, so no "
                "Service answers for it",
            )
            continue
        if alias.dnsName and "." in alias.dnsName:
            out.report.approx(
                alias_path + ".dnsName",
                f"clients reach {alias_name} (or {alias_name}.<namespace>.svc); {dns!r} itself "
                "resolves only with a DNS rewrite in the cluster (docs/mapping.md)",
            )
        if alias.testTrafficRules is not None:
            out.report.unsupported(alias_path + ".testTrafficRules", "no test traffic routing")
        notes = {keys.ANNOTATION_ECS_DNS_NAMES: dns}
        out.add(alias_name, alias_path, (alias.port, target), notes=notes)
    if entry.ingressPortOverride is not None:
        out.report.ignored(
            path + ".ingressPortOverride", "no proxy: traffic goes straight to the container port"
        )
    if entry.tls is not None:
        out.report.unsupported(
            path + ".tls", "no Service Connect proxy terminates TLS (a mesh can)"
        )
    if entry.timeout is not None:
        out.report.ignored(path + ".timeout", "no Service Connect proxy enforces timeouts")


def _service_connect(svc: CreateServiceRequest, ports: Sequence[PodPort], out: _Services) -> None:
    config = svc.serviceConnectConfiguration
    if config is None or not config.enabled:
        return
    base = "serviceConnectConfiguration"
    namespace = _namespace_name(config.namespace)
    for i, entry in enumerate(config.services or ()):
        _connect_service(entry, f"{base}.services[{i}]", namespace, ports, out)
    if config.services and config.namespace:
        out.report.approx(
            base + ".namespace",
            "Services are names in the Kubernetes namespace: clients reach <name> (or "
            "<name>.<namespace>.svc), not <name>.<Cloud Map namespace>",
        )
    for member in ("logConfiguration", "accessLogConfiguration", "containerConfigurations"):
        if getattr(config, member) is not None:
            out.report.ignored(f"{base}.{member}", "no Service Connect proxy runs")


def service_type(requested: str | None, allowed: Collection[str], report: Report) -> str:
    """The type of the load balancers' Services: the annotation's, if valid and one the admin
    ``allowed`` (exposure outside the cluster is the admin's call, not the tenant's)."""
    if requested is None:
        return DEFAULT_SERVICE_TYPE
    if requested not in SERVICE_TYPES:
        report.unsupported(
            "loadBalancers",
            f"{keys.ANNOTATION_LOAD_BALANCER_TYPE}: {requested!r} is not one of "
            f"{', '.join(SERVICE_TYPES)}; ClusterIP is used",
        )
        return DEFAULT_SERVICE_TYPE
    if requested not in allowed:
        report.unsupported(
            "loadBalancers",
            f"{keys.ANNOTATION_LOAD_BALANCER_TYPE}: {requested} Services are not allowed in "
            "this namespace (an admin allows them with the namespace annotation "
            "ecs-operator.dev/allowed-service-types); ClusterIP is used",
        )
        return DEFAULT_SERVICE_TYPE
    return requested


def _ports(ports: Mapping[tuple[int, str], PodPort]) -> list[dict[str, Any]]:
    """Service ports; each named (required when there are several): after its target port's
    name when it has one and that is still free, else ``<protocol>-<port>``."""
    names = NameAllocator()
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for (number, protocol), target in ports.items():
        entry: dict[str, Any] = {}
        if target.name or len(ports) > 1:
            fallback = f"{protocol.lower()}-{number}"
            candidate = target.name if target.name and target.name not in used else fallback
            entry["name"] = names.claim(port_name(candidate), candidate, PORT_NAME_MAX)
            used.add(entry["name"])
        entry["protocol"] = protocol
        if target.app_protocol in APP_PROTOCOLS:
            entry["appProtocol"] = APP_PROTOCOLS[target.app_protocol]
        entry["port"] = number
        entry["targetPort"] = target.target
        out.append(entry)
    return out


def _service(wanted: _Wanted, meta: Meta, selector: Mapping[str, str], kind: str) -> dict[str, Any]:
    annotations = {
        **meta.annotations,
        **{key: json_annotation(values) for key, values in wanted.notes.items() if values},
    }
    metadata = Meta(wanted.name, meta.namespace, dict(meta.labels), annotations).render()
    spec: dict[str, Any] = {"type": kind if wanted.load_balanced else DEFAULT_SERVICE_TYPE}
    if wanted.headless:
        spec["clusterIP"] = "None"
    spec["selector"] = dict(selector)
    if wanted.ports:
        spec["ports"] = _ports(wanted.ports)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def services(
    svc: CreateServiceRequest,
    template: Mapping[str, Any],
    meta: Meta,
    selector: Mapping[str, str],
    load_balancer_type: str | None,
    report: Report,
    allowed_types: Collection[str] = SERVICE_TYPES,
) -> list[dict[str, Any]]:
    """The Kubernetes Services of ``svc`` whose tasks run ``template``. ``meta`` gives the
    namespace, labels and annotations every Service carries (its name is each Service's own);
    ``allowed_types`` the Service types the admin allows (all of them offline, in ``convert``)."""
    ports = pod_ports(template)
    wanted = _Services(report)
    _load_balancers(svc, ports, wanted)
    _registries(svc, ports, wanted)
    _service_connect(svc, ports, wanted)
    if not wanted.wanted:
        return []
    kind = (
        service_type(load_balancer_type, allowed_types, report)
        if svc.loadBalancers
        else DEFAULT_SERVICE_TYPE
    )
    return [_service(w, meta, selector, kind) for w in wanted.wanted.values()]
