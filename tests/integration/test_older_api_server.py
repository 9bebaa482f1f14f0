"""The operator where pod-level resources would not be enforced, each on a devcluster of its
own: an API server without them (Kubernetes before 1.34, or the PodLevelResources gate off),
and a node whose kubelet is older than 1.34 (nodes lag the control plane during an upgrade).
It finds out at startup and spreads each task's size over its containers. Before, it rendered
pod-level resources there too, which the API server dropped without a word (or an old kubelet
would not enforce): the tasks ran with no limit at all, and requested nothing of the
scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.ecs import fargate_task_definition, service
from tests.support.kube import kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator_devtools.devcluster.cluster import DevCluster

pytestmark = pytest.mark.integration
#: PodLevelResources off, as before Kubernetes 1.34 (and the gate 1.36 has that needs it)
OLDER = {"PodLevelResources": False, "InPlacePodLevelResourcesVerticalScaling": False}
CRDS = Path(__file__).resolve().parents[2] / "crds"
LAGGING = "lagging-0"


@contextmanager
def _cluster(directory: Path, gates: dict[str, bool] | None = None) -> Iterator[Path]:
    """The kubeconfig of a devcluster of its own, with the CRDs and a namespace ``shop``."""
    cluster = DevCluster(directory, feature_gates=gates)
    cluster.up(log=print)
    try:
        _kubectl(cluster.kubeconfig, "apply", "--server-side", "-f", str(CRDS))
        _kubectl(cluster.kubeconfig, "wait", "--for=condition=Established", "-f", str(CRDS))
        _kubectl(cluster.kubeconfig, "create", "namespace", "shop")
        yield cluster.kubeconfig
    finally:
        cluster.down()


def _kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    return kubectl("--kubeconfig", str(kubeconfig), *args, input=input).stdout


def _deployment(kubeconfig: Path) -> dict[str, Any]:
    """The service's Deployment; nothing ({}) until there is one."""
    found = kubectl("--kubeconfig", str(kubeconfig), "get", "deployment", "web", "-n", "shop",
                    "-o", "json", check=False)  # fmt: skip
    return dict(json.loads(found.stdout)) if found.returncode == 0 else {}


def _service_pod(kubeconfig: Path, directory: Path) -> tuple[dict[str, Any], str]:
    """The pod template the operator gives a Fargate service there, and what it logged."""
    objects = [
        fargate_task_definition("web"),
        service("web", "web", desiredCount=1, launchType="FARGATE"),
    ]
    operator = OperatorProcess.start(directory, env={"KUBECONFIG": str(kubeconfig)})
    try:
        _kubectl(kubeconfig, "apply", "-n", "shop", "-f", "-", input=yaml.safe_dump_all(objects))
        deployment = wait_for(lambda: _deployment(kubeconfig), 60, "the service's Deployment")
    finally:
        operator.stop()
    return deployment["spec"]["template"]["spec"], operator.log.read_text()


def _spread(pod: dict[str, Any]) -> bool:
    """Whether the task size (256 CPU units, 512 MiB) is the container's own, not the pod's."""
    [app] = pod["containers"]
    return "resources" not in pod and app["resources"]["limits"] == {
        "cpu": "250m",
        "memory": "512Mi",
    }


def test_the_task_size_is_spread_where_the_api_server_drops_pod_level_resources(
    tmp_path: Path, devcluster: Path
) -> None:
    with _cluster(tmp_path / "older", OLDER) as kubeconfig:
        pod, log = _service_pod(kubeconfig, tmp_path)

    assert _spread(pod)
    assert "the API server drops pod-level resources" in log


def test_the_task_size_is_spread_while_a_kubelet_would_not_enforce_pod_level_resources(
    tmp_path: Path, devcluster: Path
) -> None:
    lagging = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": LAGGING}}
    version = {"status": {"nodeInfo": {"kubeletVersion": "v1.33.4"}}}
    with _cluster(tmp_path / "lagging") as kubeconfig:
        _kubectl(kubeconfig, "create", "-f", "-", input=yaml.safe_dump(lagging))
        _kubectl(kubeconfig, "patch", "node", LAGGING, "--subresource=status", "--type=merge",
                 "-p", json.dumps(version))  # fmt: skip
        pod, log = _service_pod(kubeconfig, tmp_path)

    assert _spread(pod)
    assert f"older than 1.34 would not enforce pod-level resources ({LAGGING})" in log
