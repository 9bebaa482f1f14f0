"""The Helm chart on a real API server, and the operator working under the chart's RBAC.

kwok never runs containers, so the chart's Deployment proves only that the API server accepts
it. The RBAC is proven by running the operator here, as a process, with the chart's
ServiceAccount's identity (a TokenRequest token in a kubeconfig of its own): it must bring a
Fargate service to a steady state without a single 403. The aggregated roles are proven by
ServiceAccounts bound to Kubernetes' own `edit` and `view` in one namespace, impersonated.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.support import chart
from tests.support.chart import (
    ACCOUNT,
    CHART,
    RELEASE,
    REPO,
    SYSTEM,
    helm,
    service_account_kubeconfig,
)
from tests.support.ecs import apply, events, wait_steady
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration


def kube_version() -> str:
    server = yaml.safe_load(kubectl("version", "-o", "yaml").stdout)["serverVersion"]
    return str(server["gitVersion"]).lstrip("v")


@pytest.fixture
def installed(devcluster: Path, crds: Path, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """The chart installed as release ecs-operator, watching a namespace per name in the test's
    parameter (created here, uniquely named: Helm puts Roles into them but does not create
    them), or all namespaces."""
    suffix = secrets.token_hex(3)
    watched = [f"e2e-helm-{name}-{suffix}" for name in getattr(request, "param", [])]
    for name in watched:
        kubectl("create", "namespace", name, check=False)
    chart.install({"watchNamespaces": f"{{{','.join(watched)}}}"} if watched else {})
    try:
        yield watched
    finally:
        chart.uninstall()
        for name in watched:
            kubectl("delete", "namespace", name, "--wait=false", check=False)


def can_i(verb: str, resource: str, *scope: str, account: str = ACCOUNT) -> bool:
    result = kubectl("auth", "can-i", f"--as={account}", verb, resource, *scope, check=False)
    return result.stdout.strip() == "yes"


def test_chart_objects_exist(installed: list[str], kube: Kube) -> None:
    deployment = kube.apps.read_namespaced_deployment(RELEASE, SYSTEM)
    assert deployment.spec.template.spec.service_account_name == RELEASE
    assert deployment.spec.template.spec.containers[0].args[:2] == ["run", "--all-namespaces"]
    assert deployment.status.available_replicas == 1  # kwok plays the pod
    assert kube.core.read_namespaced_service_account(RELEASE, SYSTEM).metadata.name == RELEASE
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(kube.api)
    assert rbac.read_cluster_role(RELEASE).rules
    binding = rbac.read_cluster_role_binding(RELEASE)
    assert (binding.subjects[0].name, binding.subjects[0].namespace) == (RELEASE, SYSTEM)


@pytest.mark.parametrize("values", [{}, {"watchNamespaces": "{NAMESPACE}"}], ids=["all", "some"])
def test_rendered_chart_passes_server_dry_run(
    devcluster: Path, crds: Path, namespace: str, values: dict[str, str]
) -> None:
    """The API server (schemas, RBAC validation) accepts every manifest, under a release name
    of its own so nothing collides with an installed release."""
    kubectl("create", "namespace", SYSTEM, check=False)
    sets = [f"{k}={v.replace('NAMESPACE', namespace)}" for k, v in values.items()]
    rendered = helm(
        "template", "ecs-operator-dry-run", str(CHART), "--namespace", SYSTEM,
        "--kube-version", kube_version(), *[f for s in sets for f in ("--set", s)],
    ).stdout  # fmt: skip
    result = kubectl("apply", "--dry-run=server", "-f", "-", input=rendered, check=False)
    assert result.returncode == 0, result.stderr
    assert "created (server dry run)" in result.stdout


def test_no_secrets_for_the_operator(installed: list[str]) -> None:
    assert not can_i("get", "secrets", "-A")
    assert not can_i("list", "secrets", "-n", SYSTEM)
    assert not can_i("create", "serviceaccounts", "--subresource=token", "-A")
    assert not can_i("*", "*", "-A")
    assert can_i("patch", "services.ecs-operator.dev", "--subresource=status", "-A")
    assert can_i("create", "deployments.apps", "-A")
    assert can_i("list", "nodes")


@pytest.mark.parametrize(
    "installed", [[], ["scoped"]], ids=["cluster-wide", "namespaced"], indirect=True
)
def test_operator_works_with_the_charts_rbac(
    installed: list[str], devcluster: Path, kube: Kube, tmp_path: Path
) -> None:
    """A Fargate service reaches a steady state with the operator holding only the chart's
    permissions, and the operator's log has no 403 / forbidden in it."""
    namespace = installed[0] if installed else kube.create_test_namespace("e2e-helm")
    config = service_account_kubeconfig(devcluster, tmp_path / "operator.kubeconfig")
    whoami = kubectl("auth", "whoami", "--kubeconfig", str(config), "-o", "jsonpath={.status}")
    assert ACCOUNT in whoami.stdout
    scope = ("--namespace", namespace) if installed else ("--all-namespaces",)
    process = OperatorProcess.start(tmp_path, *scope, env={"KUBECONFIG": str(config)}, policy=())
    try:
        objects = list(yaml.safe_load_all((REPO / "examples" / "fargate-web.yaml").read_text()))
        apply(namespace, *objects)
        wait_steady(kube, namespace, "web", 2, timeout=120)
        wait_for(
            lambda: any("steady state" in m for m in events(namespace, "web")),
            30,
            "the steady-state event",
        )
        assert process.writes() > 0, "this operator did the work"
    finally:
        process.stop()
        kube.delete_namespace(namespace)
    log = process.log.read_text(errors="replace")
    for needle in ("403", "forbidden", "Forbidden", "Not enough permissions"):
        assert needle not in log, f"{needle!r} in the operator's log:\n{log[-4000:]}"
    assert os.environ["KUBECONFIG"] != str(config), "the tests' own kubectl stays admin"


