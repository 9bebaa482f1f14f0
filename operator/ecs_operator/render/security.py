"""Privileges, users, capabilities, namespaces and kernel parameters.

Container flags map one-to-one onto ``securityContext``; ``dockerSecurityOptions`` map where
Kubernetes has the same knob (``no-new-privileges``, AppArmor, SELinux labels, seccomp) and are
otherwise kept in an annotation and reported. Task-wide namespaces: ``pidMode: task`` is
``shareProcessNamespace``, ``host`` modes are ``hostPID``/``hostIPC``. ``systemControls`` are
per container on ECS but per pod on Kubernetes (as with awsvpc on ECS), and only "safe"
sysctls are allowed by a default kubelet. Windows pods may not carry Linux-only settings, so
those are reported instead of rendered (``user`` becomes ``runAsUserName`` there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api.shapes import ContainerDefinition, RegisterTaskDefinitionRequest
from .findings import Report

#: sysctls a default kubelet allows (Kubernetes 1.32+ "safe" set); others need an allowlist
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ping_group_range",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_wmem",
    }
)
_SYSCTL_NAME = re.compile(r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")
MAX_ID = 2**31 - 1
IPC_SYSCTL_PREFIXES = ("kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.")
SELINUX_FIELDS = {"user": "user", "role": "role", "type": "type", "level": "level"}


@dataclass(slots=True)
class ContainerSecurity:
    """A container's securityContext and the docker security options nothing maps."""

    context: dict[str, Any] = field(default_factory=dict)
    kept_options: list[str] = field(default_factory=list)


def container_security(
    cd: ContainerDefinition, path: str, windows: bool, report: Report
) -> ContainerSecurity:
    """``securityContext`` from privileged, read-only root, capabilities, user and options."""
    sec = ContainerSecurity()
    linux_only: dict[str, Any] = {}
    if cd.privileged:
        linux_only["privileged"] = True
    if cd.readonlyRootFilesystem:
        linux_only["readOnlyRootFilesystem"] = True
    caps = cd.linuxParameters.capabilities if cd.linuxParameters else None
    if caps and (caps.add or caps.drop):
        linux_only["capabilities"] = {
            k: list(v) for k, v in (("add", caps.add), ("drop", caps.drop)) if v
        }
    if windows:
        for key in linux_only:
            report.unsupported(f"{path}.{_ecs_member(key)}", "not available to Windows pods")
        if cd.user:
            sec.context["windowsOptions"] = {"runAsUserName": cd.user}
    else:
        sec.context.update(linux_only)
        sec.context.update(_user(cd.user, path, report) if cd.user else {})
    for j, option in enumerate(cd.dockerSecurityOptions or ()):
        if windows or not _security_option(option, sec.context):
            sec.kept_options.append(option)
            report.unsupported(
                f"{path}.dockerSecurityOptions[{j}]",
                f"{option!r} has no securityContext equivalent; kept in an annotation",
            )
    return sec


def _ecs_member(key: str) -> str:
    return {
        "privileged": "privileged",
        "readOnlyRootFilesystem": "readonlyRootFilesystem",
        "capabilities": "linuxParameters.capabilities",
    }[key]


def _user(user: str, path: str, report: Report) -> dict[str, Any]:
    """``uid``/``uid:gid`` to runAsUser/runAsGroup; names cannot be resolved outside the image."""
    uid, _, gid = user.partition(":")
    out: dict[str, Any] = {}
    if _is_id(uid):
        out["runAsUser"] = int(uid)
    if _is_id(gid):
        out["runAsGroup"] = int(gid)
    if not _is_id(uid) or (gid and not _is_id(gid)):
        report.unsupported(
            path + ".user",
            f"{user!r}: Kubernetes takes numeric ids only (user and group names live in the "
            "image's /etc/passwd); numeric parts are kept",
        )
    return out


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def _security_option(option: str, context: dict[str, Any]) -> bool:
    """Apply one Docker security option to ``context``; False when nothing maps it."""
    name, _, value = option.partition(":")
    if option in ("no-new-privileges", "no-new-privileges:true"):
        context["allowPrivilegeEscalation"] = False
    elif name == "apparmor" and value:
        context["appArmorProfile"] = (
            {"type": "Unconfined"}
            if value == "unconfined"
            else {"type": "Localhost", "localhostProfile": value}
        )
    elif name == "seccomp" and value:
        context["seccompProfile"] = (
            {"type": "Unconfined"}
            if value == "unconfined"
            else {"type": "Localhost", "localhostProfile": value}
        )
    elif name == "label":
        kind, _, label = value.partition(":")
        if kind not in SELINUX_FIELDS or not label:
            return False
        context.setdefault("seLinuxOptions", {})[SELINUX_FIELDS[kind]] = label
    else:
        return False
    return True


