"""Operating system, CPU architecture and isolation: ``runtimePlatform`` and
``trustedExecutionConfiguration``.

ECS tasks are Linux unless they say otherwise, so every pod selects ``kubernetes.io/os`` (Linux
pods must never land on a Windows node of the same cluster). Windows families also select the
node's Windows build, as ECS picks an AMI of that Windows Server version, and set ``spec.os``.

On EC2, ECS needs no ``runtimePlatform``: the task lands on the Windows instances it was
registered for, and most Windows task definitions people wrote say nothing. Without an
``operatingSystemFamily``, what only Windows uses makes the task Windows (a Windows base image,
an FSx for Windows File Server volume, Docker's ``credentialspec:`` option, a drive-letter
(``C:``) or named-pipe path, ``powershell``), unless something only Linux has says otherwise
(``linuxParameters``, SELinux/AppArmor/seccomp options, a ``/`` mount path); a finding says what
was inferred and how to pin it.
"""

from __future__ import annotations

import re
from typing import Any

from ..api.shapes import RegisterTaskDefinitionRequest
from ..nodes import LABEL_ARCH, LABEL_OS
from .findings import ObjectRef, Report

LABEL_WINDOWS_BUILD = "node.kubernetes.io/windows-build"
ARCHITECTURES = {"X86_64": "amd64", "ARM64": "arm64"}
WINDOWS_BUILDS = {
    "WINDOWS_SERVER_2016_FULL": "10.0.14393",
    "WINDOWS_SERVER_2019_FULL": "10.0.17763",
    "WINDOWS_SERVER_2019_CORE": "10.0.17763",
    "WINDOWS_SERVER_2004_CORE": "10.0.19041",
    "WINDOWS_SERVER_20H2_CORE": "10.0.19042",
    "WINDOWS_SERVER_2022_FULL": "10.0.20348",
    "WINDOWS_SERVER_2022_CORE": "10.0.20348",
    "WINDOWS_SERVER_2025_FULL": "10.0.26100",
    "WINDOWS_SERVER_2025_CORE": "10.0.26100",
}
#: RuntimeClass names standing for ECS isolation modes (the cluster defines them)
RUNTIME_CLASSES = {
    "ISOLATED_SANDBOX": "isolated-sandbox",
    "CONFIDENTIAL_SANDBOX": "confidential-sandbox",
}


#: images only Windows runs: Microsoft's Windows bases, and any image named or tagged for
#: Server Core, Nano Server or Windows (``aws-for-fluent-bit:windowsservercore-latest``)
_WINDOWS_IMAGE = re.compile(
    r"^(mcr\.microsoft\.com/windows/|microsoft/(iis|windowsservercore|nanoserver))"
    r"|servercore|nanoserver|(^|[/:._-])windows([/:._-]|$)",
    re.IGNORECASE,
)
#: a drive-letter path (``C:/data``, with either slash) or a named pipe (``//./pipe/...``)
_WINDOWS_PATH = re.compile(r"^([A-Za-z]:[\\/]|\\\\\.\\pipe\\)")
_WINDOWS_SHELLS = frozenset({"powershell", "powershell.exe", "cmd", "cmd.exe"})
#: dockerSecurityOptions only Linux has (SELinux labels, AppArmor, seccomp)
_LINUX_OPTIONS = ("label:", "apparmor:", "seccomp")


def operating_system_family(td: RegisterTaskDefinitionRequest) -> str | None:
    """``runtimePlatform.operatingSystemFamily``, when the task definition gives it."""
    return td.runtimePlatform.operatingSystemFamily if td.runtimePlatform else None


def _linux_only(td: RegisterTaskDefinitionRequest) -> bool:
    """Whether the task definition uses what only Linux has (then nothing is inferred)."""
    return any(
        cd.linuxParameters is not None
        or any(o.lower().startswith(_LINUX_OPTIONS) for o in cd.dockerSecurityOptions or ())
        or any((m.containerPath or "").startswith("/") for m in cd.mountPoints or ())
        for cd in td.containerDefinitions
    )


