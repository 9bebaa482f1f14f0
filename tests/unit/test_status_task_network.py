"""What a task runs, where it runs and where it is reached, as describe-tasks shows it
(status/containers.py and status/task_network.py, pure): the image as the task definition
wrote it, its digest and runtime id, its Availability Zone, an awsvpc task's interface (its
pod's IP) and a bridge or host task's host ports."""

from __future__ import annotations

from typing import Any

from ecs_operator.nodes import LABEL_ZONE
from ecs_operator.status.task import task_state

UID = "2f0c5b1e-8d3a-4b6f-9c1d-7e2a4b6c8d0e"
DIGEST = "sha256:" + "ab" * 32
RUNTIME = "c0ffee" * 10 + "cafe"


def _pod(mode: str, ports: list[dict[str, Any]], *ips: str, host: bool = False) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "t-0",
            "uid": UID,
            "annotations": {"ecs-operator.dev/network-mode": mode},
        },
        "spec": {
            "nodeName": "node-1",
            "hostNetwork": host,
            "containers": [{"name": "app", "image": "nginx:1.27", "ports": ports}],
        },
        "status": {
            "phase": "Running",
            "podIP": ips[0] if ips else None,
            "podIPs": [{"ip": ip} for ip in ips],
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "docker.io/library/nginx:1.27",
                    "imageID": f"docker.io/library/nginx@{DIGEST}",
                    "containerID": f"containerd://{RUNTIME}",
                    "state": {"running": {"startedAt": "2026-12-03T10:00:05Z"}},
                }
            ],
        },
    }


def _shown(pod: dict[str, Any]) -> dict[str, Any]:
    return task_state(pod, ["app"], stop_requested=False).to_ecs("t-0")


def test_a_container_shows_its_image_as_written_its_digest_and_its_runtime_id() -> None:
    container = _shown(_pod("bridge", [], "10.244.1.7"))["containers"][0]

    assert container["image"] == "nginx:1.27"
    assert container["imageDigest"] == DIGEST
    assert container["runtimeId"] == RUNTIME


def test_an_awsvpc_task_is_reached_on_its_pods_ip_as_on_its_network_interface() -> None:
    shown = _shown(_pod("awsvpc", [{"containerPort": 80}], "10.244.1.7", "fd00::7"))

    details = {"privateIPv4Address": "10.244.1.7", "ipv6Address": "fd00::7"}
    [attachment] = shown["attachments"]
    assert (attachment["id"], attachment["type"], attachment["status"]) == (
        UID,
        "ElasticNetworkInterface",
        "ATTACHED",
    )
    assert {d["name"]: d["value"] for d in attachment["details"]} == details
    assert shown["containers"][0]["networkInterfaces"] == [
        {"attachmentId": UID, "privateIpv4Address": "10.244.1.7", "ipv6Address": "fd00::7"}
    ]
    assert "networkBindings" not in shown["containers"][0]


def test_an_awsvpc_task_without_an_address_yet_has_no_interface_to_show() -> None:
    shown = _shown(_pod("awsvpc", [{"containerPort": 80}]))

    assert "attachments" not in shown
    assert "networkInterfaces" not in shown["containers"][0]


def test_a_bridge_tasks_static_host_ports_are_its_bindings_and_dynamic_ones_are_not() -> None:
    ports = [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 9090, "protocol": "UDP"}]

    shown = _shown(_pod("bridge", ports, "10.244.1.7"))

    assert "attachments" not in shown
    assert shown["containers"][0]["networkBindings"] == [
        {"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 8080, "protocol": "tcp"}
    ]


def test_a_host_tasks_ports_are_bound_on_its_host() -> None:
    ports = [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]

    shown = _shown(_pod("host", ports, "192.168.0.4", host=True))

    assert shown["containers"][0]["networkBindings"] == [
        {"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 80, "protocol": "tcp"},
        {"bindIP": "0.0.0.0", "containerPort": 53, "hostPort": 53, "protocol": "udp"},
    ]


def test_a_task_runs_in_the_zone_its_pod_was_bound_in() -> None:
    """Kubernetes 1.35+ copies the node's zone label onto the pod as it binds it (the
    PodTopologyLabelsAdmission plugin, beta): ECS's availabilityZone of the task."""
    pod = _pod("awsvpc", [], "10.244.1.7")
    pod["metadata"]["labels"] = {LABEL_ZONE: "us-east-1c"}

    assert _shown(pod)["availabilityZone"] == "us-east-1c"
    assert "availabilityZone" not in _shown(_pod("awsvpc", [], "10.244.1.7"))
