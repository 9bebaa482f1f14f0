"""Operating system, CPU architecture and isolation: ``runtimePlatform`` and
``trustedExecutionConfiguration``.

ECS tasks are Linux unless they say otherwise, so every pod selects ``kubernetes.io/os`` (Linux
pods must never land on a Windows node of the same cluster). Windows families also select the
node's Windows build, as ECS picks an AMI of that Windows Server version, and set ``spec.os``.
"""

from __future__ import annotations

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


def is_windows(td: RegisterTaskDefinitionRequest) -> bool:
    """Whether the task runs Windows containers."""
    family = td.runtimePlatform.operatingSystemFamily if td.runtimePlatform else None
    return bool(family and family.startswith("WINDOWS"))


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
