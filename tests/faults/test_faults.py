"""Faults on the real control plane: the operator killed mid-rollout, the API server and etcd
restarted under it, a user writing while it writes. Modest sizes here (``ECS_FAULT_SERVICES``,
default 20); `make bench` has the large ones."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.chart import helm
from tests.support.ecs import (
    GROUP,
    VERSION,
    apply,
    ec2_task_definition,
    fargate_task_definition,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import TIMERS, OperatorProcess, free_port

from ecs_operator_devtools.devcluster.cluster import DevCluster

pytestmark = pytest.mark.integration

SERVICES = int(os.environ.get("ECS_FAULT_SERVICES", "20"))
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(devcluster: Path) -> DevCluster:
    """The devcluster as an object we can restart components of (its kubeconfig lives in its
    state directory)."""
    handle = DevCluster(devcluster.parent)
    if not handle.state():
        pytest.skip("the reused cluster is not a devcluster this session can restart")
    return handle


def _fleet(n: int, image: str = "public.ecr.aws/nginx/nginx:1.27") -> list[dict[str, Any]]:
    objects = [fargate_task_definition("fleet", image=image)]
    objects += [service(f"svc{i}", "fleet", desiredCount=1, launchType="FARGATE") for i in range(n)]
    return objects


def _owned(kube: Kube, namespace: str) -> tuple[Counter[str], list[str]]:
    """Deployments per owning ECS Service, and Deployments owned by nothing of ours."""
    per_owner: Counter[str] = Counter()
    orphans = []
    for deployment in kube.apps.list_namespaced_deployment(namespace).items:
        owners = [
            r.name
            for r in deployment.metadata.owner_references or []
            if r.api_version == f"{GROUP}/{VERSION}"
        ]
        if owners:
            per_owner[owners[0]] += 1
        else:
            orphans.append(deployment.metadata.name)
    return per_owner, orphans


def _all_steady(kube: Kube, namespace: str, n: int, image_tag: str) -> bool:
    for i in range(n):
        current = status(kube, namespace, "Service", f"svc{i}")
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in current.get("conditions", [])
        )
        if (
            not ready
            or current.get("runningCount") != 1
            or current.get("taskDefinition") != f"fleet:{image_tag}"
        ):
            return False
    return True


def test_operator_killed_five_times_mid_rollout_converges_without_duplicates(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(namespace, *_fleet(SERVICES))
    wait_for(lambda: _all_steady(kube, namespace, SERVICES, "1"), 180, "the fleet steady")

    apply(namespace, fargate_task_definition("fleet", image="public.ecr.aws/nginx/nginx:1.28"))
    rng = random.Random(7)
    for _ in range(5):
        time.sleep(rng.uniform(0.2, 1.5))
        operator.stop(signal.SIGKILL)
        operator.restart()

    wait_for(
        lambda: _all_steady(kube, namespace, SERVICES, "2"), 240, "every service rolled to fleet:2"
    )
    per_owner, orphans = _owned(kube, namespace)
    assert orphans == []
    assert per_owner == Counter({f"svc{i}": 1 for i in range(SERVICES)})
    revisions = kube.apps.list_namespaced_controller_revision(namespace).items
    assert sorted(r.revision for r in revisions if r.metadata.name.startswith("fleet-")) == [1, 2]
    accounts = [a.metadata.name for a in kube.core.list_namespaced_service_account(namespace).items]
    assert sorted(accounts) == ["default", "ecs-no-task-role"]


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_operator_survives_a_restart_of_the_control_plane(
    component: str, operator: OperatorProcess, cluster: DevCluster, kube: Kube, namespace: str
) -> None:
    pid = operator.process.pid
    apply(namespace, *_fleet(SERVICES))
    time.sleep(1.0)  # mid-reconcile
    cluster.restart(component)

    wait_for(
        lambda: _all_steady(kube, namespace, SERVICES, "1"),
        240,
        f"convergence after a {component} restart",
    )
    assert operator.process.pid == pid and operator.process.poll() is None

    # and it still reacts: a scale after the restart is carried out
    kubectl("scale", "-n", namespace, "ecssvc/svc0", "--replicas=2")
    wait_steady(kube, namespace, "svc0", 2)


@pytest.fixture
def partitioned(crds: Path, devcluster: Path, tmp_path: Path) -> Iterator[Path]:
    """An operator that reaches the API server through a forwarder the test can cut
    (tests/support/partition.py): the flag file it returns cuts it while it exists."""
    config = devcluster.read_text()
    server = next(
        line.split("server:")[1].strip() for line in config.splitlines() if "server:" in line
    )
    host, port = server.removeprefix("https://").rsplit(":", 1)
    listen, flag = free_port(), tmp_path / "partition"
    forwarder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.partition", str(listen), host, port, str(flag)],
        cwd=REPO,
    )
    kubeconfig = tmp_path / "partitioned.kubeconfig"
    kubeconfig.write_text(config.replace(server, f"https://{host}:{listen}"))
    operator = OperatorProcess.start(tmp_path, env={"KUBECONFIG": str(kubeconfig)})
    try:
        yield flag
    finally:
        operator.stop()
        forwarder.kill()
        forwarder.wait()


def test_what_went_while_the_operator_was_cut_off_holds_nothing_for_good(
    partitioned: Path, cluster: DevCluster, kube: Kube, namespace: str
) -> None:
    """The operator's node loses the network while the API server restarts (an upgrade); a
    user deletes a Service and someone a Deployment meanwhile. Reconnected, kopf's watches
    list again (their resource versions are gone with the API server's cache) and report what
    is there, never what went. Before, the Service stayed in the operator's store for good:
    its TaskDefinition's deletion waited on it until the operator's next restart, and the
    deleted Deployment was never put back."""
    apply(
        namespace,
        ec2_task_definition("fam"),
        ec2_task_definition("fam2"),
        service("user", "fam", desiredCount=1, launchType="EC2"),
        service("keep", "fam2", desiredCount=2, launchType="EC2"),
    )

    def deployments() -> set[str]:
        return {d.metadata.name for d in kube.apps.list_namespaced_deployment(namespace).items}

    wait_for(lambda: deployments() == {"user", "keep"}, 60, "the two workloads")
    partitioned.touch()
    time.sleep(1)
    cluster.restart("kube-apiserver")
    kubectl("delete", "-n", namespace, f"services.{GROUP}/user", "--wait=false")
    kubectl("delete", "-n", namespace, "deployment/keep")
    time.sleep(2)
    partitioned.unlink()

    wait_for(lambda: "keep" in deployments(), 60, "the deleted Deployment put back")
    kubectl("delete", "-n", namespace, f"taskdefinitions.{GROUP}/fam", "--wait=false")

    def family_gone() -> bool:
        found = kubectl("get", "-n", namespace, f"taskdefinitions.{GROUP}/fam", check=False)
        return found.returncode != 0

    wait_for(family_gone, 60, "the family's deletion, no Service using it any more")


@pytest.fixture
def peering(crds: Path) -> str:
    """kopf's peering CRDs and the cluster's peering object, as the chart installs them with
    ``peering.enabled`` (left in place: a standalone operator ignores them)."""
    for template in ("templates/peering.yaml", "templates/peering-objects.yaml"):
        rendered = helm(
            "template", "ecs-operator", str(REPO / "charts" / "ecs-operator"),
            "--set", "peering.enabled=true", "--show-only", template,
        ).stdout  # fmt: skip
        kubectl("apply", "-f", "-", input=rendered)
        kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
    return "ecs-operator"


def test_a_new_pod_that_the_peering_keeps_paused_writes_nothing(
    peering: str, tmp_path: Path, kube: Kube, namespace: str
) -> None:
    """The chart's rolling update with peering: the new operator starts while the old one
    runs, and kopf's peering keeps it paused (its watches do not start). Before, its own
    queue ran all the same: the startup check and what it woke reconciled, and wrote, from a
    store no watch kept current (it put back a Deployment a user had just deleted, the old
    operator's job)."""
    first = OperatorProcess.start(tmp_path, "--peering", peering)
    second: OperatorProcess | None = None
    try:
        apply(namespace, ec2_task_definition("fam"), service("web", "fam", desiredCount=2))
        wait_for(lambda: kube.apps.list_namespaced_deployment(namespace).items, 60, "the workload")
        second = OperatorProcess.start(tmp_path, "--peering", peering)
        wait_for(lambda: "conflicting operators" in second.log.read_text(), 30, "the pause")
        kubectl("delete", "-n", namespace, "deployment/web")
        time.sleep(TIMERS.prewarm_confirm * 2)  # its startup check, and what it would wake
        assert second.writes() == 0, second.log.read_text()[-2000:]
    finally:
        for process in (first, second):
            if process is not None:
                process.stop()


def test_a_user_editing_while_the_operator_rolls_loses_nothing_and_nothing_flaps(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("duo"),
        service("duo", "duo", desiredCount=2, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "duo", 2)

    # The operator rolls a new revision while the user scales the service.
    apply(namespace, fargate_task_definition("duo", image="public.ecr.aws/nginx/nginx:1.28"))
    kubectl("scale", "-n", namespace, "ecssvc/duo", "--replicas=4")

    def settled() -> bool:
        current = status(kube, namespace, "Service", "duo")
        return current.get("taskDefinition") == "duo:2" and current.get("runningCount") == 4

    wait_for(settled, 120, "both edits to land")
    wait_steady(kube, namespace, "duo", 4)

    deployment = kube.apps.read_namespaced_deployment("duo", namespace)
    assert deployment.spec.replicas == 4
    assert deployment.spec.template.spec.containers[0].image == "public.ecr.aws/nginx/nginx:1.28"
    generation = deployment.metadata.generation
    time.sleep(5)
    assert kube.apps.read_namespaced_deployment("duo", namespace).metadata.generation == generation
