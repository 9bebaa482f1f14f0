"""Defence in depth for Fargate capacity: what a Fargate task may never have.

ECS rejects privileged containers, host networking, host PID/IPC, host paths, host ports and
added capabilities other than SYS_PTRACE on Fargate, and rules.py rejects them before rendering.
This pass runs on the finished pod spec anyway, whatever produced it, so a Fargate pod can
never reach a (shared, virtual) Fargate node with host access; every removal is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .findings import Report

FARGATE_CAPABILITIES = frozenset({"SYS_PTRACE"})
_HOST_NAMESPACES = {"hostNetwork": "networkMode", "hostPID": "pidMode", "hostIPC": "ipcMode"}


def harden(
    spec: dict[str, Any],
    container_paths: Mapping[str, str],
    volume_paths: Mapping[str, str],
    report: Report,
) -> None:
    """Strip host access from ``spec`` in place, reporting each removal at its ECS path."""
    for field, member in _HOST_NAMESPACES.items():
        if spec.pop(field, None):
            report.dropped(member, f"{field} is never allowed on Fargate capacity")
    for volume in spec.get("volumes", ()):
        if "hostPath" in volume:
            del volume["hostPath"]
            volume["emptyDir"] = {}
            report.dropped(
                volume_paths.get(volume["name"], "volumes") + ".host.sourcePath",
                "host paths are never allowed on Fargate capacity: an emptyDir stands in",
            )
    for container in [*spec.get("initContainers", ()), *spec.get("containers", ())]:
        _harden_container(
            container, container_paths.get(container["name"], "containerDefinitions"), report
        )


def _harden_container(container: dict[str, Any], path: str, report: Report) -> None:
    context = container.get("securityContext", {})
    if context.pop("privileged", None):
        report.dropped(path + ".privileged", "never privileged on Fargate capacity")
    caps = context.get("capabilities", {})
    extra = [c for c in caps.get("add", ()) if c not in FARGATE_CAPABILITIES]
    if extra:
        caps["add"] = [c for c in caps["add"] if c in FARGATE_CAPABILITIES]
        if not caps["add"]:
            del caps["add"]
        report.dropped(
            path + ".linuxParameters.capabilities.add",
            f"Fargate adds only SYS_PTRACE: {', '.join(extra)} left out",
        )
    for port in container.get("ports", ()):
        if port.pop("hostPort", None):
            report.dropped(path + ".portMappings", "host ports are never used on Fargate capacity")
    if "capabilities" in context and not context["capabilities"]:
        del context["capabilities"]
    if "securityContext" in container and not context:
        del container["securityContext"]
