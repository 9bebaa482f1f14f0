"""Tenancy and trust, as a hostile tenant tries them (docs/security.md has the attack table).

The operator runs as the chart installs it: under the chart's ServiceAccount (a token of its
own, so its RBAC is the chart's) and with the arguments of the chart's Deployment, whose
tenancy policy is the default one: no task role, the baseline ceiling, ClusterIP only. The
attacker is ``dev``, a ServiceAccount of the tenant's namespace that holds the chart's
aggregated ``edit`` role on the ECS kinds and nothing else; every ECS object below is applied
as ``dev`` (impersonation). The cluster admin is the tests' own kubectl.

Each attack must be refused and reported on the ECS object (a condition and a Warning Event),
and every object the admin made must come out unchanged: same uid and resourceVersion, same
labels and annotations, and no field ever written by the operator's field manager.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support import chart
from tests.support.ecs import (
    HEALTH_CHECK,
    condition,
    fargate_task_definition,
    resource,
    service,
    status,
)
from tests.support.kube import Kube, identity_of, kubectl, wait_for
from tests.support.operator import TIMERS, OperatorProcess

from ecs_operator import FIELD_MANAGER, nodes
from ecs_operator.handlers.common import NAME_CONFLICT
from ecs_operator.policy import (
    ANNOTATION_ALLOWED_SERVICE_TYPES,
    ANNOTATION_ALLOWED_TASK_ROLES,
    ANNOTATION_POD_SECURITY_CEILING,
    PRIVILEGE_NOT_ALLOWED,
    TASK_ROLE_NOT_ALLOWED,
)
from ecs_operator.render.identity import service_account_name

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
#: the chart's aggregated role the tenant holds in its namespace
EDIT_ROLE = "ecs-operator-edit"
DEPLOYER = "arn:aws:iam::111122223333:role/deployer"


@pytest.fixture(scope="module")
def chart_operator(
    devcluster: Path, crds: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The chart installed with its defaults, and the operator running with its identity and
    arguments (the tenancy flags included)."""
    chart.install()
    directory = tmp_path_factory.mktemp("tenancy")
    config = chart.service_account_kubeconfig(devcluster, directory / "operator.kubeconfig")
    process = OperatorProcess.start(
        directory, *chart.operator_args(), env={"KUBECONFIG": str(config)}, policy=()
    )
    try:
        yield process
    finally:
        process.stop()
        chart.uninstall()


@dataclass(frozen=True)
class Tenant:
    """A namespace and the ServiceAccount ``dev`` that may edit its ECS objects, no more."""

    namespace: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:dev"

    def apply(self, *objects: dict[str, Any], check: bool = True) -> str:
        """``kubectl apply`` as the tenant; the API server's answer (stderr when refused)."""
        result = kubectl(
            "apply", f"--as={self.user}", "-n", self.namespace, "-f", "-",
            input=yaml.safe_dump_all(objects), check=False,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    def delete(self, kind: str, name: str) -> None:
        kubectl("delete", f"--as={self.user}", "-n", self.namespace, kind, name, "--wait=false")

    def can(self, verb: str, what: str, *flags: str) -> bool:
        answer = kubectl(
            "auth", "can-i", f"--as={self.user}", "-n", self.namespace, verb, what, *flags,
            check=False,
        )  # fmt: skip
        return answer.stdout.strip() == "yes"


@pytest.fixture
def tenant(
    chart_operator: OperatorProcess, kube: Kube, request: pytest.FixtureRequest
) -> Iterator[Tenant]:
    namespace = kube.create_test_namespace(f"tenant-{request.node.name}")
    kubectl("create", "serviceaccount", "dev", "-n", namespace)
    kubectl(
        "create", "rolebinding", "dev-ecs", "-n", namespace,
        f"--clusterrole={EDIT_ROLE}", f"--serviceaccount={namespace}:dev",
    )  # fmt: skip
    found = Tenant(namespace)
    wait_for(lambda: found.can("create", "services.ecs-operator.dev"), 30, "the tenant's RBAC")
    yield found
    kube.delete_namespace(namespace)


def admin_allows(namespace: str, **annotations: str) -> None:
    """The admin's tenancy annotations on the namespace (which tenants cannot write)."""
    pairs = [f"{key}={value}" for key, value in annotations.items()]
    kubectl("annotate", "--overwrite", "namespace", namespace, *pairs)


def settled_identity(kind: str, namespace: str, name: str) -> dict[str, Any]:
    """A snapshot once the object's controller has written its status (so that a later
    resourceVersion change can only be someone else's write)."""

    def settled() -> dict[str, Any] | None:
        body = json.loads(kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)
        observed = (body.get("status") or {}).get("observedGeneration")
        return body if kind not in ("deployment",) or observed == 1 else None

    wait_for(settled, 30, f"{kind} {name} settled")
    time.sleep(1)
    return identity_of(kind, namespace, name)


def reasons(namespace: str, name: str) -> list[str]:
    """The reasons of the Events about the object ``name`` (ECS object names are unique
    here)."""
    listed = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    return [e["reason"] for e in listed if e["involvedObject"]["name"] == name]


def wait_degraded(kube: Kube, namespace: str, kind: str, name: str, reason: str) -> str:
    """The Degraded condition's message once it names ``reason``."""

    def degraded() -> str | None:
        found = condition(status(kube, namespace, kind, name), "Degraded")
        return found.get("message") if found.get("reason") == reason else None

    message: str = wait_for(degraded, 30, f"{kind} {name} Degraded with {reason}")
    return message


def admin_service_account(namespace: str, name: str, arn: str) -> None:
    """An admin's IRSA ServiceAccount (even labelled as ours, which the old sweep trusted),
    bound to ``edit`` and run by a CI Deployment."""
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "ecs-operator"},
            "annotations": {"eks.amazonaws.com/role-arn": arn},
        },
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(account))
    kubectl("create", "rolebinding", "ci-edit", "-n", namespace, "--clusterrole=edit",
            f"--serviceaccount={namespace}:{name}")  # fmt: skip
    admin_deployment(namespace, "ci", account=name)


