"""Task volumes and container mounts.

A bind mount (``host.sourcePath``) is a ``hostPath``; a Docker-managed or task-scoped volume
lives as long as the task, an ``emptyDir``. Storage that outlives the task is a
PersistentVolumeClaim by naming convention (docs/mapping.md, "Volumes"): ``docker-<volume>`` for
``shared`` Docker volumes, ``efs-<fileSystemId>[...]`` for EFS (statically provisioned with the
EFS CSI driver; the claim's ``volumeHandle`` is reported). ``configuredAtLaunch`` volumes get a
per-pod generic ephemeral volume, like the per-task EBS volume ECS creates. ``tmpfs`` and
``sharedMemorySize`` are memory-backed emptyDirs (they count against memory, as tmpfs does).
``volumesFrom`` mounts the source container's mounts again, transitively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api.shapes import (
    ContainerDefinition,
    DockerVolumeConfiguration,
    EFSVolumeConfiguration,
    RegisterTaskDefinitionRequest,
    Volume,
)
from .context import RenderContext
from .errors import RenderError, Violation, fail
from .findings import ObjectRef, Report
from .names import NameAllocator, dns_label, prefixed

EFS_CSI_DRIVER = "efs.csi.aws.com"
SHM_PATH = "/dev/shm"

Source = dict[str, Any]


@dataclass(slots=True)
class VolumeSet:
    """The pod's volumes and the ECS-name -> volume-name map the mounts use."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    allocator: NameAllocator = field(default_factory=NameAllocator)

    def add(self, wanted: str, seed: str, source: Source) -> str:
        """Add a volume under a unique name and return the name."""
        name = self.allocator.claim(wanted, seed)
        self.volumes.append({"name": name, **source})
        return name


def task_volumes(
    td: RegisterTaskDefinitionRequest, ctx: RenderContext, report: Report
) -> VolumeSet:
    """The task's ``volumes`` as pod volumes."""
    volset = VolumeSet()
    for k, volume in enumerate(td.volumes or ()):
        path = f"volumes[{k}]"
        if not volume.name:
            report.ignored(path, "a volume without a name cannot be mounted")
            continue
        volset.names[volume.name] = volset.add(
            dns_label(volume.name), volume.name, _source(volume, path, ctx, report)
        )
    return volset


def _source(volume: Volume, path: str, ctx: RenderContext, report: Report) -> Source:
    name = str(volume.name)
    if volume.configuredAtLaunch:
        return _launch_volume(name, path, ctx, report)
    if volume.efsVolumeConfiguration is not None:
        return _efs(volume.efsVolumeConfiguration, path, report)
    if volume.dockerVolumeConfiguration is not None:
        return _docker(name, volume.dockerVolumeConfiguration, path, report)
    if volume.s3filesVolumeConfiguration is not None:
        return _stand_in(path + ".s3filesVolumeConfiguration", "S3 Files", report)
    if volume.fsxWindowsFileServerVolumeConfiguration is not None:
        return _stand_in(
            path + ".fsxWindowsFileServerVolumeConfiguration", "FSx for Windows", report
        )
    if volume.host is not None and volume.host.sourcePath:
        return {"hostPath": {"path": volume.host.sourcePath}}
    return {"emptyDir": {}}


def _stand_in(path: str, what: str, report: Report) -> Source:
    report.unsupported(
        path, f"{what} file systems have no Kubernetes mapping here; an empty emptyDir stands in"
    )
    return {"emptyDir": {}}


def _launch_volume(name: str, path: str, ctx: RenderContext, report: Report) -> Source:
    launch = ctx.launch_volumes.get(name)
    if launch is None or not launch.size_gib:
        report.approx(
            path + ".configuredAtLaunch",
            "no volume configuration from the service or task: an emptyDir stands in",
        )
        return {"emptyDir": {}}
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{launch.size_gib}Gi"}},
    }
    if launch.storage_class:
        spec["storageClassName"] = launch.storage_class
    return {"ephemeral": {"volumeClaimTemplate": {"spec": spec}}}


def _efs(efs: EFSVolumeConfiguration, path: str, report: Report) -> Source:
    auth = efs.authorizationConfig
    access_point = auth.accessPointId if auth else None
    root = efs.rootDirectory if efs.rootDirectory not in (None, "", "/") else ""
    handle = efs.fileSystemId + (
        f":{root}:{access_point}" if access_point else f":{root}" if root else ""
    )
    options = [
        *(["tls"] if efs.transitEncryption == "ENABLED" else []),
        *(["iam"] if auth and auth.iam == "ENABLED" else []),
        *([f"tlsport={efs.transitEncryptionPort}"] if efs.transitEncryptionPort else []),
    ]
    claim = prefixed("efs", handle)
    details = {"driver": EFS_CSI_DRIVER, "volumeHandle": handle, "accessModes": "ReadWriteMany"}
    if options:
        details["mountOptions"] = ",".join(options)
    report.need(ObjectRef("PersistentVolumeClaim", claim, efs.fileSystemId, path, details=details))
    return {"persistentVolumeClaim": {"claimName": claim}}


def _docker(name: str, docker: DockerVolumeConfiguration, path: str, report: Report) -> Source:
    if docker.driver not in (None, "local"):
        report.approx(
            path + ".dockerVolumeConfiguration.driver",
            f"Docker volume driver {docker.driver!r} is not used",
        )
    if docker.scope != "shared":
        if docker.driverOpts or docker.labels:
            report.ignored(
                path + ".dockerVolumeConfiguration", "driverOpts and labels of a task volume"
            )
        return {"emptyDir": {}}
    claim = prefixed("docker", name)
    details = {"autoprovision": str(bool(docker.autoprovision)).lower()}
    if docker.driver:
        details["driver"] = docker.driver
    report.need(ObjectRef("PersistentVolumeClaim", claim, name, path, details=details))
    return {"persistentVolumeClaim": {"claimName": claim}}


