"""Which Pod Security level a rendered pod needs: ``baseline``, or ``privileged``.

ECS has no admission gate: a task definition with a privileged container, a host volume or the
host's network registers and runs on EC2 capacity. Kubernetes' Pod Security admission refuses
such a pod in a namespace labelled ``pod-security.kubernetes.io/enforce: baseline`` (or
``restricted``). The status reports the refusal once it happens (a Service's Degraded
condition, a Task's stop reason); rendering says up front which ECS members need the
``privileged`` level: a finding of kind ``privileged`` at each one's ECS path, naming the
Kubernetes field and the Pod Security control.

The controls are those of the baseline level of the Pod Security Standards, as the API server
(Kubernetes 1.36, ``baseline:latest``) checks them: host namespaces, privileged containers,
capabilities beyond Docker's default set, hostPath volumes, host ports, AppArmor and seccomp
``Unconfined``, SELinux users, roles and types other than the container ones, and sysctls outside
the safe set (the kubelet's, ``security.SAFE_SYSCTLS``). Windows ``hostProcess`` and
``procMount`` are left out: the renderer never sets them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .findings import Report
from .security import SAFE_SYSCTLS

#: Capabilities the baseline level lets a container add (Docker's default set).
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
#: SELinux types the baseline level allows (user and role may not be set at all).
BASELINE_SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
_HOST_NAMESPACES = {"hostNetwork": "networkMode", "hostPID": "pidMode", "hostIPC": "ipcMode"}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One field of a pod spec that only the privileged level allows.

    ``field`` is where it is in the pod spec, ``path`` the ECS member it comes from, and
    ``control`` the Pod Security control that refuses it (the API server's words).
    """

    field: str
    path: str
    control: str


def requirements(
    spec: Mapping[str, Any],
    container_paths: Mapping[str, str] | None = None,
    volume_paths: Mapping[str, str] | None = None,
) -> list[Requirement]:
    """Every field of the pod ``spec`` that the baseline level forbids: none when baseline
    admits the pod, else it needs privileged. ``container_paths`` and ``volume_paths`` map
    Kubernetes container and volume names to their ECS paths."""
    containers, volumes = container_paths or {}, volume_paths or {}
    found = [
        Requirement(field, member, "host namespaces")
        for field, member in _HOST_NAMESPACES.items()
        if spec.get(field)
    ]
    for index, volume in enumerate(spec.get("volumes") or ()):
        if "hostPath" in volume:
            path = volumes.get(volume["name"], "volumes") + ".host.sourcePath"
            found.append(Requirement(f"volumes[{index}].hostPath", path, "hostPath volumes"))
    for index, sysctl in enumerate((spec.get("securityContext") or {}).get("sysctls") or ()):
        if sysctl["name"] not in SAFE_SYSCTLS:
            field = f"securityContext.sysctls[{index}]: {sysctl['name']}"
            path = "containerDefinitions[].systemControls"
            found.append(Requirement(field, path, "forbidden sysctls"))
    for field, container in _containers(spec):
        path = containers.get(container["name"], "containerDefinitions")
        found += _container_requirements(container, field, path)
    return found


def report_level(
    spec: Mapping[str, Any],
    container_paths: Mapping[str, str],
    volume_paths: Mapping[str, str],
    report: Report,
) -> None:
    """Record a ``privileged`` finding for each member that needs more than baseline."""
    for need in requirements(spec, container_paths, volume_paths):
        report.add(
            need.path,
            "privileged",
            f"needs the privileged Pod Security level ({need.control}: {need.field}): "
            "a namespace that enforces baseline or restricted refuses the task's pods",
        )


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(kind) or ()):
            yield f"{kind}[{index}]", container


def _container_requirements(
    container: Mapping[str, Any], field: str, path: str
) -> list[Requirement]:
    context = container.get("securityContext") or {}
    found = []
    if context.get("privileged"):
        found.append(
            Requirement(f"{field}.securityContext.privileged", path + ".privileged", "privileged")
        )
    added = [
        c
        for c in (context.get("capabilities") or {}).get("add") or ()
        if c not in BASELINE_CAPABILITIES
    ]
    if added:
        found.append(
            Requirement(
                f"{field}.securityContext.capabilities.add: {', '.join(added)}",
                path + ".linuxParameters.capabilities.add",
                "non-default capabilities",
            )
        )
    for index, port in enumerate(container.get("ports") or ()):
        if port.get("hostPort"):
            found.append(
                Requirement(f"{field}.ports[{index}].hostPort", path + ".portMappings", "hostPort")
            )
    options = path + ".dockerSecurityOptions"
    for profile, control in (
        ("seccompProfile", "seccompProfile"),
        ("appArmorProfile", "forbidden AppArmor profile"),
    ):
        if (context.get(profile) or {}).get("type") == "Unconfined":
            found.append(Requirement(f"{field}.securityContext.{profile}", options, control))
    selinux = context.get("seLinuxOptions") or {}
    if (
        selinux.get("user")
        or selinux.get("role")
        or selinux.get("type", "") not in BASELINE_SELINUX_TYPES
    ):
        found.append(
            Requirement(f"{field}.securityContext.seLinuxOptions", options, "seLinuxOptions")
        )
    return found
