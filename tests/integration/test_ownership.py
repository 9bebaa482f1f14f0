"""Ownership, never adoption (issue #12): the operator changes or deletes only what it created.

Each test puts an object the operator did not create where an ECS object needs its name (an
admin's ServiceAccount, a Deployment, a core Service, an HPA, a PDB, a pod) and checks what a
user sees: the other object byte-for-byte as it was (uid, resourceVersion, labels,
annotations), nothing run that would depend on it, one ``NameConflict`` condition and Warning
Event naming it, no retry loop; and, where the other object goes, the ECS object recovering.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml
from tests.support.ecs import (
    apply,
    condition,
    ec2_task_definition,
    fargate_task_definition,
    resource,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, identity_of, kubectl, wait_for
from tests.support.operator import TIMERS, OperatorProcess

from ecs_operator.render import keys
from ecs_operator.render.identity import NO_ROLE_SERVICE_ACCOUNT, service_account_name

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/deployer"
MANAGED = {keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY}


def _create(namespace: str, *objects: dict[str, Any]) -> None:
    """Create as an admin would (a plain create: no annotation of kubectl's own)."""
    kubectl("create", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects))


def _read(namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    found = kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(found.stdout) if found.returncode == 0 else None


def _processed(obj: dict[str, Any]) -> bool:
    """Whether the object's own controller has written its status (if it has one)."""
    state = obj.get("status") or {}
    if obj["kind"] in ("Deployment", "PodDisruptionBudget"):
        return state.get("observedGeneration") == obj["metadata"].get("generation")
    if obj["kind"] == "HorizontalPodAutoscaler":
        return bool(state.get("conditions"))
    if obj["kind"] == "Pod":
        return state.get("phase") == "Running"
    return True


def _settled(namespace: str, kind: str, name: str) -> dict[str, Any]:
    """The object's identity once its own controller (if any) has written its status and
    stopped: what the operator must leave as it is from then on."""
    wait_for(lambda: _processed(_read(namespace, kind, name) or {}), 60, f"{kind}/{name} seen")
    seen: list[dict[str, Any]] = []

    def still() -> dict[str, Any] | None:
        time.sleep(0.5)
        seen.append(identity_of(kind, namespace, name))
        return seen[-1] if len(seen) >= 6 and seen[-6] == seen[-1] else None

    return wait_for(still, 60, f"{kind}/{name} to settle")


def _conflict(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    """The Degraded condition of an ECS object once it reports a name conflict."""

    def reported() -> dict[str, Any]:
        degraded = condition(status(kube, namespace, kind, name), "Degraded")
        return degraded if degraded.get("reason") == "NameConflict" else {}

    degraded = wait_for(reported, 60, f"{kind} {name} to report NameConflict")
    assert degraded["status"] == "True"
    ready = condition(status(kube, namespace, kind, name), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NameConflict")
    return degraded


def _conflict_events(kube: Kube, namespace: str, name: str) -> list[str]:
    return [
        str(e.message)
        for e in kube.core.list_namespaced_event(namespace).items
        if e.reason == "NameConflict" and e.type == "Warning" and e.involved_object.name == name
    ]


def _owned_by(kube: Kube, namespace: str, name: str) -> list[str]:
    """The Deployments of the namespace an ECS object named ``name`` controls."""
    return [
        d.metadata.name
        for d in kube.apps.list_namespaced_deployment(namespace).items
        if any(r.controller and r.name == name for r in d.metadata.owner_references or [])
    ]


def _reconciles(operator: OperatorProcess, kind: str, outcome: str) -> float:
    return operator.metric("ecs_operator_reconciles_total", kind=kind, outcome=outcome)


def _log_mentions(operator: OperatorProcess, *words: str) -> list[str]:
    return [
        line
        for line in operator.log.read_text(errors="replace").splitlines()
        if all(word in line for word in words)
    ]


def _ci_deployment(name: str, account: str | None = None, replicas: int = 1) -> dict[str, Any]:
    """An admin's Deployment (not the operator's: no owner, no label of ours)."""
    pod: dict[str, Any] = {"containers": [{"name": "ci", "image": "busybox:1.36"}]}
    if account:
        pod["serviceAccountName"] = account
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "ci"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "ci"}},
            "template": {"metadata": {"labels": {"app": "ci"}}, "spec": pod},
        },
    }