def admin_deployment(namespace: str, name: str, account: str = "default") -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "serviceAccountName": account,
                    "containers": [{"name": "main", "image": "busybox:1.36"}],
                },
            },
        },
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(deployment))


def nothing_runs(kube: Kube, namespace: str) -> None:
    assert kube.pods(namespace) == []
    assert kube.apps.list_namespaced_daemon_set(namespace).items == []
    ours = "app.kubernetes.io/managed-by=ecs-operator"
    assert kube.apps.list_namespaced_deployment(namespace, label_selector=ours).items == []


def test_the_tenant_holds_ecs_rights_only(tenant: Tenant) -> None:
    assert tenant.can("create", "taskdefinitions.ecs-operator.dev")
    for verb, what in (
        ("create", "deployments.apps"),
        ("create", "pods"),
        ("create", "serviceaccounts"),
        ("create", "services"),
        ("get", "secrets"),
        ("patch", "namespaces"),
    ):
        assert not tenant.can(verb, what), f"the tenant may {verb} {what}"
    assert not tenant.can("patch", "services.ecs-operator.dev", "--subresource=status")


def test_a_task_role_the_admin_did_not_allow_runs_nothing(tenant: Tenant, kube: Kube) -> None:
    """No PassRole: ECS checks iam:PassRole; here the admin's patterns decide."""
    tenant.apply(
        fargate_task_definition("app", taskRoleArn=DEPLOYER),
        service("app", "app", desiredCount=2, launchType="FARGATE"),
    )
    message = wait_degraded(kube, tenant.namespace, "Service", "app", TASK_ROLE_NOT_ALLOWED)
    assert DEPLOYER in message and ANNOTATION_ALLOWED_TASK_ROLES in message
    wait_for(lambda: TASK_ROLE_NOT_ALLOWED in reasons(tenant.namespace, "app"), 30, "the Event")
    nothing_runs(kube, tenant.namespace)
    accounts = kube.core.list_namespaced_service_account(tenant.namespace).items
    assert {a.metadata.name for a in accounts} == {"default", "dev"}
    # the admin allows the role: the service starts without anything else changing
    admin_allows(tenant.namespace, **{ANNOTATION_ALLOWED_TASK_ROLES: DEPLOYER})
    wait_for(lambda: len(kube.pods(tenant.namespace)) == 2, 60, "the service's tasks")


