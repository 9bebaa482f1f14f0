"""Resources: cpu shares as requests, memory limits/requests, task size, Fargate sizes, GPUs."""

from __future__ import annotations

import pytest

from ecs_operator.render import keys
from ecs_operator.render.resources import TaskSize, capacity_provisioned, fargate_size, millicores

from .helpers import container, containers, fargate, findings_at, render, spec, task


@pytest.mark.parametrize(
    ("units", "milli"), [(1, 1), (10, 10), (128, 125), (256, 250), (1024, 1000), (4096, 4000)]
)
def test_cpu_units_round_up_to_millicores(units: int, milli: int) -> None:
    assert millicores(units) == milli


def test_container_cpu_is_a_request_without_limit_on_ec2() -> None:
    res = containers(render(task([container(cpu=256)])))["app"]["resources"]
    assert res == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}


def test_memory_reservation_is_the_request() -> None:
    res = containers(render(task([container(memory=1024, memoryReservation=256)])))["app"]
    assert res["resources"] == {"requests": {"memory": "256Mi"}, "limits": {"memory": "1024Mi"}}


def test_only_memory_reservation_gives_no_limit() -> None:
    cd = {"name": "app", "image": "x", "memoryReservation": 128}
    assert containers(render(task([cd])))["app"]["resources"] == {"requests": {"memory": "128Mi"}}


def test_windows_cpu_is_also_a_limit() -> None:
    td = task(
        [container(cpu=512)], runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}
    )
    assert containers(render(td))["app"]["resources"]["limits"]["cpu"] == "500m"


def test_task_size_as_pod_level_resources() -> None:
    rendered = render(task(cpu="1024", memory="2GB"), pod_level_resources=True)
    assert spec(rendered)["resources"] == {
        "requests": {"cpu": "1000m", "memory": "2048Mi"},
        "limits": {"cpu": "1000m", "memory": "2048Mi"},
    }


def test_task_size_distributed_without_pod_level_resources() -> None:
    td = task(
        [container("a", cpu=256, memory=None), container("b", memory=None)],
        cpu="1024",
        memory="1024",
    )
    rendered = render(td)
    a, b = containers(rendered)["a"]["resources"], containers(rendered)["b"]["resources"]
    assert a["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert b["requests"] == {"cpu": "750m", "memory": "512Mi"}
    assert a["limits"] == b["limits"] == {"cpu": "1000m", "memory": "1024Mi"}
    assert findings_at(rendered, "cpu")[0].kind == "mapped-approx"


def test_cpu_shares_scale_proportionally_when_all_containers_have_cpu() -> None:
    td = task([container("a", cpu=100), container("b", cpu=300)], cpu="1024")
    rendered = containers(render(td))
    a = int(rendered["a"]["resources"]["requests"]["cpu"].removesuffix("m"))
    b = int(rendered["b"]["resources"]["requests"]["cpu"].removesuffix("m"))
    assert a + b == 1000 and abs(a - 250) <= 1


@pytest.mark.parametrize(
    ("cpu", "memory", "size"),
    [
        (256, 512, (256, 512)),
        (1024, 8192, (1024, 8192)),
        (1024, 8193, (2048, 9216)),
        (100, 3000, (512, 3072)),
        (8192, 20000, (8192, 20480)),
    ],
)
def test_fargate_sizes_round_up(cpu: int, memory: int, size: tuple[int, int]) -> None:
    assert fargate_size(cpu, memory) == size


def test_no_fargate_size_is_large_enough() -> None:
    assert fargate_size(16384, 200_000) is None


def test_capacity_provisioned_wording() -> None:
    assert capacity_provisioned(TaskSize(256, 512)) == "0.25vCPU 0.5GB"
    assert capacity_provisioned(TaskSize(2048, 9216)) == "2vCPU 9GB"


def test_fargate_task_is_rounded_and_annotated() -> None:
    rendered = render(task([container(cpu=300, memory=700)]), **fargate())
    annotations = rendered.pod_template["metadata"]["annotations"]
    assert annotations[keys.ANNOTATION_CAPACITY_PROVISIONED] == "0.5vCPU 1GB"
    assert findings_at(rendered, "memory")[0].kind == "mapped-approx"


def test_gpu_and_unsupported_accelerators() -> None:
    cd = container(
        resourceRequirements=[{"type": "GPU", "value": "2"}, {"type": "GPU", "value": "ALL"}]
    )
    rendered = render(task([cd]))
    assert containers(rendered)["app"]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert [
        f.kind for f in findings_at(rendered, "containerDefinitions[0].resourceRequirements[1]")
    ] == ["unsupported"]


def test_ephemeral_storage_goes_to_the_first_essential_container_on_fargate_only() -> None:
    """ECS: ephemeralStorage expands "the total amount of ephemeral storage available ... for
    tasks hosted on AWS Fargate"; an EC2 task uses its instance's disk, and a request of the
    size there would only keep it off nodes with smaller disks."""
    td = task(
        [container("side", essential=False), container("main")], ephemeralStorage={"sizeInGiB": 30}
    )
    on_fargate = containers(render(td, **fargate()))
    assert on_fargate["main"]["resources"]["limits"]["ephemeral-storage"] == "30Gi"
    assert "ephemeral-storage" not in on_fargate["side"]["resources"]["limits"]
    on_ec2 = render(td)
    assert all(
        "ephemeral-storage" not in c["resources"].get(part, {})
        for c in containers(on_ec2).values()
        for part in ("limits", "requests")
    )
    assert [f.kind for f in findings_at(on_ec2, "ephemeralStorage")] == ["ignored"]


def test_windows_on_ec2_ignores_the_task_size() -> None:
    td = task(cpu="1024", runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2019_FULL"})
    rendered = render(td, pod_level_resources=True)
    assert "resources" not in spec(rendered)
    assert findings_at(rendered, "cpu")[0].kind == "ignored"
