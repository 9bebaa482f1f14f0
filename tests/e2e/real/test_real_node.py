"""A real node joins the devcluster, runs a container for real, and goes without a trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.kube import Kube, kubectl, wait_for

from ecs_operator import nodes
from ecs_operator_devtools.devcluster import images, nodeconfig, realnode
from ecs_operator_devtools.devcluster.cluster import DevCluster

pytestmark = pytest.mark.real


def _ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def test_real_node_is_ready_in_pool_real(kube: Kube) -> None:
    node = kube.node("real-0")
    assert _ready(node)
    expected = nodeconfig.node_labels("real-0", images.host_arch(), 0)
    assert expected[nodes.LABEL_NODE_POOL] == "real"
    assert {k: node.metadata.labels.get(k) for k in expected} == expected
    assert node.status.node_info.container_runtime_version.startswith("containerd://2.")


def _busybox_pod(name: str, script: str) -> dict[str, Any]:
    """A pod of pool ``real`` running ``sh -c script`` in the local busybox image."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": nodes.pool_node_selector(nodeconfig.POOL),
            "containers": [
                {
                    "name": "main",
                    "image": images.BUSYBOX,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", script],
                }
            ],
        },
    }


def test_container_exit_code_and_logs_are_real(kube: Kube, namespace: str) -> None:
    kube.core.create_namespaced_pod(namespace, _busybox_pod("exit3", "echo hi; exit 3"))
    done = wait_for(
        lambda: (
            (p := kube.core.read_namespaced_pod("exit3", namespace)).status.phase == "Failed" and p
        ),
        90,
        "pod exit3 to fail",
    )
    (status,) = done.status.container_statuses
    assert done.spec.node_name == "real-0"
    assert status.state.terminated.exit_code == 3
    assert kubectl("logs", "-n", namespace, "exit3").stdout == "hi\n"


def test_exec_reaches_the_container_through_the_kubelet(kube: Kube, namespace: str) -> None:
    """The API server reaches the kubelet by its InternalIP with its client certificate."""
    kube.core.create_namespaced_pod(namespace, _busybox_pod("sleeper", "sleep 60"))
    wait_for(
        lambda: kube.core.read_namespaced_pod("sleeper", namespace).status.phase == "Running",
        60,
        "pod sleeper to run",
    )
    done = kubectl("exec", "-n", namespace, "sleeper", "--", "cat", "/proc/1/cmdline")
    assert done.stdout.split("\0")[:2] == ["sleep", "60"]  # sh -c execs a lone command


@pytest.mark.takes_cluster_down
def test_down_leaves_nothing_on_the_host(real_cluster: DevCluster | None) -> None:
    """After ``down``: no process, mount, bridge, iptables chain, cgroup or fixed path of the
    real nodes is left (runs last: it takes the session's devcluster down)."""
    if real_cluster is None:
        pytest.skip("reusing a devcluster (ECS_OPERATOR_TEST_KUBECONFIG): not ours to take down")
    assert realnode.leftovers(), "a running real node must show in leftovers()"
    real_cluster.down(purge=False)
    assert realnode.leftovers() == []
    assert not (Path(real_cluster.state_dir) / "realnodes" / "real-0" / "containerd").exists()
