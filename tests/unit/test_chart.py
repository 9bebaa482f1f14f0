"""The Helm chart (charts/ecs-operator), rendered with `helm template` (no cluster).

The RBAC tests pin least privilege: the permissions the chart grants the operator must be
exactly the code-derived matrix below (no more, no wildcards, never Secrets), for every
combination of values that changes RBAC; the aggregated roles give people the ECS kinds and
never the operator's status; and the chart README's tables list exactly what is rendered.

helm is the devcluster's (~/.cache/ecs-operator/bin). `make test` runs the unit tests before it
builds the binaries, so on a fresh machine this module builds helm itself (once, cached, as
`make binaries` would) rather than skip; it skips only where neither Go nor a helm on PATH is
available.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import ecs_operator
from ecs_operator.ecsapi import server
from ecs_operator.handlers.common import FINALIZER
from ecs_operator_devtools.devcluster import binaries
from ecs_operator_devtools.devcluster.errors import DevclusterError

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "ecs-operator"
RELEASE, NAMESPACE = "ecs-operator", "ecs-operator-system"
#: `helm template` has no cluster to ask; the devcluster's version (and the chart's floor).
KUBE_VERSION = binaries.KUBE_VERSION.lstrip("v")

Manifest = dict[str, Any]
Permission = tuple[str, str, str]  # (apiGroup, resource, verb)


@cache
def find_helm() -> str | None:
    """The devcluster's helm (built now if Go is there and it is not yet), else helm on PATH."""
    module = next(m for m in binaries.MODULES if m.directory == "helm")
    if not binaries.is_built(module):
        try:
            binaries.build(module)
        except DevclusterError:
            return shutil.which("helm")
    return str(binaries.cache_dir(module) / "helm")


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    executable = find_helm()
    if executable is None:
        pytest.skip("helm is not built (make binaries) nor on PATH")
    result = subprocess.run([executable, *args], capture_output=True, text=True, cwd=REPO)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def _set_flags(values: dict[str, str]) -> list[str]:
    return [flag for key, value in values.items() for flag in ("--set", f"{key}={value}")]


@cache
def _render(items: tuple[tuple[str, str], ...]) -> tuple[Manifest, ...]:
    result = helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "--kube-version", KUBE_VERSION, *_set_flags(dict(items)),
    )  # fmt: skip
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(**values: str) -> list[Manifest]:
    """The chart's manifests for ``--set key=value`` pairs (``watchNamespaces="{a,b}"``)."""
    return list(_render(tuple(sorted(values.items()))))


