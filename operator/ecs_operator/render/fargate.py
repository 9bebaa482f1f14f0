"""Defence in depth for Fargate capacity: what a Fargate task may never have.

ECS rejects privileged containers, host networking, host PID/IPC, host paths, host ports and
added capabilities other than SYS_PTRACE on Fargate, and api/rules/ rejects them before rendering
(render/request.py refuses a task definition that is not Fargate-compatible). This pass runs on
the finished pod spec anyway, whatever produced it, so a Fargate pod can never reach a (shared,
virtual) Fargate node with host access or a weakened sandbox: Fargate's seccomp and AppArmor
profiles and SELinux labels are its own and fixed, and it sets only namespaced sysctls. Every
removal is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .findings import Report
from .security import SAFE_SYSCTLS

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
    if spec.get("dnsPolicy") == "ClusterFirstWithHostNet":
        del spec["dnsPolicy"]
    for volume in spec.get("volumes", ()):
        if "hostPath" in volume:
            del volume["hostPath"]
            volume["emptyDir"] = {}
            report.dropped(
                volume_paths.get(volume["name"], "volumes") + ".host.sourcePath",
                "host paths are never allowed on Fargate capacity: an emptyDir stands in",
            )
    _harden_sysctls(spec, report)
    for container in [*spec.get("initContainers", ()), *spec.get("containers", ())]:
        _harden_container(
            container, container_paths.get(container["name"], "containerDefinitions"), report
        )


def _harden_sysctls(spec: dict[str, Any], report: Report) -> None:
    context = spec.get("securityContext") or {}
    sysctls = context.get("sysctls") or []
    unsafe = [s["name"] for s in sysctls if s["name"] not in SAFE_SYSCTLS]
    if not unsafe:
        return
    report.dropped(
        "containerDefinitions[].systemControls",
        f"Fargate sets only namespaced, safe sysctls: {', '.join(unsafe)} left out",
    )
    context["sysctls"] = [s for s in sysctls if s["name"] in SAFE_SYSCTLS]
    if not context["sysctls"]:
        del context["sysctls"]
    if not context:
        del spec["securityContext"]


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
    options = path + ".dockerSecurityOptions"
    for profile in ("seccompProfile", "appArmorProfile"):
        if (context.get(profile) or {}).get("type") == "Unconfined":
            del context[profile]
            report.dropped(options, f"Fargate's {profile} is its own: Unconfined left out")
    if context.pop("seLinuxOptions", None):
        report.dropped(options, "Fargate's SELinux labels are its own: label options left out")
    for port in container.get("ports", ()):
        if port.pop("hostPort", None):
            report.dropped(path + ".portMappings", "host ports are never used on Fargate capacity")
    if "capabilities" in context and not context["capabilities"]:
        del context["capabilities"]
    if "securityContext" in container and not context:
        del container["securityContext"]
