"""Volumes and mounts."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.render import LaunchVolume, RenderError

from .helpers import container, containers, fargate, findings_at, render, spec, task


def _volumes(td_volumes: list[dict[str, Any]], **ctx: Any) -> dict[str, dict[str, Any]]:
    mounts = [
        {"sourceVolume": v["name"], "containerPath": f"/m/{k}"} for k, v in enumerate(td_volumes)
    ]
    rendered = render(task([container(mountPoints=mounts)], volumes=td_volumes), **ctx)
    return {v["name"]: v for v in spec(rendered)["volumes"]}


def test_host_volumes_and_empty_volumes() -> None:
    volumes = _volumes(
        [
            {"name": "data", "host": {"sourcePath": "/srv/data"}},
            {"name": "tmp", "host": {}},
            {"name": "x"},
        ]
    )
    assert volumes["data"] == {"name": "data", "hostPath": {"path": "/srv/data"}}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}} and volumes["x"]["emptyDir"] == {}


def test_docker_volumes_by_scope() -> None:
    volumes = _volumes(
        [
            {"name": "task", "dockerVolumeConfiguration": {"scope": "task"}},
            {
                "name": "shared",
                "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": True},
            },
        ]
    )
    assert volumes["task"]["emptyDir"] == {}
    assert volumes["shared"]["persistentVolumeClaim"] == {"claimName": "docker-shared"}


def test_efs_is_a_claim_with_the_csi_volume_handle() -> None:
    efs = {
        "fileSystemId": "fs-1",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-2", "iam": "ENABLED"},
    }
    td = task(
        [container(mountPoints=[{"sourceVolume": "e", "containerPath": "/e", "readOnly": True}])],
        volumes=[{"name": "e", "efsVolumeConfiguration": efs}],
    )
    rendered = render(td)
    claim = spec(rendered)["volumes"][0]["persistentVolumeClaim"]["claimName"]
    ref = rendered.references[0]
    assert (ref.kind, ref.name) == ("PersistentVolumeClaim", claim)
    assert (
        ref.details["volumeHandle"] == "fs-1::fsap-2" and ref.details["mountOptions"] == "tls,iam"
    )
    assert containers(rendered)["app"]["volumeMounts"] == [
        {"name": "e", "mountPath": "/e", "readOnly": True}
    ]


def test_configured_at_launch_uses_the_launch_configuration() -> None:
    volumes = _volumes(
        [{"name": "ebs", "configuredAtLaunch": True}], launch_volumes={"ebs": LaunchVolume(50)}
    )
    template = volumes["ebs"]["ephemeral"]["volumeClaimTemplate"]
    assert template["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert _volumes([{"name": "ebs", "configuredAtLaunch": True}])["ebs"]["emptyDir"] == {}


def test_unsupported_file_systems_stand_in_as_empty_dirs() -> None:
    s3 = {"name": "s3", "s3filesVolumeConfiguration": {"fileSystemArn": "arn:aws:s3files:::fs"}}
    td = task(
        [container(mountPoints=[{"sourceVolume": "s3", "containerPath": "/s3"}])], volumes=[s3]
    )
    rendered = render(td)
    assert spec(rendered)["volumes"][0]["emptyDir"] == {}
    assert findings_at(rendered, "volumes[0].s3filesVolumeConfiguration")[0].kind == "unsupported"


def test_volumes_from_shares_the_source_mounts_transitively() -> None:
    td = task(
        [
            container("a", mountPoints=[{"sourceVolume": "v", "containerPath": "/v"}]),
            container("b", volumesFrom=[{"sourceContainer": "a"}]),
            container("c", volumesFrom=[{"sourceContainer": "b", "readOnly": True}]),
        ],
        volumes=[{"name": "v"}],
    )
    rendered = containers(render(td))
    assert rendered["b"]["volumeMounts"] == [{"name": "v", "mountPath": "/v"}]
    assert rendered["c"]["volumeMounts"] == [{"name": "v", "mountPath": "/v", "readOnly": True}]


def test_tmpfs_and_shared_memory_are_memory_backed() -> None:
    linux = {"tmpfs": [{"containerPath": "/tmp", "size": 64}], "sharedMemorySize": 256}
    rendered = render(task([container(linuxParameters=linux)]))
    volumes = {v["name"]: v for v in spec(rendered)["volumes"]}
    assert volumes["app-tmpfs-0"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    assert volumes["app-shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    paths = {m["mountPath"] for m in containers(rendered)["app"]["volumeMounts"]}
    assert paths == {"/tmp", "/dev/shm"}


def test_generated_volume_names_never_collide_with_task_volumes() -> None:
    td = task(
        [
            container(
                mountPoints=[{"sourceVolume": "app-shm", "containerPath": "/x"}],
                linuxParameters={"sharedMemorySize": 64},
            )
        ],
        volumes=[{"name": "app-shm"}],
    )
    names = [v["name"] for v in spec(render(td))["volumes"]]
    assert len(set(names)) == 2


def test_host_paths_never_reach_fargate() -> None:
    volumes = _volumes([{"name": "h", "host": {"sourcePath": "/"}}], **fargate())
    assert volumes["h"] == {"name": "h", "emptyDir": {}}


@pytest.mark.parametrize(
    ("cd", "path"),
    [
        (
            container(mountPoints=[{"sourceVolume": "nope", "containerPath": "/x"}]),
            "containerDefinitions[0].mountPoints[0].sourceVolume",
        ),
        (
            container(volumesFrom=[{"sourceContainer": "ghost"}]),
            "containerDefinitions[0].volumesFrom[0].sourceContainer",
        ),
    ],
)
def test_dangling_references_are_render_errors(cd: dict[str, object], path: str) -> None:
    with pytest.raises(RenderError) as error:
        render(task([cd]))
    assert error.value.paths == [path]


def test_duplicate_mount_paths_keep_the_first() -> None:
    td = task(
        [
            container(
                mountPoints=[
                    {"sourceVolume": "a", "containerPath": "/x"},
                    {"sourceVolume": "b", "containerPath": "/x"},
                ]
            )
        ],
        volumes=[{"name": "a"}, {"name": "b"}],
    )
    rendered = render(td)
    assert len(containers(rendered)["app"]["volumeMounts"]) == 1
    assert findings_at(rendered, "containerDefinitions[0]")[0].kind == "dropped"