def test_an_admin_account_with_our_name_is_never_taken_over_used_or_swept(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    account = service_account_name(ROLE)
    admin = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": account,
            "labels": MANAGED,  # even our label: only the operator's marker makes it ours
            "annotations": {keys.ANNOTATION_IRSA_ROLE: ROLE},
        },
    }
    _create(namespace, admin, _ci_deployment("ci", account))
    before = identity_of("serviceaccount", namespace, account)

    apply(
        namespace,
        fargate_task_definition("web", taskRoleArn=ROLE),
        service("web", "web", desiredCount=2, launchType="FARGATE"),
        # a Service of ours that runs, so that deleting it sweeps the namespace's accounts
        fargate_task_definition("other"),
        service("other", "other", desiredCount=1, launchType="FARGATE"),
    )
    degraded = _conflict(kube, namespace, "Service", "web")
    assert degraded["message"] == (
        f"ServiceAccount/{account} already exists and was not created by this Service: left alone"
    )
    wait_steady(kube, namespace, "other", 1)
    assert _owned_by(kube, namespace, "web") == []  # the tenant's tasks never run as it
    assert {p.spec.service_account_name for p in kube.pods(namespace, "app=ci")} <= {account}
    runs_as_admin = {
        p.metadata.name for p in kube.pods(namespace) if p.spec.service_account_name == account
    }
    assert runs_as_admin == {p.metadata.name for p in kube.pods(namespace, "app=ci")}
    assert identity_of("serviceaccount", namespace, account) == before

    kubectl("delete", "services.ecs-operator.dev", "web", "other", "-n", namespace)
    gone = time.monotonic()
    # the sweep ran: it deleted our own unused account...
    wait_for(
        lambda: _read(namespace, "serviceaccount", NO_ROLE_SERVICE_ACCOUNT) is None,
        90,
        "the operator's own unused account swept",
    )
    # ...and, past its grace period, still leaves the admin's alone
    time.sleep(
        max(0.0, gone + TIMERS.account_grace + TIMERS.account_sweep_delay + 2 - time.monotonic())
    )
    assert identity_of("serviceaccount", namespace, account) == before


def test_a_deployment_named_like_the_service_is_left_alone_reported_once_then_replaced(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    _create(namespace, _ci_deployment("web", replicas=0))
    before = _settled(namespace, "deployment", "web")

    apply(
        namespace,
        fargate_task_definition("web"),
        service("web", "web", desiredCount=2, launchType="FARGATE"),
    )
    degraded = _conflict(kube, namespace, "Service", "web")
    assert degraded["message"] == (
        "Deployment/web already exists and was not created by this Service: left alone"
    )
    retried = _reconciles(operator, "Service", "conflict")
    # a whole backoff period: at least one more reconcile meets the conflict...
    wait_for(
        lambda: _reconciles(operator, "Service", "conflict") > retried,
        TIMERS.max_backoff + 15,
        "a retry",
    )
    # ...and changes nothing, reports nothing new, and loops on no refused write
    assert identity_of("deployment", namespace, "web") == before
    assert [p for p in kube.pods(namespace) if p.metadata.labels.get("app") != "ci"] == []
    assert len(_conflict_events(kube, namespace, "web")) == 1
    assert _log_mentions(operator, namespace, "422") == []

    kube.apps.delete_namespaced_deployment("web", namespace)
    wait_steady(kube, namespace, "web", 2, timeout=TIMERS.max_backoff + 60)
    assert _owned_by(kube, namespace, "web") == ["web"]
    assert condition(status(kube, namespace, "Service", "web"), "Degraded")["status"] == "False"
    assert len(_conflict_events(kube, namespace, "web")) == 1


def _attached_case(kind: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The admin's object of ``kind``, the ECS objects of a Service that renders one of that
    kind and name, and kubectl's name of the kind."""
    nothing = {"app": "nothing"}
    if kind == "Service":
        td = ec2_task_definition("shop", networkMode="awsvpc")
        td["spec"]["containerDefinitions"][0]["portMappings"] = [
            {"name": "http", "containerPort": 8080}
        ]
        network = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}}
        ecs = service(
            "shop",
            "shop",
            desiredCount=1,
            launchType="EC2",
            loadBalancers=[{"loadBalancerName": "shop", "containerName": "app",
                            "containerPort": 8080}],
            networkConfiguration=network,
        )  # fmt: skip
        other = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "shop-lb-8080"},
            "spec": {"selector": nothing, "ports": [{"port": 80}]},
        }
        return other, [td, ecs], "service"
    if kind == "HorizontalPodAutoscaler":
        scaling = {
            "minCapacity": 1,
            "maxCapacity": 2,
            "targetTrackingScalingPolicies": [
                {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 60}
            ],
        }
        ecs = service("shop", "shop", desiredCount=1, launchType="EC2", autoScaling=scaling)
        other = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "shop"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "none"},
                "minReplicas": 1,
                "maxReplicas": 2,
            },
        }
        return other, [ec2_task_definition("shop"), ecs], "hpa"
    ecs = service(
        "shop",
        "shop",
        desiredCount=2,
        launchType="EC2",
        deploymentConfiguration={"minimumHealthyPercent": 50},
    )
    other = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "shop"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": nothing}},
    }
    return other, [ec2_task_definition("shop"), ecs], "pdb"