def pod_security(
    td: RegisterTaskDefinitionRequest, network_mode: str, windows: bool, report: Report
) -> dict[str, Any]:
    """Pod fields: hostPID, hostIPC, shareProcessNamespace and securityContext.sysctls."""
    out: dict[str, Any] = {}
    if windows:
        for member in ("pidMode", "ipcMode"):
            if getattr(td, member):
                report.unsupported(member, "Windows pods cannot share or use host namespaces")
        td = td.model_copy(update={"pidMode": None, "ipcMode": None})
    if td.pidMode == "host":
        out["hostPID"] = True
    elif td.pidMode == "task":
        out["shareProcessNamespace"] = True
    if td.ipcMode == "host":
        out["hostIPC"] = True
    elif td.ipcMode == "none":
        report.approx("ipcMode", "containers of a pod always share an IPC namespace")
    init_users = [
        i
        for i, cd in enumerate(td.containerDefinitions)
        if cd.linuxParameters and cd.linuxParameters.initProcessEnabled
    ]
    if init_users and not windows:
        out.setdefault("shareProcessNamespace", True)
        for i in init_users:
            report.approx(
                f"containerDefinitions[{i}].linuxParameters.initProcessEnabled",
                "the pod's pause process reaps zombies (shareProcessNamespace); the container's "
                "process is no longer PID 1 and all containers see each other's processes",
            )
    sysctls = _sysctls(td.containerDefinitions, network_mode, td.ipcMode, report)
    if sysctls and windows:
        report.unsupported("containerDefinitions[].systemControls", "not available to Windows pods")
    elif sysctls:
        out["securityContext"] = {"sysctls": sysctls}
    return out


def _sysctls(
    defs: Sequence[ContainerDefinition], network_mode: str, ipc_mode: str | None, report: Report
) -> list[dict[str, str]]:
    chosen: dict[str, str] = {}
    for i, cd in enumerate(defs):
        for j, control in enumerate(cd.systemControls or ()):
            path = f"containerDefinitions[{i}].systemControls[{j}]"
            name, value = control.namespace, control.value
            if not name or value is None or not _SYSCTL_NAME.match(name):
                report.unsupported(path, f"{name!r} is not a sysctl name Kubernetes accepts")
                continue
            if _host_shared(name, network_mode, ipc_mode):
                report.dropped(path, f"{name} cannot be set in a host namespace")
                continue
            if name in chosen:
                if chosen[name] != value:
                    report.approx(path, f"sysctls are pod-wide: {name}={chosen[name]} is kept")
                continue
            chosen[name] = value
            if name not in SAFE_SYSCTLS:
                report.approx(
                    path,
                    f"{name} is not a safe sysctl: the kubelet must allow it "
                    "(--allowed-unsafe-sysctls) or the pod is rejected",
                )
    if chosen and any(not cd.systemControls for cd in defs):
        report.approx(
            "containerDefinitions[].systemControls",
            "sysctls are pod-wide: they apply to every container",
        )
    return [{"name": name, "value": value} for name, value in chosen.items()]


def _host_shared(name: str, network_mode: str, ipc_mode: str | None) -> bool:
    if network_mode == "host" and name.startswith("net."):
        return True
    return ipc_mode == "host" and name.startswith(IPC_SYSCTL_PREFIXES)