def test_an_admins_service_account_is_never_taken_over_or_swept(tenant: Tenant, kube: Kube) -> None:
    """The account the operator would make for a role already exists, the admin's: the tenant's
    service runs nothing, and neither its deletion nor the sweep touches the account."""
    namespace = tenant.namespace
    admin_allows(namespace, **{ANNOTATION_ALLOWED_TASK_ROLES: "arn:aws:iam::*:role/deployer"})
    name = service_account_name(DEPLOYER)
    admin_service_account(namespace, name, DEPLOYER)
    before = identity_of("serviceaccount", namespace, name)
    ci = settled_identity("deployment", namespace, "ci")
    tenant.apply(
        fargate_task_definition("app", taskRoleArn=DEPLOYER),
        service("app", "app", desiredCount=1, launchType="FARGATE"),
    )
    message = wait_degraded(kube, namespace, "Service", "app", NAME_CONFLICT)
    assert f"ServiceAccount/{name}" in message
    assert kube.pods(namespace) == []
    # the same role name in another account gets an account of its own, never this one
    other = "arn:aws:iam::444455556666:role/deployer"
    assert service_account_name(other) != name
    tenant.apply(
        fargate_task_definition("other", taskRoleArn=other),
        service("other", "other", desiredCount=1, launchType="FARGATE"),
    )
    wait_for(lambda: kube.pods(namespace), 60, "the other service's task")
    pod = kube.pods(namespace)[0]
    assert pod.spec.service_account_name == service_account_name(other)
    # everything the tenant made goes: the sweep runs, and leaves the admin's account alone
    for kind, obj in (("services.ecs-operator.dev", "app"), ("services.ecs-operator.dev", "other")):
        tenant.delete(kind, obj)
    wait_for(lambda: not kube.pods(namespace), 60, "the tasks gone")
    swept = service_account_name(other)

    def other_swept() -> bool:
        accounts = {
            a.metadata.name for a in kube.core.list_namespaced_service_account(namespace).items
        }
        return swept not in accounts

    wait_for(other_swept, TIMERS.account_grace + TIMERS.account_sweep_delay + 30, "the sweep")
    assert identity_of("serviceaccount", namespace, name) == before
    assert identity_of("deployment", namespace, "ci") == ci
    assert FIELD_MANAGER not in before["writers"]


def test_a_name_taken_by_an_admins_object_is_left_alone(tenant: Tenant, kube: Kube) -> None:
    """A Service named like an existing Deployment: reported once, no retry loop."""
    namespace = tenant.namespace
    admin_deployment(namespace, "web")
    before = settled_identity("deployment", namespace, "web")
    tenant.apply(
        fargate_task_definition("web"),
        service("web", "web", desiredCount=1, launchType="FARGATE"),
    )
    message = wait_degraded(kube, namespace, "Service", "web", NAME_CONFLICT)
    assert "Deployment/web" in message
    time.sleep(10)  # long enough for a hot retry loop to show
    assert reasons(namespace, "web").count(NAME_CONFLICT) == 1
    assert identity_of("deployment", namespace, "web") == before
    assert FIELD_MANAGER not in before["writers"]
    assert kube.pods(namespace) == []


#: an EC2 task definition asking for every host privilege ECS lets EC2 tasks have
PRIVILEGED_HOST = {
    "networkMode": "host",
    "pidMode": "host",
    "ipcMode": "host",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "busybox:1.36",
            "memory": 128,
            "privileged": True,
            "linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}},
            "dockerSecurityOptions": [
                "seccomp:unconfined",
                "apparmor:unconfined",
                "label:type:spc_t",
            ],
            "mountPoints": [{"sourceVolume": "root", "containerPath": "/host"}],
        }
    ],
    "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
}
#: ... and an unsafe sysctl (sysctls do not go with the host's network)
UNSAFE_SYSCTL = {
    "networkMode": "bridge",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "busybox:1.36",
            "memory": 128,
            "systemControls": [{"namespace": "kernel.core_pattern", "value": "|/tmp/x"}],
        }
    ],
}


@pytest.mark.parametrize(
    ("spec", "paths"),
    [
        (
            PRIVILEGED_HOST,
            [
                "networkMode",
                "pidMode",
                "ipcMode",
                "containerDefinitions[0].privileged",
                "containerDefinitions[0].linuxParameters.capabilities.add",
                "containerDefinitions[0].dockerSecurityOptions",
                "volumes[0].host.sourcePath",
            ],
        ),
        (UNSAFE_SYSCTL, ["systemControls"]),
    ],
    ids=["host-access", "sysctl"],
)
def test_privilege_above_the_ceiling_runs_nothing(
    tenant: Tenant, kube: Kube, spec: dict[str, Any], paths: list[str]
) -> None:
    """The operator's own ceiling (baseline by default), whatever Pod Security admission the
    namespace has (none here): refused before any pod exists, each ECS member named."""
    td = resource("TaskDefinition", "agent", {"family": "agent", **copy.deepcopy(spec)})
    tenant.apply(
        td,
        service("agent", "agent", desiredCount=1, launchType="EC2"),
        service("daemon", "agent", schedulingStrategy="DAEMON", launchType="EC2"),
        resource("Task", "once", {"taskDefinition": "agent", "launchType": "EC2"}),
    )
    for kind, name in (("Service", "agent"), ("Service", "daemon"), ("Task", "once")):
        message = wait_degraded(kube, tenant.namespace, kind, name, PRIVILEGE_NOT_ALLOWED)
        assert ANNOTATION_POD_SECURITY_CEILING in message
        for path in paths:
            assert path in message, (path, message)
    nothing_runs(kube, tenant.namespace)