@pytest.mark.parametrize("kind", ["Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"])
def test_an_attached_object_named_like_ours_is_left_alone_and_reported_once(
    operator: OperatorProcess, kube: Kube, namespace: str, kind: str
) -> None:
    other, ecs, kubectl_kind = _attached_case(kind)
    name = other["metadata"]["name"]
    _create(namespace, other)
    before = _settled(namespace, kubectl_kind, name)

    apply(namespace, *ecs)
    degraded = _conflict(kube, namespace, "Service", "shop")
    assert degraded["message"] == (
        f"{kind}/{name} already exists and was not created by this Service: left alone"
    )
    # the tasks do not depend on it: they run
    replicas = ecs[1]["spec"]["desiredCount"]
    wait_for(
        lambda: status(kube, namespace, "Service", "shop").get("runningCount") == replicas,
        90,
        "the service's tasks running",
    )
    assert identity_of(kubectl_kind, namespace, name) == before
    assert len(_conflict_events(kube, namespace, "shop")) == 1

    kubectl("delete", kubectl_kind, name, "-n", namespace)
    wait_steady(kube, namespace, "shop", replicas, timeout=TIMERS.max_backoff + 60)
    ours = wait_for(lambda: _read(namespace, kubectl_kind, name), 30, f"our {kind}")
    assert [r["name"] for r in ours["metadata"]["ownerReferences"]] == ["shop"]
    assert len(_conflict_events(kube, namespace, "shop")) == 1
    assert _log_mentions(operator, namespace, "422") == []


def test_two_roles_of_one_name_in_two_accounts_get_two_accounts(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    arns = {
        "first": "arn:aws:iam::111111111111:role/app",
        "second": "arn:aws:iam::222222222222:role/app",
    }
    for name, arn in arns.items():
        apply(
            namespace,
            fargate_task_definition(name, taskRoleArn=arn),
            service(name, name, desiredCount=1, launchType="FARGATE"),
        )
    for name in arns:
        wait_steady(kube, namespace, name, 1)

    accounts = {
        a.metadata.name: a.metadata.annotations
        for a in kube.core.list_namespaced_service_account(namespace).items
        if a.metadata.name != "default"
    }
    assert accounts == {
        service_account_name(arn): {
            keys.ANNOTATION_IRSA_ROLE: arn,
            keys.ANNOTATION_TASK_ROLE: arn,
            "ecs-operator.dev/applied-hash": accounts[service_account_name(arn)][
                "ecs-operator.dev/applied-hash"
            ],
        }
        for arn in arns.values()
    }
    for name, arn in arns.items():
        pods = kube.pods(namespace, f"{keys.LABEL_SERVICE}={name}")
        assert pods and {p.spec.service_account_name for p in pods} == {service_account_name(arn)}


def test_a_task_whose_pod_name_is_taken_reports_it_and_starts_once_it_is_free(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    foreign = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "job-0", "labels": MANAGED},  # labelled like ours, even
        "spec": {"containers": [{"name": "x", "image": "busybox:1.36"}]},
    }
    _create(namespace, foreign)
    before = _settled(namespace, "pod", "job-0")

    apply(
        namespace,
        ec2_task_definition("job"),
        resource("Task", "job", {"taskDefinition": "job", "launchType": "EC2"}),
    )
    degraded = _conflict(kube, namespace, "Task", "job")
    assert degraded["message"] == (
        "Pod/job-0 already exists and was not created by this Task: left alone"
    )
    assert status(kube, namespace, "Task", "job")["lastStatus"] == "PROVISIONING"
    assert identity_of("pod", namespace, "job-0") == before
    assert len(_conflict_events(kube, namespace, "job")) == 1

    kubectl("delete", "pod", "job-0", "-n", namespace, "--grace-period=0", "--force")

    def started() -> bool:
        pod = _read(namespace, "pod", "job-0")
        owners = (pod or {"metadata": {}})["metadata"].get("ownerReferences") or []
        return [r["name"] for r in owners] == ["job"]

    wait_for(started, TIMERS.max_backoff + 30, "the task's own pod")
    wait_for(
        lambda: (
            condition(status(kube, namespace, "Task", "job"), "Degraded").get("status") == "False"
        ),
        30,
        "the conflict cleared",
    )
