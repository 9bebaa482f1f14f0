"""`kubectl ecs` against the devcluster and the operator: what a user sees after applying the
Fargate example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.ecs import (
    apply,
    ec2_task_definition,
    get,
    resource,
    service,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator.plugin import cli

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def describe(namespace: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> str:
    args = ["describe-services", "--cluster", "default", "-n", namespace, *extra]
    assert cli.main(args) == 0
    return capsys.readouterr().out


def test_describe_services_shows_the_steady_service(
    operator: OperatorProcess, namespace: str, kube: Kube, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(namespace, *yaml.safe_load_all((REPO / "examples" / "fargate-web.yaml").read_text()))
    wait_steady(kube, namespace, "web", 2)
    before_spec = get(kube, namespace, "Service", "web")["spec"]
    text = wait_for(
        lambda: (out := describe(namespace, capsys=capsys)) and "steady state" in out and out,
        30,
        "the steady-state event in kubectl ecs",
    )
    header, row = text.splitlines()[:2]
    assert header.split()[2:5] == ["DESIRED", "RUNNING", "PENDING"]
    assert row.split()[:5] == ["web", "ACTIVE", "2", "2", "0"]
    assert "(service web) has reached a steady state." in text

    described = json.loads(describe(namespace, "--services", "web", "-o", "json", capsys=capsys))
    (service,) = described["services"]
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (2, 2, 0)
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"

    assert cli.main(["list-tasks", "--cluster", "default", "-n", namespace, "-o", "json"]) == 0
    tasks = json.loads(capsys.readouterr().out)["taskArns"]
    assert len(tasks) == 2

    # aws ecs update-service --force-new-deployment, then aws ecs wait services-stable
    before = {p.metadata.name for p in kube.pods(namespace)}
    restart = ["update-service", "--service", "web", "--force-new-deployment", "-n", namespace]
    assert cli.main(restart) == 0
    capsys.readouterr()

    def replaced() -> bool:
        running = [p for p in kube.pods(namespace) if p.status.phase == "Running"]
        return len(running) == 2 and not before & {p.metadata.name for p in running}

    wait_for(replaced, 60, "two new tasks of web")
    assert cli.main(["wait", "services-stable", "--services", "web", "-n", namespace]) == 0
    assert capsys.readouterr().out == ""
    assert get(kube, namespace, "Service", "web")["spec"] == before_spec


def test_describe_services_shows_a_service_that_cannot_start(
    operator: OperatorProcess, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(namespace, service("orphan", "missing-family", desiredCount=1))

    text = wait_for(
        lambda: (out := describe(namespace, capsys=capsys)) and "DEGRADED" in out and out,
        40,
        "kubectl ecs to show the service degraded",
    )
    assert text.splitlines()[1].split()[:2] == ["orphan", "DEGRADED"]
    assert "orphan: Degraded (TaskDefinitionNotFound): taskDefinition:" in text
    assert "(service orphan) failed to launch a task with (error taskDefinition:" in text


def test_a_placement_failure_is_a_warning_naming_the_selector(
    operator: OperatorProcess, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = resource(
        "Cluster", "default", {"clusterName": "default", "capacityProviders": ["nowhere"]}
    )
    strategy = [{"capacityProvider": "nowhere", "weight": 1}]
    apply(
        namespace,
        cluster,
        ec2_task_definition("stuck"),
        service("stuck", "stuck", desiredCount=1, capacityProviderStrategy=strategy),
    )

    def warning() -> dict[str, Any] | None:
        listed = kubectl("get", "events", "-n", namespace, "-o", "json").stdout
        return next(
            (
                e
                for e in json.loads(listed)["items"]
                if e["involvedObject"]["name"] == "stuck" and "unable to place" in e["message"]
            ),
            None,
        )

    event = wait_for(warning, 60, "the placement failure event")
    assert event["type"] == "Warning"
    assert "The task's nodeSelector: ecs-operator.dev/node-pool=nowhere" in event["message"]


def test_kubectl_finds_the_plugin(operator: OperatorProcess, namespace: str, kube: Kube) -> None:
    """`kubectl ecs` runs the installed console script (kubectl's plugin mechanism)."""
    scripts = Path(sys.executable).parent
    if not (scripts / "kubectl-ecs").exists():
        pytest.skip("kubectl-ecs is not installed (pip install -e . again after pyproject edits)")
    apply(namespace, *yaml.safe_load_all((REPO / "examples" / "cluster.yaml").read_text()))
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"}
    kubectl = shutil.which("kubectl", path=env["PATH"])
    assert kubectl is not None

    def described() -> str | None:
        result = subprocess.run(
            [kubectl, "ecs", "describe-clusters", "--clusters", "production", "-n", namespace],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        return result.stdout if "ACTIVE" in result.stdout else None

    text = wait_for(described, 30, "the production cluster ACTIVE")
    assert text.splitlines()[1].split()[:2] == ["production", "ACTIVE"]