def test_an_ec2_only_definition_never_reaches_fargate(tenant: Tenant, kube: Kube) -> None:
    """ECS refuses launchType FARGATE for a task definition that requires EC2."""
    spec = {
        "family": "ec2only",
        "requiresCompatibilities": ["EC2"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "user": "0",
                "dockerSecurityOptions": ["seccomp:unconfined", "label:type:spc_t"],
                "systemControls": [{"namespace": "kernel.core_pattern", "value": "|/x"}],
            }
        ],
    }
    tenant.apply(
        resource("TaskDefinition", "ec2only", spec),
        service("ec2only", "ec2only", desiredCount=1, launchType="FARGATE"),
        resource("Task", "once", {"taskDefinition": "ec2only", "launchType": "FARGATE"}),
    )
    for kind, name in (("Service", "ec2only"), ("Task", "once")):
        message = wait_degraded(kube, tenant.namespace, kind, name, "InvalidSpec")
        assert "does not support launch type FARGATE" in message
    nothing_runs(kube, tenant.namespace)


def test_a_capacity_provider_of_the_tenants_cluster_never_reaches_fargate_nodes(
    tenant: Tenant, kube: Kube
) -> None:
    """A tenant writes its Cluster, so it may define an EC2 capacity provider whose
    nodeSelector and tolerations are Fargate's: its tasks are EC2 tasks (no Fargate sandbox),
    and must never land on Fargate's shared virtual nodes, even where the admin raised the
    ceiling to privileged for the namespace's EC2 node agent."""
    admin_allows(tenant.namespace, **{ANNOTATION_POD_SECURITY_CEILING: "privileged"})
    on_fargate = {
        "name": "sneak",
        "nodeSelector": nodes.fargate_node_selector(nodes.FARGATE),
        "tolerations": nodes.fargate_tolerations(),
    }
    everywhere = {"name": "anywhere", "nodeSelector": {}, "tolerations": [{"operator": "Exists"}]}
    cluster = {
        "clusterName": "default",
        "capacityProviders": ["sneak", "anywhere"],
        "capacityProviderDefinitions": [on_fargate, everywhere],
    }
    agent = {
        "family": "agent",
        "networkMode": "host",
        "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
        "containerDefinitions": [
            {
                "name": "agent",
                "image": "busybox:1.36",
                "memory": 64,
                "privileged": True,
                "mountPoints": [{"sourceVolume": "root", "containerPath": "/host"}],
            }
        ],
    }
    tenant.apply(
        resource("Cluster", "default", cluster),
        resource("TaskDefinition", "agent", agent),
        *(
            resource("Task", f"via-{name}", {
                "taskDefinition": "agent",
                "capacityProviderStrategy": [{"capacityProvider": name, "weight": 1}],
            })
            for name in ("sneak", "anywhere")
        ),
    )  # fmt: skip
    fargate_nodes = {
        n.metadata.name
        for n in kube.core.list_node(label_selector=f"{nodes.LABEL_VK_TYPE}={nodes.VK_TYPE}").items
    }
    assert fargate_nodes

    def decided() -> dict[str, str] | None:
        pods = {p.metadata.name: p for p in kube.pods(tenant.namespace)}
        if set(pods) != {"via-sneak-0", "via-anywhere-0"}:
            return None
        placed = {}
        for name, pod in pods.items():
            scheduled = next(
                (c for c in pod.status.conditions or () if c.type == "PodScheduled"), None
            )
            if scheduled is None:
                return None
            placed[name] = pod.spec.node_name or scheduled.reason
        return placed

    placed = wait_for(decided, 60, "the scheduler's decision on both tasks' pods")
    # the provider that names only Fargate's nodes has nowhere to run; the one that tolerates
    # every taint runs on an EC2 node
    assert placed["via-sneak-0"] == "Unschedulable", placed
    assert placed["via-anywhere-0"] not in fargate_nodes | {"Unschedulable"}, placed


