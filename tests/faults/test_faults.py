"""Faults on the real control plane: the operator killed mid-rollout, the API server and etcd
restarted under it, a user writing while it writes. Modest sizes here (``ECS_FAULT_SERVICES``,
default 20); `make bench` has the large ones."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.support.ecs import (
    GROUP,
    VERSION,
    apply,
    fargate_task_definition,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator_devtools.devcluster.cluster import DevCluster

pytestmark = pytest.mark.integration

SERVICES = int(os.environ.get("ECS_FAULT_SERVICES", "20"))


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
