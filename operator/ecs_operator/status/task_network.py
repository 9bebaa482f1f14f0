"""Where a task is reached, as ECS describes it (``describe-tasks``), read off its pod.

An ``awsvpc`` task has an elastic network interface of its own: on Kubernetes every pod has an
IP of its own, so the pod's IP is the interface's ``privateIPv4Address``, shown as ECS shows
it, in the task's ``attachments`` and each container's ``networkInterfaces`` (what scripts read
to reach a task). A ``bridge`` or ``host`` task's containers are reached on their instance's
ports: each container's ``networkBindings`` are its static host ports (a bridge task's
``hostPort``, every port of a host task). A bridge task's dynamic host ports have none here: it
is reached on its pod IP instead, which its ``portMappings`` annotation keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_operator.render.keys import ANNOTATION_NETWORK_MODE

AWSVPC, HOST = "awsvpc", "host"
#: an awsvpc task's attachment, as ECS types it
ELASTIC_NETWORK_INTERFACE = "ElasticNetworkInterface"


def network_mode(pod: Mapping[str, Any]) -> str:
    """The task definition's network mode, as the renderer recorded it on the pod."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(ANNOTATION_NETWORK_MODE):
        return str(annotations[ANNOTATION_NETWORK_MODE])
    return HOST if (pod.get("spec") or {}).get("hostNetwork") else "bridge"


def addresses(pod: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The pod's IPv4 and IPv6 addresses (None: not assigned yet, or released)."""
    status = pod.get("status") or {}
    ips = [str(entry.get("ip")) for entry in status.get("podIPs") or [] if entry.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return (
        next((ip for ip in ips if ":" not in ip), None),
        next((ip for ip in ips if ":" in ip), None),
    )


def _eni(pod: Mapping[str, Any]) -> str | None:
    """The id of an awsvpc task's interface (its pod's uid), None while it has no address."""
    if network_mode(pod) != AWSVPC or addresses(pod) == (None, None):
        return None
    return str((pod.get("metadata") or {}).get("uid") or "") or None


def attachments(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The task's ``attachments``: an awsvpc task's interface, once its pod has an address."""
    eni = _eni(pod)
    if eni is None:
        return []
    ipv4, ipv6 = addresses(pod)
    details = [{"name": "privateIPv4Address", "value": ipv4}] if ipv4 else []
    if ipv6:
        details.append({"name": "ipv6Address", "value": ipv6})
    return [
        {"id": eni, "type": ELASTIC_NETWORK_INTERFACE, "status": "ATTACHED", "details": details}
    ]


def container_network(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any]:
    """A container's ``networkInterfaces`` (awsvpc) or ``networkBindings`` (bridge, host),
    ``container`` its member of the pod's spec; nothing where it has none."""
    eni = _eni(pod)
    if eni is not None:
        ipv4, ipv6 = addresses(pod)
        interface: dict[str, Any] = {"attachmentId": eni}
        if ipv4:
            interface["privateIpv4Address"] = ipv4
        if ipv6:
            interface["ipv6Address"] = ipv6
        return {"networkInterfaces": [interface]}
    mode = network_mode(pod)
    if mode == AWSVPC:
        return {}
    bindings = [
        {
            "bindIP": "0.0.0.0",
            "containerPort": port["containerPort"],
            "hostPort": port.get("hostPort") or port["containerPort"],
            "protocol": str(port.get("protocol", "TCP")).lower(),
        }
        for port in container.get("ports") or []
        if "containerPort" in port and (port.get("hostPort") or mode == HOST)
    ]
    return {"networkBindings": bindings} if bindings else {}
