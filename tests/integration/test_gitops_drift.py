"""The operator never writes what a GitOps tool applied (issue 17): objects applied client-side
(kubectl apply, Argo CD's default) and server-side (Flux, Argo CD's ServerSideApply) show no
difference from their manifests once steady, the way each tool computes it (``kubectl diff``):
the operator writes status, a TaskDefinition's finalizer and its own children, never a spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.ecs import ec2_task_definition, resource, service, status, wait_steady
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration


def _manifest(directory: Path, name: str, *objects: dict[str, Any]) -> str:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


def test_steady_objects_show_no_drift_from_their_manifests(
    operator: OperatorProcess, kube: Kube, namespace: str, tmp_path: Path
) -> None:
    client_side = _manifest(
        tmp_path,
        "client-side",
        ec2_task_definition("web"),
        service("web", "web", desiredCount=2, launchType="EC2"),
        resource("Task", "once", {"taskDefinition": "web", "launchType": "EC2"}),
    )
    server_side = _manifest(
        tmp_path,
        "server-side",
        resource("Cluster", "batch", {"clusterName": "batch"}),
        ec2_task_definition("api"),
        service("api", "api", cluster="batch", desiredCount=2, launchType="EC2"),
    )
    kubectl("apply", "-n", namespace, "-f", client_side)
    kubectl("apply", "--server-side", "-n", namespace, "-f", server_side)
    wait_steady(kube, namespace, "web", 2)
    wait_steady(kube, namespace, "api", 2)
    wait_for(
        lambda: status(kube, namespace, "Task", "once").get("lastStatus") == "RUNNING",
        60,
        "the task running",
    )

    for diff in (
        ["diff", "-n", namespace, "-f", client_side],
        ["diff", "--server-side", "-n", namespace, "-f", server_side],
    ):
        shown = kubectl(*diff, check=False)
        assert (shown.returncode, shown.stdout) == (0, ""), shown.stderr