def of_kind(manifests: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: Iterable[Manifest], kind: str) -> Manifest:
    found = of_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(manifests: Iterable[Manifest]) -> Manifest:
    """The operator's container (not the API's, with api.enabled)."""
    operators = [m for m in manifests if not is_api(m)]
    containers = one(operators, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    found: Manifest = containers[0]
    return found


def operator_role(manifests: Iterable[Manifest]) -> Manifest:
    """The operator's ClusterRole (the aggregated roles for people are ClusterRoles too)."""
    roles = [m for m in of_kind(manifests, "ClusterRole") if m["metadata"]["name"] == RELEASE]
    assert len(roles) == 1, roles
    return roles[0]


def aggregated(manifests: Iterable[Manifest], role: str) -> Manifest:
    """The ClusterRole that aggregates into Kubernetes' ``role`` (view, edit, admin)."""
    found = [
        m
        for m in of_kind(manifests, "ClusterRole")
        if m["metadata"]["labels"].get(f"rbac.authorization.k8s.io/aggregate-to-{role}") == "true"
    ]
    assert len(found) == 1, found
    return found[0]


def permissions(role: Manifest) -> set[Permission]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# The matrix, from the code (see the chart README's RBAC table for the why of each row).
ECS = "ecs-operator.dev"
KINDS = ("taskdefinitions", "services", "tasks", "clusters", "scheduledtasks")
NAMESPACED: set[Permission] = {
    *((ECS, kind, verb) for kind in KINDS for verb in ("get", "list", "watch")),
    (ECS, "taskdefinitions", "patch"),
    (ECS, "clusters", "create"),
    (ECS, "tasks", "create"),
    (ECS, "tasks", "patch"),
    (ECS, "tasks", "delete"),
    *((ECS, f"{kind}/status", "patch") for kind in KINDS),
    *(
        (ECS, f"{kind}/finalizers", "update")
        for kind in ("taskdefinitions", "services", "tasks", "scheduledtasks")
    ),
    *(
        ("apps", kind, verb)
        for kind in ("deployments", "daemonsets")
        for verb in ("get", "list", "watch", "create", "patch", "delete")
    ),
    *(("apps", "controllerrevisions", verb) for verb in ("get", "list", "watch", "create")),
    *(("", "pods", verb) for verb in ("get", "list", "watch", "create", "patch", "delete")),
    *(
        ("", "serviceaccounts", verb)
        for verb in ("get", "list", "watch", "create", "patch", "delete")
    ),
    *(
        (group, resource, verb)
        for group, resource in (
            ("", "services"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("policy", "poddisruptionbudgets"),
        )
        for verb in ("get", "list", "watch", "create", "patch", "delete")
    ),
    ("", "events", "create"),
    ("", "events", "list"),
}
#: Cluster-scoped, in every mode: namespaces for the admins' tenancy annotations.
CLUSTER: set[Permission] = {
    ("", "nodes", "get"),
    ("", "nodes", "list"),
    ("", "nodes", "watch"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
    *(("", "namespaces", verb) for verb in ("get", "list", "watch")),
}
PEERING_VERBS = ("get", "list", "watch", "patch")


def peering(resource: str) -> set[Permission]:
    return {(g, resource, v) for g in ("kopf.dev", "zalando.org") for v in PEERING_VERBS}


#: What people get through Kubernetes' view/edit/admin: reads of the five kinds, their status
#: and a service's scale; edit and admin also write the specs and the scale, never status.
READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
VIEW: set[Permission] = {
    (ECS, resource, verb)
    for kind in KINDS
    for resource in (kind, f"{kind}/status")
    for verb in READ_VERBS
} | {(ECS, "services/scale", verb) for verb in READ_VERBS}
EDIT: set[Permission] = (
    VIEW
    | {(ECS, kind, verb) for kind in KINDS for verb in WRITE_VERBS}
    | {(ECS, "services/scale", verb) for verb in ("update", "patch")}
)
AGGREGATED = {"view": VIEW, "edit": EDIT, "admin": EDIT}

#: The admin's tenancy policy, with every value set.
TENANCY = {
    "tenancy.allowedTaskRoles": "{arn:aws:iam::123456789012:role/team-*,arn:aws:iam::*:role/ci}",
    "tenancy.podSecurityCeiling": "privileged",
    "tenancy.allowedServiceTypes": "{LoadBalancer,NodePort}",
    "tenancy.disruptionBudgets": "false",
}


#: Every values combination that changes RBAC or the Deployment's shape.
VALUE_SETS: dict[str, dict[str, str]] = {
    "default": {},
    "namespaced": {"watchNamespaces": "{team-a,team-b}"},
    "service-monitor": {"serviceMonitor.enabled": "true", "podDisruptionBudget.enabled": "true"},
    "peering": {"peering.enabled": "true"},
    "peering-namespaced": {"peering.enabled": "true", "watchNamespaces": "{team-a}"},
    "tenancy": TENANCY,
    "addresses-no-aggregated-roles": {
        "metrics.address": "127.0.0.1",
        "health.address": "::",
        "rbac.aggregateRoles": "false",
    },
    "api": {
        "api.enabled": "true",
        "api.impersonate[0].namespace": "team-a",
        "api.impersonate[0].name": "deployer",
        "api.impersonate[1].namespace": "team-b",
        "api.impersonate[1].name": "ci",
        "api.impersonate[2].namespace": "team-a",
        "api.impersonate[2].name": "reader",
    },
}


@pytest.fixture(params=sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> list[Manifest]:
    return render(**VALUE_SETS[request.param])


def test_crds_are_the_repositorys_byte_for_byte() -> None:
    """charts/ecs-operator/crds/ must be copies of crds/ (refresh: cp crds/*.yaml
    charts/ecs-operator/crds/)."""
    source = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    copies = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert sorted(copies) == sorted(source)
    stale = [name for name in source if copies[name] != source[name]]
    assert not stale, f"stale chart CRDs {stale}: cp crds/*.yaml charts/ecs-operator/crds/"
    assert not any(p.is_symlink() for p in (CHART / "crds").iterdir())


def test_versions_follow_the_package() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == chart["version"] == project["version"]
    assert ecs_operator.__version__ == project["version"]
    devtools = tomllib.loads((REPO / "devtools" / "pyproject.toml").read_text())["project"]
    assert devtools["version"] == project["version"], "the dev tools are released with it"
    assert chart["apiVersion"] == "v2"
    assert chart["kubeVersion"] == ">=1.30.0-0"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_helm_lint_is_clean(name: str) -> None:
    result = helm("lint", "--strict", str(CHART), *_set_flags(VALUE_SETS[name]), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


def is_api(manifest: Manifest) -> bool:
    """Whether ``manifest`` is ``ecs-operator api``'s (api.enabled), not the operator's."""
    return manifest["metadata"]["labels"].get("app.kubernetes.io/component") == "api"


def test_no_wildcards_no_secrets_anywhere(rendered: list[Manifest]) -> None:
    """The operator never reads Secrets nor impersonates; the API's roles (its one allowance,
    pinned by test_the_api_reads_its_keys_and_impersonates_only_the_listed_accounts) aside."""
    roles = of_kind(rendered, "ClusterRole") + of_kind(rendered, "Role")
    assert roles
    for role in (r for r in roles if not is_api(r)):
        for rule in role["rules"]:
            assert set(rule) <= {"apiGroups", "resources", "verbs"}, rule  # no nonResourceURLs
            for field in ("apiGroups", "resources", "verbs"):
                assert not any("*" in item for item in rule[field]), (role["metadata"], rule)
            assert not any(r.split("/")[0] == "secrets" for r in rule["resources"]), rule
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
            assert "serviceaccounts/token" not in rule["resources"]


def test_cluster_wide_rbac_is_exactly_the_matrix() -> None:
    manifests = render()
    assert not of_kind(manifests, "Role")
    role = operator_role(manifests)
    assert permissions(role) == NAMESPACED | CLUSTER
    binding = one(manifests, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}
    ]


def test_namespaced_rbac_is_a_role_per_namespace() -> None:
    manifests = render(watchNamespaces="{team-a,team-b}")
    roles = of_kind(manifests, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert all(permissions(r) == NAMESPACED for r in roles)
    bindings = of_kind(manifests, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": RELEASE,
        }
        assert binding["subjects"][0]["namespace"] == NAMESPACE
    # Cluster-wide only what is cluster-scoped (namespaces: the admin's tenancy annotations).
    assert permissions(operator_role(manifests)) == CLUSTER


@pytest.mark.parametrize(
    ("values", "cluster_role", "role"),
    [
        ({"peering.enabled": "true"}, NAMESPACED | CLUSTER | peering("clusterkopfpeerings"), None),
        (
            {"peering.enabled": "true", "watchNamespaces": "{team-a}"},
            CLUSTER,
            NAMESPACED | peering("kopfpeerings"),
        ),
    ],
    ids=["cluster-wide", "namespaced"],
)
def test_peering_adds_only_the_peering_objects(
    values: dict[str, str], cluster_role: set[Permission], role: set[Permission] | None
) -> None:
    manifests = render(**values)
    assert permissions(operator_role(manifests)) == cluster_role
    if role is not None:
        assert permissions(one(manifests, "Role")) == role


def test_rbac_covers_every_resource_the_operator_watches() -> None:
    """A child kind added to the watch handlers without RBAC would fail here, not in a
    cluster."""
    from ecs_operator.handlers.watch import CHILDREN, ECS_KINDS, NAMESPACE, NODE

    granted = {(group, resource) for group, resource, _ in NAMESPACED | CLUSTER}
    for resource in (*ECS_KINDS, *CHILDREN, NODE, NAMESPACE):
        for verb in ("list", "watch"):
            assert (resource.group, resource.plural, verb) in NAMESPACED | CLUSTER
        assert (resource.group, resource.plural) in granted


def test_deployment_runs_the_operator_hardened() -> None:
    manifests = render()
    deployment = one(manifests, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == one(manifests, "ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    operator = container(manifests)
    assert "command" not in operator, "the image's ENTRYPOINT (ecs-operator) must run"
    assert operator["args"] == [
        "run", "--all-namespaces", "--metrics-port", "8080", "--metrics-address", "0.0.0.0",
        "--health-port", "8081", "--health-address", "0.0.0.0",
        "--task-metadata-port", "51679",
        "--task-metadata-url", "http://ecs-operator-task-metadata.ecs-operator-system.svc",
        "--log-format", "json", "--log-level", "info", "--pod-security-ceiling", "baseline",
    ]  # fmt: skip
    security = operator["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    for probe in ("readinessProbe", "livenessProbe"):
        assert operator[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports == {"metrics": 8080, "health": 8081, "task-metadata": 51679}
    assert operator["resources"]["requests"] and operator["resources"]["limits"]
    assert operator["image"] == f"ecs-operator:{ecs_operator.__version__}"


def test_node_selector_values_place_the_operator_on_a_node_pool() -> None:
    """How the real-node suite (tests/e2e/real/) puts the operator on node pool `real`: a key
    added to nodeSelector joins the default one."""
    pod = one(render(**{"nodeSelector.ecs-operator\\.dev/node-pool": "real"}), "Deployment")
    assert pod["spec"]["template"]["spec"]["nodeSelector"] == {
        "kubernetes.io/os": "linux",
        "ecs-operator.dev/node-pool": "real",
    }


def test_args_follow_the_values() -> None:
    args = container(
        render(
            watchNamespaces="{team-a,team-b}",
            logFormat="text",
            logLevel="debug",
            **{
                "metrics.port": "0",
                "metrics.address": "127.0.0.1",
                "health.port": "9000",
                "health.address": "::",
                "extraArgs": "{--account-id,1234}",
            },
        )
    )["args"]
    assert "--all-namespaces" not in args
    assert args[:5] == ["run", "--namespace", "team-a", "--namespace", "team-b"]
    pairs = dict(zip(args[5::2], args[6::2], strict=False))
    assert pairs["--metrics-port"] == "0"
    assert pairs["--metrics-address"] == "127.0.0.1"
    assert pairs["--health-port"] == "9000"
    assert pairs["--health-address"] == "::"
    assert pairs["--log-format"] == "text"
    assert pairs["--log-level"] == "debug"
    assert args[-2:] == ["--account-id", "1234"]


def test_the_args_are_what_ecs_operator_run_accepts() -> None:
    """Parse the rendered args with the operator's own argument parser."""
    import argparse

    from ecs_operator import runner

    for values in VALUE_SETS.values():
        args = container(render(**values))["args"]
        assert args[0] == "run"
        parser = argparse.ArgumentParser()
        runner.configure(parser)
        parsed = parser.parse_args(args[1:])
        assert parsed.all_namespaces == (not parsed.namespace)


def test_service_monitor_scrapes_the_metrics_service() -> None:
    manifests = render(**{"serviceMonitor.enabled": "true", "serviceMonitor.labels.release": "p"})
    [service] = [
        s for s in of_kind(manifests, "Service") if s["spec"]["ports"][0]["name"] == "metrics"
    ]
    monitor = one(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "p"
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert not of_kind(render(), "ServiceMonitor")
    assert [s["metadata"]["name"] for s in of_kind(render(), "Service")] == [TASK_METADATA]


TASK_METADATA = "ecs-operator-task-metadata"


def test_tasks_reach_the_task_metadata_endpoint_through_a_service_of_the_operators_port() -> None:
    """The operator serves the endpoint on its port, and the URL it gives tasks is the
    Service's in front of that port; with taskMetadata.enabled false, neither."""
    manifests = render()
    [service] = [s for s in of_kind(manifests, "Service") if s["metadata"]["name"] == TASK_METADATA]
    assert service["spec"]["type"] == "ClusterIP"
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "task-metadata", "port": 80, "targetPort": "task-metadata", "protocol": "TCP"}
    ]
    args = container(manifests)["args"]
    url = args[args.index("--task-metadata-url") + 1]
    assert url == f"http://{TASK_METADATA}.{service['metadata']['namespace']}.svc"
    assert args[args.index("--task-metadata-port") + 1] == "51679"
    off = render(**{"taskMetadata.enabled": "false"})
    assert not of_kind(off, "Service")
    assert not {"--task-metadata-port", "--task-metadata-url"} & set(container(off)["args"])
    assert "task-metadata" not in {p["name"] for p in container(off)["ports"]}


def test_peering_switches_to_rolling_updates_and_ships_its_crds() -> None:
    manifests = render(**{"peering.enabled": "true", "peering.name": "ecs"})
    assert one(manifests, "Deployment")["spec"]["strategy"]["type"] == "RollingUpdate"
    args = container(manifests)["args"]
    assert args[args.index("--peering") + 1] == "ecs"
    env = {e["name"] for e in container(manifests)["env"]}
    assert "POD_ID" in env  # kopf's peering identity
    crds = of_kind(manifests, "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == [
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    ]
    assert all(c["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for c in crds)
    peering_object = one(manifests, "ClusterKopfPeering")
    assert peering_object["metadata"]["name"] == "ecs"
    assert "post-install" in peering_object["metadata"]["annotations"]["helm.sh/hook"]
    per_namespace = render(**{"peering.enabled": "true", "watchNamespaces": "{a,b}"})
    assert sorted(p["metadata"]["namespace"] for p in of_kind(per_namespace, "KopfPeering")) == [
        "a",
        "b",
    ]
    without = render(**{"peering.enabled": "true", "peering.createCRDs": "false"})
    assert not of_kind(without, "CustomResourceDefinition")
    assert not of_kind(render(), "CustomResourceDefinition")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicas": "2"}, "replicas"),
        ({"serviceMonitor.enabled": "true", "metrics.port": "0"}, "metrics.port"),
        ({"logFormat": "xml"}, "logFormat"),
        ({"watchNamespaces": "{Not_A_Namespace}"}, "watchNamespaces"),
        ({"tenancy.podSecurityCeiling": "restricted"}, "podSecurityCeiling"),
        ({"tenancy.allowedServiceTypes": "{ClusterIP}"}, "allowedServiceTypes"),
        ({"tenancy.allowedServiceTypes": "{LoadBalancer,LoadBalancer}"}, "allowedServiceTypes"),
        ({"tenancy.allowedTaskRoles": "{role/deployer}"}, "allowedTaskRoles"),
        ({"tenancy.allowedTaskRoles": "{arn:aws:iam::1:role/a b}"}, "allowedTaskRoles"),
        ({"tenancy.allowsEverything": "true"}, "allowsEverything"),
        ({"tenancy.disruptionBudgets": "maybe"}, "disruptionBudgets"),
        ({"rbac.aggregateRoles": "yes"}, "aggregateRoles"),
        ({"health.address": "127.0.0.1"}, "health.address"),
        ({"health.address": "::1"}, "health.address"),
        ({"health.address": "0.0.0.0:8081"}, "/health/address"),
        ({"metrics.address": "[::]"}, "/metrics/address"),
        ({"metrics.address": "127.0.0.1", "serviceMonitor.enabled": "true"}, "metrics.address"),
        ({"metrics.address": "localhost", "metrics.service.enabled": "true"}, "metrics.address"),
        ({"api.enabled": "true", "api.port": "8080", "metrics.port": "8080"}, "metrics.port"),
        ({"taskMetadata.port": "8081"}, "taskMetadata.port"),
        ({"taskMetadata.port": "0"}, "/taskMetadata/port"),
    ],
)
def test_broken_values_are_refused(values: dict[str, str], message: str) -> None:
    result = helm(
        "template", RELEASE, str(CHART), "--kube-version", KUBE_VERSION, *_set_flags(values),
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stderr


def test_pod_disruption_budget_never_blocks_on_an_unhealthy_pod() -> None:
    budget = one(render(**{"podDisruptionBudget.enabled": "true"}), "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    strict = render(
        **{"podDisruptionBudget.enabled": "true", "podDisruptionBudget.minAvailable": "1"}
    )
    assert one(strict, "PodDisruptionBudget")["spec"] == {
        "minAvailable": 1,
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
        "selector": one(strict, "Deployment")["spec"]["selector"],
    }


IN_USE_POLICY_KINDS = ("MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding")


def _in_use_policy(kube_version: str, *flags: str) -> list[Manifest]:
    result = helm(
        "template", RELEASE, str(CHART), "--kube-version", kube_version,
        "--show-only", "templates/in-use-finalizer.yaml", *flags, check=False,
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_the_api_server_sets_the_in_use_finalizer_on_create_only_where_the_operator_watches() -> (
    None
):
    """Kubernetes 1.36+: a TaskDefinition is created with the operator's in-use finalizer (the
    operator's own name for it), never re-added by an update (the operator removes it), and
    only in the watched namespaces; before 1.36 nothing is rendered (the operator adds it)."""
    policy, binding = _in_use_policy(KUBE_VERSION)
    assert [policy["kind"], binding["kind"]] == list(IN_USE_POLICY_KINDS)
    [rule] = policy["spec"]["matchConstraints"]["resourceRules"]
    assert (rule["apiGroups"], rule["operations"], rule["resources"]) == (
        [ecs_operator.API_GROUP],
        ["CREATE"],
        ["taskdefinitions"],
    )
    [mutation] = policy["spec"]["mutations"]
    assert f'finalizers: ["{FINALIZER}"]' in mutation["applyConfiguration"]["expression"]
    assert policy["spec"]["failurePolicy"] == "Ignore"  # then the operator adds it
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert "matchResources" not in binding["spec"]
    _, scoped = _in_use_policy(KUBE_VERSION, "--set", "watchNamespaces={shop,web}")
    [term] = scoped["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert term == {
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["shop", "web"]
    }  # fmt: skip
    assert _in_use_policy("1.35.2") == []


def test_everything_namespaced_lands_in_the_release_namespace(rendered: list[Manifest]) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
    cluster_scoped |= {"ClusterKopfPeering", *IN_USE_POLICY_KINDS}
    for manifest in rendered:
        namespace = manifest["metadata"].get("namespace")
        if manifest["kind"] in cluster_scoped:
            assert namespace is None, manifest["metadata"]
        elif manifest["kind"] not in ("Role", "RoleBinding", "KopfPeering"):
            assert namespace == NAMESPACE, manifest["metadata"]


def test_the_api_is_off_by_default() -> None:
    assert not [m for m in render() if is_api(m)]


def test_the_api_reads_its_keys_and_impersonates_only_the_listed_accounts() -> None:
    """api.enabled: get/list/watch on the release namespace's Secrets (the access keys), and
    `impersonate` on exactly the ServiceAccounts of api.impersonate, in their namespaces."""
    api = [m for m in render(**VALUE_SETS["api"]) if is_api(m)]
    assert not [m for m in api if m["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    rules = {
        (m["metadata"]["namespace"], json.dumps(m["rules"], sort_keys=True))
        for m in of_kind(api, "Role")
    }

    def rule(resource: str, verbs: list[str], names: list[str] | None = None) -> str:
        found: Manifest = {"apiGroups": [""], "resources": [resource], "verbs": verbs}
        return json.dumps([{**found, "resourceNames": names} if names else found], sort_keys=True)

    assert rules == {
        (NAMESPACE, rule("secrets", ["get", "list", "watch"])),
        ("team-a", rule("serviceaccounts", ["impersonate"], ["deployer", "reader"])),
        ("team-b", rule("serviceaccounts", ["impersonate"], ["ci"])),
    }
    account = one(api, "ServiceAccount")["metadata"]["name"]
    for binding in of_kind(api, "RoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
        ]
        assert binding["roleRef"]["name"] == binding["metadata"]["name"]
        assert binding["roleRef"]["kind"] == "Role"
    assert len(of_kind(api, "RoleBinding")) == 3


def test_the_api_runs_beside_the_operator_with_probes_and_a_service() -> None:
    manifests = render(**VALUE_SETS["api"])
    deployments = {m["metadata"]["name"]: m for m in of_kind(manifests, "Deployment")}
    assert len(deployments) == 2
    api = next(d for d in deployments.values() if is_api(d))
    operator = next(d for d in deployments.values() if not is_api(d))
    spec = api["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == api["metadata"]["name"]
    assert pod["serviceAccountName"] != operator["spec"]["template"]["spec"]["serviceAccountName"]
    (main,) = pod["containers"]
    assert main["image"] == operator["spec"]["template"]["spec"]["containers"][0]["image"]
    assert main["args"][:1] == ["api"]
    parser = argparse.ArgumentParser()
    server.configure(parser)
    assert parser.parse_args(main["args"][1:]).namespace == NAMESPACE
    for probe in ("readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": "ecs"}
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    selector = spec["selector"]["matchLabels"]
    operator_selector = operator["spec"]["selector"]["matchLabels"]
    assert not operator_selector.items() <= spec["template"]["metadata"]["labels"].items()
    service = next(s for s in of_kind(manifests, "Service") if is_api(s))
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] == "ecs"


def test_the_apis_metrics_have_a_port_a_service_and_a_service_monitor_of_their_own() -> None:
    """Each process serves its own registry (docs/metrics.md): Prometheus scrapes the API's
    pods apart from the operator's, on a port apart from the ECS endpoint."""
    values = {**VALUE_SETS["api"], "serviceMonitor.enabled": "true", "metrics.port": "9090"}
    manifests = render(**values)
    api = next(d for d in of_kind(manifests, "Deployment") if is_api(d))
    (main,) = api["spec"]["template"]["spec"]["containers"]
    parser = argparse.ArgumentParser()
    server.configure(parser)
    parsed = parser.parse_args(main["args"][1:])
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert parsed.metrics_port == ports["metrics"] == 9090 != ports["ecs"]
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    monitors = {is_api(m): m for m in of_kind(manifests, "ServiceMonitor")}
    services = [s for s in of_kind(manifests, "Service") if is_api(s)]
    selected = monitors[True]["spec"]["selector"]["matchLabels"]
    scraped = [s for s in services if selected.items() <= s["metadata"]["labels"].items()]
    endpoint = monitors[True]["spec"]["endpoints"][0]["port"]
    (metrics,) = [s for s in scraped if endpoint in {p["name"] for p in s["spec"]["ports"]}]
    assert metrics["spec"]["selector"].items() <= pod_labels.items()
    assert metrics["spec"]["ports"][0]["targetPort"] == "metrics"
    operator_selected = monitors[False]["spec"]["selector"]["matchLabels"]
    assert not any(operator_selected.items() <= s["metadata"]["labels"].items() for s in services)


def flag_values(args: list[str], flag: str) -> list[str]:
    """The value after each occurrence of ``flag`` in a container's args."""
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


def test_tenancy_values_become_run_flags() -> None:
    args = container(render(**TENANCY))["args"]
    assert flag_values(args, "--allow-task-role") == [
        "arn:aws:iam::123456789012:role/team-*",
        "arn:aws:iam::*:role/ci",
    ]
    assert flag_values(args, "--allow-service-type") == ["LoadBalancer", "NodePort"]
    assert flag_values(args, "--pod-security-ceiling") == ["privileged"]
    assert "--no-disruption-budgets" in args


def test_by_default_no_task_role_and_no_exposure_is_allowed() -> None:
    """The chart's default policy: the baseline ceiling, spelled out in the Deployment, and no
    cluster-wide task role or Service type (namespaces' annotations may allow some)."""
    args = container(render())["args"]
    assert flag_values(args, "--pod-security-ceiling") == ["baseline"]
    assert not flag_values(args, "--allow-task-role")
    assert not flag_values(args, "--allow-service-type")
    assert "--no-disruption-budgets" not in args


@pytest.mark.parametrize("role", sorted(AGGREGATED))
def test_aggregated_roles_give_people_the_ecs_kinds(role: str) -> None:
    manifests = render()
    found = aggregated(manifests, role)
    assert found["metadata"]["name"] == f"{RELEASE}-{role}"
    assert permissions(found) == AGGREGATED[role]
    # Aggregated ClusterRoles are only read through the built-in roles: never bound here.
    bound = {b["roleRef"]["name"] for b in of_kind(manifests, "ClusterRoleBinding")}
    assert found["metadata"]["name"] not in bound


def test_no_tenant_writes_status_or_finalizers() -> None:
    """Status is the operator's report and memory (a rollback target lives there)."""
    for role in AGGREGATED:
        for _, resource, verb in permissions(aggregated(render(), role)):
            if resource.endswith(("/status", "/finalizers")):
                assert verb in READ_VERBS, (role, resource, verb)


def test_view_reads_no_secret_value() -> None:
    """`view` reaches the four ECS kinds and nothing else, and their status cannot hold a
    Secret's value: the operator, which alone writes status, has no permission on Secrets in
    any values set (test_no_wildcards_no_secrets_anywhere), so it never holds a value to copy,
    and the specs hold references (Secret names, ARNs)."""
    view = permissions(aggregated(render(), "view"))
    assert {group for group, _, _ in view} == {ECS}
    assert {resource.split("/")[0] for _, resource, _ in view} == set(KINDS)
    assert {verb for _, _, verb in view} == set(READ_VERBS)


def test_aggregated_roles_can_be_left_out_and_follow_the_release_name() -> None:
    without = render(**{"rbac.aggregateRoles": "false"})
    assert [m["metadata"]["name"] for m in of_kind(without, "ClusterRole")] == [RELEASE]
    result = helm(
        "template", "team-a", str(CHART), "--namespace", NAMESPACE, "--kube-version",
        KUBE_VERSION, "--show-only", "templates/aggregated-roles.yaml",
    )  # fmt: skip
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert names == [
        "team-a-ecs-operator-view",
        "team-a-ecs-operator-edit",
        "team-a-ecs-operator-admin",
    ]


def readme_table(header: str) -> list[dict[str, str]]:
    """The rows of the chart README's table whose header row starts with ``header``."""
    lines = (CHART / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    columns = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(dict(zip(columns, cells, strict=True)))
    return rows


def table_permissions(row: dict[str, str]) -> set[Permission]:
    def items(cell: str) -> list[str]:
        return [item.strip().strip("`") for item in cell.split(",")]

    groups = ["" if g == "core" else g for g in items(row["API group"])]
    return {
        (group, resource, verb)
        for group in groups
        for resource in items(row["resources"])
        for verb in items(row["verbs"])
    }


def test_the_readme_lists_every_rule_of_the_operator() -> None:
    """The README's RBAC table is the rendered rules, every mode together, each row with its
    code path."""
    rows = readme_table("| API group | resources | verbs | where | code path |")
    listed = set().union(*(table_permissions(row) for row in rows))
    rendered: set[Permission] = set()
    for values in VALUE_SETS.values():
        manifests = render(**values)
        roles = [r for r in of_kind(manifests, "Role") if not is_api(r)]
        for role in [*roles, operator_role(manifests)]:
            rendered |= permissions(role)
    assert listed == rendered
    assert all(re.search(r"`\w+/[\w./]+`|kopf", row["code path"]) for row in rows), rows


def test_the_readme_lists_every_rule_of_the_aggregated_roles() -> None:
    rows = readme_table("| API group | resources | verbs | `<fullname>-view` |")
    for role, expected in AGGREGATED.items():
        column = f"`<fullname>-{role}`"
        granted = set().union(*(table_permissions(r) for r in rows if r[column] == "yes"))
        assert granted == expected, role


def test_the_ecs_api_is_refused_where_the_api_server_cannot_select_by_field() -> None:
    """The ECS API finds families and services with the CRDs' field selectors, off in
    Kubernetes 1.30 (the chart's oldest): install fails there, naming why, rather than every
    DescribeServices and RegisterTaskDefinition failing once installed."""
    api = ("--set", "api.enabled=true")
    refused = helm("template", RELEASE, str(CHART), "--kube-version", "1.30.9", *api, check=False)
    assert refused.returncode != 0
    assert "api.enabled needs Kubernetes 1.31" in refused.stderr
    assert helm("template", RELEASE, str(CHART), "--kube-version", "1.30.9").returncode == 0
    assert helm("template", RELEASE, str(CHART), "--kube-version", "1.31.0", *api).returncode == 0
