"""The operator on an API server without pod-level resources (Kubernetes before 1.34, or the
PodLevelResources gate off), on a second devcluster started so: it finds out at startup and
spreads each task's size over its containers. Before, it rendered pod-level resources there
too, which the API server dropped without a word: the tasks ran with no limit at all, and
requested nothing of the scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
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


@pytest.fixture
def older_cluster(tmp_path: Path, devcluster: Path) -> Iterator[Path]:
    """The kubeconfig of a devcluster whose API server drops pod-level resources."""
    cluster = DevCluster(tmp_path / "older", feature_gates=OLDER)
    cluster.up(log=print)
    try:
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


def test_the_task_size_is_spread_over_the_containers_where_pods_cannot_have_it(
    older_cluster: Path, tmp_path: Path
) -> None:
    _kubectl(older_cluster, "apply", "--server-side", "-f", str(CRDS))
    _kubectl(older_cluster, "wait", "--for=condition=Established", "-f", str(CRDS))
    _kubectl(older_cluster, "create", "namespace", "shop")
    objects = [
        fargate_task_definition("web"),
        service("web", "web", desiredCount=1, launchType="FARGATE"),
    ]
    operator = OperatorProcess.start(tmp_path, env={"KUBECONFIG": str(older_cluster)})
    try:
        _kubectl(older_cluster, "apply", "-n", "shop", "-f", "-",
                 input=yaml.safe_dump_all(objects))  # fmt: skip
        deployment = wait_for(lambda: _deployment(older_cluster), 60, "the service's Deployment")
    finally:
        operator.stop()

    pod = deployment["spec"]["template"]["spec"]
    [app] = pod["containers"]
    assert "resources" not in pod
    assert app["resources"]["limits"] == {"cpu": "250m", "memory": "512Mi"}
    assert "spread over the containers" in operator.log.read_text()