def test_sizes_are_bounded(tenant: Tenant, kube: Kube) -> None:
    """ECS's quotas at apply time (5,000 tasks per service; strings bounded, so one object
    cannot carry a megabyte), and its 64 KiB task definition limit by the operator, so that no
    namespace can exhaust the operator's memory for every other one."""
    huge = tenant.apply(
        fargate_task_definition("web"),
        service("web", "web", desiredCount=100_000, launchType="FARGATE"),
        check=False,
    )
    assert "desiredCount" in huge and "5000" in huge, huge
    megabyte = fargate_task_definition("big")
    megabyte["spec"]["containerDefinitions"][0]["environment"] = [
        {"name": "PAYLOAD", "value": "x" * 1_000_000}
    ]
    refused = tenant.apply(megabyte, check=False)
    assert "environment[0].value" in refused and "Too long" in refused, refused
    wide = fargate_task_definition("wide")
    wide["spec"]["containerDefinitions"][0]["environment"] = [
        {"name": f"VAR_{i}", "value": "x" * 4000} for i in range(20)
    ]
    tenant.apply(wide)
    message = wait_degraded(kube, tenant.namespace, "TaskDefinition", "wide", "InvalidSpec")
    assert "64 KiB" in message, message


def test_exposure_outside_the_cluster_is_the_admins_call(tenant: Tenant, kube: Kube) -> None:
    """The load-balancer-type annotation asks; only the admin's annotation allows."""
    td = fargate_task_definition("web")
    lb = [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 80}]
    web = service("web", "web", desiredCount=1, launchType="FARGATE", loadBalancers=lb)
    web["metadata"]["annotations"] = {"ecs-operator.dev/load-balancer-type": "LoadBalancer"}
    tenant.apply(td, web)

    def lb_type() -> str | None:
        found = kube.core.list_namespaced_service(tenant.namespace).items
        return found[0].spec.type if found else None

    assert wait_for(lb_type, 60, "the load balancer's Service") == "ClusterIP"

    def refusal_reported() -> bool:
        # the status of a Service still on its way to steady state may settle for a few
        # seconds (the chart's --status-settle) after its objects are written
        findings = status(kube, tenant.namespace, "Service", "web").get("findings") or []
        return any(
            f["path"] == "loadBalancers" and ANNOTATION_ALLOWED_SERVICE_TYPES in f["message"]
            for f in findings
        )

    wait_for(refusal_reported, 60, "the finding that the LoadBalancer needs the admin's leave")
    admin_allows(tenant.namespace, **{ANNOTATION_ALLOWED_SERVICE_TYPES: "LoadBalancer"})
    wait_for(lambda: lb_type() == "LoadBalancer", 60, "the LoadBalancer the admin allowed")


def test_a_legitimate_tenant_runs_the_privileged_daemon(tenant: Tenant, kube: Kube) -> None:
    """What the admin allows still works: a node agent with its task role, in a namespace whose
    ceiling the admin raised to privileged (examples/daemon-agent.yaml, as written)."""
    role = "arn:aws:iam::111122223333:role/log-agent"
    admin_allows(
        tenant.namespace,
        **{ANNOTATION_ALLOWED_TASK_ROLES: role, ANNOTATION_POD_SECURITY_CEILING: "privileged"},
    )
    objects = [
        o
        for name in ("cluster.yaml", "daemon-agent.yaml")
        for o in yaml.safe_load_all((REPO / "examples" / name).read_text())
        if o
    ]
    for obj in objects:
        if obj["kind"] == "TaskDefinition":
            obj["spec"]["taskRoleArn"] = role
            obj["spec"]["containerDefinitions"][0]["healthCheck"] = HEALTH_CHECK
    tenant.apply(*objects)

    def steady() -> bool:
        current = status(kube, tenant.namespace, "Service", "log-agent")
        running = current.get("runningCount") or 0
        return condition(current, "Ready").get("status") == "True" and running > 0

    wait_for(steady, 90, "the log agent on every EC2 instance")
    pods = kube.pods(tenant.namespace)
    assert {p.spec.service_account_name for p in pods} == {service_account_name(role)}
    assert all(p.spec.host_network for p in pods)