def windows_evidence(td: RegisterTaskDefinitionRequest) -> str | None:
    """The first member of a task definition that only Windows uses, as ``path (value)``;
    None when there is none, or when the task definition uses Linux-only members too.

    ``credentialSpecs`` alone tells nothing: ECS runs gMSA for Linux containers too."""
    if _linux_only(td):
        return None
    for i, cd in enumerate(td.containerDefinitions):
        path = f"containerDefinitions[{i}]"
        if _WINDOWS_IMAGE.search(cd.image):
            return f"{path}.image ({cd.image})"
        if any(o.lower().startswith("credentialspec:") for o in cd.dockerSecurityOptions or ()):
            return f"{path}.dockerSecurityOptions (credentialspec:, Docker's gMSA option)"
        for j, mount in enumerate(cd.mountPoints or ()):
            if mount.containerPath and _WINDOWS_PATH.match(mount.containerPath):
                return f"{path}.mountPoints[{j}].containerPath ({mount.containerPath})"
        if cd.workingDirectory and _WINDOWS_PATH.match(cd.workingDirectory):
            return f"{path}.workingDirectory ({cd.workingDirectory})"
        for member in ("entryPoint", "command"):
            words = getattr(cd, member) or []
            if words and words[0].lower() in _WINDOWS_SHELLS:
                return f"{path}.{member} ({words[0]})"
    for k, volume in enumerate(td.volumes or ()):
        if volume.fsxWindowsFileServerVolumeConfiguration:
            return f"volumes[{k}]: an FSx for Windows File Server volume"
        source = volume.host.sourcePath if volume.host else None
        if source and _WINDOWS_PATH.match(source):
            return f"volumes[{k}].host.sourcePath ({source})"
    return None


def is_windows(td: RegisterTaskDefinitionRequest) -> bool:
    """Whether the task runs Windows containers: its operatingSystemFamily says so, or (without
    one) a member only Windows uses does."""
    family = operating_system_family(td)
    if family:
        return family.startswith("WINDOWS")
    return windows_evidence(td) is not None


def node_selector(td: RegisterTaskDefinitionRequest) -> dict[str, str]:
    """The os / arch / Windows build a node must have."""
    platform = td.runtimePlatform
    family = platform.operatingSystemFamily if platform else None
    selector = {LABEL_OS: "windows" if is_windows(td) else "linux"}
    if platform and platform.cpuArchitecture:
        selector[LABEL_ARCH] = ARCHITECTURES[platform.cpuArchitecture]
    if family in WINDOWS_BUILDS:
        selector[LABEL_WINDOWS_BUILD] = WINDOWS_BUILDS[family]
    return selector


def pod_platform(td: RegisterTaskDefinitionRequest, report: Report) -> dict[str, Any]:
    """``spec.os`` for Windows and the ``runtimeClassName`` of a sandboxed isolation mode."""
    out: dict[str, Any] = {}
    if is_windows(td):
        out["os"] = {"name": "windows"}
    evidence = None if operating_system_family(td) else windows_evidence(td)
    if evidence:
        report.approx(
            "runtimePlatform",
            f"absent: Windows inferred from {evidence}; pin it with runtimePlatform "
            "operatingSystemFamily (WINDOWS_SERVER_2022_CORE or your nodes' version), which also "
            "selects the nodes' Windows build",
        )
    trusted = td.trustedExecutionConfiguration
    if trusted is None:
        return out
    runtime_class = RUNTIME_CLASSES.get(trusted.isolationMode)
    if runtime_class:
        out["runtimeClassName"] = runtime_class
        report.approx(
            "trustedExecutionConfiguration.isolationMode",
            f"RuntimeClass {runtime_class!r} must provide the sandbox (e.g. Kata or gVisor)",
        )
        report.need(
            ObjectRef(
                "RuntimeClass",
                runtime_class,
                trusted.isolationMode,
                "trustedExecutionConfiguration.isolationMode",
            )
        )
    return out