ECS_KINDS = [
    f"{kind}.ecs-operator.dev" for kind in ("taskdefinitions", "services", "tasks", "clusters")
]
WRITES = ("create", "update", "patch", "delete", "deletecollection")


def bound_account(namespace: str, name: str, cluster_role: str) -> str:
    """A ServiceAccount of ``namespace`` bound there (a RoleBinding) to a built-in ClusterRole."""
    kubectl("create", "serviceaccount", name, "-n", namespace)
    kubectl(
        "create", "rolebinding", f"{name}-{cluster_role}", "-n", namespace,
        f"--clusterrole={cluster_role}", f"--serviceaccount={namespace}:{name}",
    )  # fmt: skip
    return f"system:serviceaccount:{namespace}:{name}"


def test_edit_and_view_in_a_namespace_give_the_ecs_kinds_there_only(
    installed: list[str], kube: Kube
) -> None:
    """Kubernetes' own edit and view roles, bound in one namespace, get the ECS kinds through
    the chart's aggregated roles: edit writes specs (a real create and get, impersonated), never
    status, nowhere else, and cannot touch the Namespace that holds the tenancy annotations;
    view reads and writes nothing."""
    team = kube.create_test_namespace("e2e-helm-tenant")
    other = kube.create_test_namespace("e2e-helm-other")
    try:
        editor = bound_account(team, "dev", "edit")
        viewer = bound_account(team, "auditor", "view")
        # The controller-manager fills edit's rules from the aggregated roles asynchronously.
        wait_for(
            lambda: can_i("create", "services.ecs-operator.dev", "-n", team, account=editor),
            30,
            "the chart's edit rules aggregated into edit",
        )
        for kind in ECS_KINDS:
            for verb in ("get", "list", "watch", *WRITES):
                assert can_i(verb, kind, "-n", team, account=editor), (verb, kind)
            for verb in ("patch", "update"):
                assert not can_i(verb, kind, "--subresource=status", "-n", team, account=editor)
            assert not can_i("get", kind, "-n", other, account=editor)
            assert not can_i("create", kind, "-n", other, account=editor)
            assert can_i("list", kind, "-n", team, account=viewer)
            assert can_i("get", kind, "-n", team, account=viewer)
            assert not any(can_i(verb, kind, "-n", team, account=viewer) for verb in WRITES)
        assert can_i("patch", "services.ecs-operator.dev", "--subresource=scale", "-n", team,
                     account=editor)  # fmt: skip
        assert not can_i("patch", f"namespace/{team}", account=editor)
        assert not can_i("get", "secrets", "-n", team, account=viewer)

        service = {
            "apiVersion": "ecs-operator.dev/v1alpha1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": team},
            "spec": {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1},
        }
        as_editor = (f"--as={editor}", "-n", team)
        kubectl("create", *as_editor, "-f", "-", input=yaml.safe_dump(service))
        got = kubectl("get", *as_editor, "services.ecs-operator.dev", "web", "-o", "yaml").stdout
        assert yaml.safe_load(got)["spec"]["desiredCount"] == 1
        refused = kubectl(
            "patch", *as_editor, "services.ecs-operator.dev", "web", "--subresource=status",
            "--type=merge", "-p", '{"status": {"runningCount": 1}}', check=False,
        )  # fmt: skip
        assert refused.returncode != 0 and "forbidden" in refused.stderr, refused.stderr
        elsewhere = kubectl(
            "create", f"--as={editor}", "-n", other, "-f", "-",
            input=yaml.safe_dump({**service, "metadata": {"name": "web", "namespace": other}}),
            check=False,
        )  # fmt: skip
        assert elsewhere.returncode != 0 and "forbidden" in elsewhere.stderr, elsewhere.stderr
        as_viewer = (f"--as={viewer}", "-n", team)
        assert "web" in kubectl("get", *as_viewer, "services.ecs-operator.dev").stdout
        denied = kubectl(
            "create", *as_viewer, "-f", "-",
            input=yaml.safe_dump({**service, "metadata": {"name": "api", "namespace": team}}),
            check=False,
        )  # fmt: skip
        assert denied.returncode != 0 and "forbidden" in denied.stderr, denied.stderr
    finally:
        kube.delete_namespace(team)
        kube.delete_namespace(other)
