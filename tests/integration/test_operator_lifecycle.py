"""Mechanics a user relies on: shared task-role ServiceAccounts, garbage collection, the
finalizer on task definitions in use, references that resolve late, drift correction, and an
operator that writes nothing once everything has converged."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client.rest import ApiException
from tests.support.ecs import (
    GROUP,
    VERSION,
    apply,
    condition,
    events,
    fargate_task_definition,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator.render.identity import service_account_name

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/web-task"
ACCOUNT = service_account_name(ROLE)


def _exists(read: Any, *args: str) -> bool:
    try:
        read(*args)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def test_task_roles_become_shared_irsa_service_accounts_deleted_after_their_last_user(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("front", taskRoleArn=ROLE),
        fargate_task_definition("back", taskRoleArn=ROLE),
        service("front", "front", desiredCount=1, launchType="FARGATE"),
        service("back", "back", desiredCount=1, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "front", 1)
    wait_steady(kube, namespace, "back", 1)

    accounts = [
        a
        for a in kube.core.list_namespaced_service_account(namespace).items
        if a.metadata.name != "default"
    ]
    assert [a.metadata.name for a in accounts] == [ACCOUNT]
    account = accounts[0]
    assert account.metadata.annotations["eks.amazonaws.com/role-arn"] == ROLE
    assert account.automount_service_account_token is False
    assert not account.metadata.owner_references  # shared: no user owns it
    pods = kube.pods(namespace)
    assert {p.spec.service_account_name for p in pods} == {ACCOUNT}

    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "services", "front")
    wait_for(
        lambda: not _exists(kube.apps.read_namespaced_deployment, "front", namespace),
        60,
        "front's Deployment collected",
    )
    assert _exists(kube.core.read_namespaced_service_account, ACCOUNT, namespace)

    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "services", "back")
    wait_for(
        lambda: not _exists(kube.core.read_namespaced_service_account, ACCOUNT, namespace),
        90,  # the sweep keeps an account at least identities.GRACE seconds after its creation
        "the ServiceAccount deleted after its last user",
    )


def test_finalizer_holds_a_task_definition_while_a_service_uses_it(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("held"),
        service("user", "held", desiredCount=1, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "user", 1)

    kubectl("delete", "-n", namespace, "ecstd/held", "--wait=false")
    wait_for(
        lambda: any("still used by Service user" in m for m in events(namespace, "held")),
        30,
        "the hold event",
    )
    time.sleep(2)
    assert _exists(
        kube.custom.get_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        "taskdefinitions",
        "held",
    )

    kubectl("delete", "-n", namespace, "ecssvc/user")
    wait_for(
        lambda: (
            not _exists(
                kube.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                "taskdefinitions",
                "held",
            )
        ),
        60,
        "the task definition to be deleted once unused",
    )


def test_a_service_waits_for_its_task_definition_and_converges_when_it_appears(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(namespace, service("early", "late", desiredCount=2, launchType="FARGATE"))

    def reported() -> dict[str, Any] | None:
        ready = condition(status(kube, namespace, "Service", "early"), "Ready")
        return ready if ready.get("reason") == "TaskDefinitionNotFound" else None

    ready = wait_for(reported, 30, "the missing task definition reported")
    assert "no TaskDefinition with family late" in ready["message"]
    assert any("no TaskDefinition with family late" in m for m in events(namespace, "early"))

    apply(namespace, fargate_task_definition("late"))
    wait_steady(kube, namespace, "early", 2)


def test_deleted_or_hand_edited_children_are_restored(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("keep"),
        service("keep", "keep", desiredCount=2, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "keep", 2)

    kube.apps.patch_namespaced_deployment(
        "keep",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "evil:latest"}]}}}},
    )
    wait_for(
        lambda: (
            kube.apps.read_namespaced_deployment("keep", namespace)
            .spec.template.spec.containers[0]
            .image
            == "public.ecr.aws/nginx/nginx:1.27"
        ),
        30,
        "the hand edit reverted",
    )

    kube.apps.delete_namespaced_deployment("keep", namespace)
    wait_for(
        lambda: _exists(kube.apps.read_namespaced_deployment, "keep", namespace),
        30,
        "the Deployment restored",
    )
    wait_steady(kube, namespace, "keep", 2)


def test_a_restarted_operator_writes_nothing_when_everything_has_converged(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    objects = []
    for i in range(10):
        objects += [
            fargate_task_definition(f"quiet{i}"),
            service(f"quiet{i}", f"quiet{i}", desiredCount=1, launchType="FARGATE"),
        ]
    apply(namespace, *objects)
    for i in range(10):
        wait_steady(kube, namespace, f"quiet{i}", 1)

    def quiet() -> bool:  # the last status updates (cluster counts refresh after 3 s) landed
        before = operator.writes()
        time.sleep(4)
        return operator.writes() == before

    wait_for(quiet, 30, "the operator to go quiet")
    operator.restart("--namespace", namespace)
    try:
        time.sleep(8)
        assert operator.writes() == 0, operator.metrics()
        assert operator.metric("ecs_operator_reconciles_total", kind="Service") >= 10
    finally:
        operator.restart()