def _mount_points(
    defs: Sequence[ContainerDefinition], i: int, volset: VolumeSet, seen: set[int]
) -> list[dict[str, Any]]:
    """Container ``i``'s mounts: its mount points, then (transitively) its ``volumesFrom``."""
    seen.add(i)
    cd = defs[i]
    mounts: list[dict[str, Any]] = []
    for j, mp in enumerate(cd.mountPoints or ()):
        path = f"containerDefinitions[{i}].mountPoints[{j}]"
        if mp.sourceVolume not in volset.names:
            raise fail(path + ".sourceVolume", f"no task volume named {mp.sourceVolume!r}")
        if not mp.containerPath:
            raise fail(path + ".containerPath", "a mount point needs a containerPath")
        mount: dict[str, Any] = {
            "name": volset.names[mp.sourceVolume],
            "mountPath": mp.containerPath,
        }
        if mp.readOnly:
            mount["readOnly"] = True
        mounts.append(mount)
    index = {c.name: k for k, c in enumerate(defs)}
    for j, vf in enumerate(cd.volumesFrom or ()):
        source = index.get(vf.sourceContainer or "")
        if source is None or source == i:
            path = f"containerDefinitions[{i}].volumesFrom[{j}].sourceContainer"
            raise RenderError(
                [Violation(path, f"names no other container: {vf.sourceContainer!r}")]
            )
        if source in seen:
            continue
        for mount in _mount_points(defs, source, volset, seen):
            mounts.append({**mount, "readOnly": True} if vf.readOnly else dict(mount))
    return mounts


def container_mounts(
    defs: Sequence[ContainerDefinition],
    i: int,
    k8s_name: str,
    volset: VolumeSet,
    report: Report,
) -> list[dict[str, Any]]:
    """All volume mounts of container ``i``, adding its tmpfs and /dev/shm volumes to the pod."""
    path = f"containerDefinitions[{i}]"
    cd = defs[i]
    mounts = _mount_points(defs, i, volset, set())
    if cd.volumesFrom:
        report.approx(
            path + ".volumesFrom",
            "the source's declared mounts are shared; volumes its image declares (VOLUME) are not",
        )
    linux = cd.linuxParameters
    for t, tmpfs in enumerate((linux.tmpfs if linux else None) or ()):
        name = volset.add(f"{k8s_name}-tmpfs-{t}", f"{k8s_name}/tmpfs/{t}", _memory_dir(tmpfs.size))
        mounts.append({"name": name, "mountPath": tmpfs.containerPath})
        if tmpfs.mountOptions:
            report.ignored(
                f"{path}.linuxParameters.tmpfs[{t}].mountOptions",
                "mount options of a memory-backed emptyDir cannot be set",
            )
    if linux and linux.sharedMemorySize:
        name = volset.add(f"{k8s_name}-shm", f"{k8s_name}/shm", _memory_dir(linux.sharedMemorySize))
        mounts.append({"name": name, "mountPath": SHM_PATH})
    return _unique_paths(mounts, path, report)


def _memory_dir(size_mib: int) -> Source:
    empty: dict[str, Any] = {"medium": "Memory"}
    if size_mib > 0:
        empty["sizeLimit"] = f"{size_mib}Mi"
    return {"emptyDir": empty}


def _unique_paths(mounts: list[dict[str, Any]], path: str, report: Report) -> list[dict[str, Any]]:
    unique: dict[str, dict[str, Any]] = {}
    for mount in mounts:
        taken = unique.setdefault(mount["mountPath"], mount)
        if taken is not mount:
            report.dropped(
                path,
                f"{mount['mountPath']} is mounted twice; the first mount ({taken['name']}) is kept",
            )
    return list(unique.values())


#: EFS is elastic: the CSI driver ignores a volume's capacity, which Kubernetes still requires
EFS_NOMINAL_CAPACITY = "5Gi"
#: a shared Docker volume has no size in ECS: the claim asks for this much of the default class
DOCKER_NOMINAL_CAPACITY = "1Gi"


def volume_objects(ref: ObjectRef, namespace: str) -> list[dict[str, Any]]:
    """What a user applies for a volume claim the pods name (``convert --emit-volumes``): for
    EFS, a statically provisioned PersistentVolume of the EFS CSI driver (the volume handle and
    mount options the task definition asked for) and its claim; for a shared Docker volume, a
    claim on the cluster's default StorageClass; nothing for other references."""
    if ref.kind != "PersistentVolumeClaim":
        return []
    details = ref.details
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": ref.name, "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"]},
    }
    if details.get("driver") != EFS_CSI_DRIVER:
        claim["spec"]["resources"] = {"requests": {"storage": DOCKER_NOMINAL_CAPACITY}}
        return [claim]
    csi: dict[str, Any] = {"driver": EFS_CSI_DRIVER, "volumeHandle": details["volumeHandle"]}
    volume: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{namespace}-{ref.name}"[:253]},
        "spec": {
            "capacity": {"storage": EFS_NOMINAL_CAPACITY},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "csi": csi,
            "claimRef": {"namespace": namespace, "name": ref.name},
        },
    }
    if details.get("mountOptions"):
        volume["spec"]["mountOptions"] = details["mountOptions"].split(",")
    claim["spec"] = {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "",
        "volumeName": volume["metadata"]["name"],
        "resources": {"requests": {"storage": EFS_NOMINAL_CAPACITY}},
    }
    return [volume, claim]
