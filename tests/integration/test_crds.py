"""Acceptance of the CRDs on a real kube-apiserver (issue "ECS API models and CRDs").

The API server's side, without the operator: the CRDs install, every valid example is
accepted and every invalid one refused at ``kubectl apply`` with its ``# expect:`` message,
and kubectl gets the ergonomics docs/crds.md promises (the ``ecs`` category, short names,
printer columns, ECS documentation in ``kubectl explain``, ``kubectl scale`` on a Service).
The manifests are applied once per module, by one kubectl apply, into one namespace; the
tests read the results."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from tests.integration.manifests.corpus import (
    INVALID,
    INVALID_KUBERNETES,
    VALID,
    Applied,
    Manifest,
    apply_all,
    load,
    params,
)
from tests.support.ecs import get
from tests.support.kube import Kube, kubectl

from ecs_operator.crdgen import GROUP
from ecs_operator.handlers.common import FINALIZER

pytestmark = pytest.mark.integration

Results = dict[Path, Applied]


@pytest.fixture(scope="module")
def crd_namespace(kube: Kube, crds: Path) -> Iterator[str]:
    """One namespace for the whole module: the manifests are applied into it only once."""
    name = kube.create_test_namespace("crds")
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="module")
def accepted(crd_namespace: str) -> Results:
    """Every valid manifest, applied; the kubectl tests below list these objects."""
    return apply_all(load(VALID), crd_namespace)


@pytest.fixture(scope="module")
def refused(crd_namespace: str) -> Results:
    """Every manifest the API server should refuse, applied (and, we expect, refused)."""
    return apply_all(load(INVALID, INVALID_KUBERNETES), crd_namespace)


def _names(crd_namespace: str, resources: str) -> set[str]:
    """``kubectl get <resources> -o name``: ``<singular>.<group>/<name>`` each."""
    listed = kubectl("get", resources, "-n", crd_namespace, "-o", "name").stdout
    return set(listed.split())


def _valid_objects() -> set[str]:
    return {f"{m.kind.lower()}.{GROUP}/{m.name}" for m in load(VALID)}


def test_crds_install_established_with_their_names(crds: Path) -> None:
    wanted = {
        crd["metadata"]["name"]: crd
        for crd in (yaml.safe_load(p.read_text()) for p in sorted(crds.glob("*.yaml")))
    }
    listed = kubectl("get", "crd", *wanted, "-o", "json").stdout
    installed = {crd["metadata"]["name"]: crd for crd in json.loads(listed)["items"]}

    assert len(installed) == len(wanted) == 5
    for name, crd in installed.items():
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == conditions["NamesAccepted"] == "True", name
        assert crd["status"]["acceptedNames"] == wanted[name]["spec"]["names"], name


@pytest.mark.parametrize("manifest", params(VALID))
def test_valid_manifest_is_accepted(manifest: Manifest, accepted: Results) -> None:
    applied = accepted[manifest.path]
    assert applied.accepted, applied.output


@pytest.mark.parametrize("manifest", params(INVALID, INVALID_KUBERNETES))
def test_invalid_manifest_is_refused_at_apply(manifest: Manifest, refused: Results) -> None:
    applied = refused[manifest.path]
    assert not applied.accepted, applied.output
    assert manifest.expect and manifest.expect in applied.output


@pytest.mark.parametrize(
    "resources",
    [
        "ecs",
        "ecstd,ecssvc,ecstask,ecscluster,ecssched",
        f"taskdef,services.{GROUP},tasks.{GROUP},clusters.{GROUP},scheduledtasks",
    ],
)
def test_category_short_names_and_plurals_list_every_kind(
    resources: str, crd_namespace: str, accepted: Results
) -> None:
    """All five kinds are in the ``ecs`` category; each has its short names. ``services``
    alone would be the core Service, hence the group-qualified plural."""
    assert _valid_objects() <= _names(crd_namespace, resources)


#: The ``kubectl get`` header of each kind (docs/crds.md's table).
COLUMNS = {
    "taskdefinitions": "NAME FAMILY REVISION STATUS READY REQUIRES CPU MEMORY AGE",
    f"services.{GROUP}": "NAME CLUSTER TASKDEFINITION DESIRED RUNNING PENDING STATUS READY AGE",
    "tasks": "NAME CLUSTER TASKDEFINITION LASTSTATUS DESIREDSTATUS READY AGE",
    "clusters": "NAME STATUS SERVICES RUNNING PENDING INSTANCES AGE",
    "scheduledtasks": "NAME SCHEDULE STATE LASTFIRING NEXTFIRING AGE",
}


@pytest.mark.parametrize("resource", COLUMNS)
def test_printer_columns(resource: str, crd_namespace: str, accepted: Results) -> None:
    table = kubectl("get", resource, "-n", crd_namespace).stdout.splitlines()
    assert table[0].split() == COLUMNS[resource].split()


def test_printer_columns_show_the_spec_in_ecs_terms(crd_namespace: str, accepted: Results) -> None:
    """The spec-derived columns of a Fargate task definition (the status columns are the
    operator's to fill)."""
    row = kubectl("get", "taskdefinition", "web", "-n", crd_namespace, "--no-headers").stdout
    assert row.split()[:2] == ["web", "web"]
    assert {'["FARGATE"]', "256", "0.5GB"} <= set(row.split())


@pytest.mark.parametrize(
    ("resource", "selector", "found"),
    [
        ("taskdefinitions", "spec.family=web", f"taskdefinition.{GROUP}/web"),
        (
            f"services.{GROUP}",
            "spec.serviceName=ecs-simple-service",
            f"service.{GROUP}/ecs-simple-service",
        ),
    ],
)
def test_a_family_and_a_service_name_select_their_objects(
    resource: str, selector: str, found: str, crd_namespace: str, accepted: Results
) -> None:
    """The API server selects on the members ``ecs-operator api`` looks ECS names up by
    (crdgen's ``selectable``), so it reads one family's TaskDefinition, not the namespace's
    (``ecs-simple-service-elb`` and the other task definitions stay out)."""
    listed = kubectl(
        "get", resource, "-n", crd_namespace, "--field-selector", selector, "-o", "name"
    )  # fmt: skip
    assert listed.stdout.split() == [found]


def test_explain_shows_the_ecs_documentation(crds: Path) -> None:
    """The description kubectl prints is botocore's, as generated into the CRD (compared
    with white space folded: kubectl wraps lines)."""
    crd = yaml.safe_load((crds / f"taskdefinitions.{GROUP}.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    container = spec["properties"]["containerDefinitions"]["items"]["properties"]
    documented = " ".join(container["healthCheck"]["description"].split())

    explained = kubectl("explain", "taskdefinition.spec.containerDefinitions.healthCheck").stdout

    assert documented.startswith("The container health check command")
    assert documented in " ".join(explained.split())
    assert "retries\t<integer>" in explained


def test_kubectl_scale_sets_desired_count(
    kube: Kube, crd_namespace: str, accepted: Results
) -> None:
    """The scale subresource maps replicas to spec.desiredCount (docs/crds.md)."""
    kubectl("scale", "ecssvc/ecs-simple-service", "--replicas=3", "-n", crd_namespace)

    service = get(kube, crd_namespace, "Service", "ecs-simple-service")
    scale = kubectl(
        "get", "ecssvc/ecs-simple-service", "--subresource=scale", "-n", crd_namespace,
        "-o", "jsonpath={.spec.replicas}",
    )  # fmt: skip
    assert service["spec"]["desiredCount"] == 3
    assert scale.stdout == "3"


def test_task_definitions_are_created_with_the_in_use_finalizer_of_the_charts_policy(
    crds: Path, namespace: str
) -> None:
    """Kubernetes 1.36+: the chart's MutatingAdmissionPolicy (bound, as ``watchNamespaces``
    binds it, to this test's namespace only: it is cluster-scoped) makes the API server add
    the operator's in-use finalizer to a TaskDefinition as it is created, next to the user's
    own finalizers; so the operator need not patch it in. An update (the operator releasing
    the family) does not add it back."""
    policy = subprocess.run(
        ["helm", "template", "ecs-operator", str(CHART), "--show-only", IN_USE_POLICY,
         "--set", f"watchNamespaces={{{namespace}}}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    kubectl("apply", "--server-side", "-f", "-", input=policy)
    names: list[str] = []
    try:
        finalizers: list[str] = []
        deadline = time.monotonic() + 30  # a new policy takes effect within seconds
        while FINALIZER not in finalizers and time.monotonic() < deadline:
            names.append(f"web-{len(names)}")
            manifest = json.dumps(_task_definition(names[-1], ["example.com/mine"]))
            created = kubectl("create", "-n", namespace, "-o", "json", "-f", "-", input=manifest)
            finalizers = json.loads(created.stdout)["metadata"].get("finalizers") or []
        assert finalizers == ["example.com/mine", FINALIZER]
        # The operator's release, an update: the API server's answer to it is what admission
        # made of it (a running operator may later record the family again, its own write).
        after = _set_finalizers(namespace, names[-1], [])
        assert not after["metadata"].get("finalizers")
    finally:
        kubectl("delete", "--ignore-not-found", "-f", "-", input=policy)
        for name in names:
            _set_finalizers(namespace, name, [])


CHART = Path(__file__).resolve().parents[2] / "charts" / "ecs-operator"
IN_USE_POLICY = "templates/in-use-finalizer.yaml"
TASK_DEFINITIONS = f"taskdefinitions.{GROUP}"


def _task_definition(name: str, finalizers: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": name, "finalizers": finalizers},
        "spec": {
            "family": name,
            "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}],
        },
    }


def _set_finalizers(namespace: str, name: str, finalizers: list[str]) -> dict[str, Any]:
    """The TaskDefinition's finalizers set by a merge patch; the object as the server stored it."""
    patch = json.dumps({"metadata": {"finalizers": finalizers or None}})
    patched = kubectl(
        "patch", TASK_DEFINITIONS, name, "-n", namespace, "--type=merge", "-p", patch, "-o", "json"
    )
    return cast(dict[str, Any], json.loads(patched.stdout))


def test_the_members_that_name_an_ecs_object_cannot_change(crds: Path, namespace: str) -> None:
    """ECS renames no family, no service and moves no service to another cluster: an edit of
    ``family``, ``serviceName`` or ``cluster`` is refused at ``kubectl apply``, naming it. An
    edited family renamed the family with its history and left its Services without a task
    definition; an edited serviceName or cluster replaced every task at once. Other members
    still change, and the ECS object stays as it was."""
    family = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "family": "web",
            "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 64}],
        },
    }
    service = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1},
    }
    kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps({"kind": "List", "apiVersion": "v1", "items": [family, service]}),
    )

    for body, member, value in (
        (family, "family", "renamed"),
        (service, "serviceName", "web-v2"),
        (service, "cluster", "prod"),
    ):
        edited = {**body, "spec": {**body["spec"], member: value}}
        refused = kubectl("apply", "-f", "-", input=json.dumps(edited), check=False)
        assert refused.returncode != 0, member
        assert f"spec.{member}: Forbidden: {member} cannot change (ECS " in refused.stderr
    scaled = {**service, "spec": {**service["spec"], "desiredCount": 3}}
    kubectl("apply", "-f", "-", input=json.dumps(scaled))


def test_a_task_that_started_tasks_refuses_a_change_of_its_run_task_parameters(
    crds: Path, namespace: str
) -> None:
    """ECS has no update of a task: once a Task has started tasks (its status lists them), a
    change of its spec is refused at ``kubectl apply``, naming the member, where the operator
    would leave the running tasks as they are and say nothing; StopTask (desiredStatus) and
    TagResource (tags) still go through, and a Task that started nothing may be corrected."""
    task = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Task",
        "metadata": {"name": "job", "namespace": namespace},
        "spec": {"taskDefinition": "web", "count": 1},
    }
    kubectl("apply", "-f", "-", input=json.dumps(task))
    corrected = {**task, "spec": {"taskDefinition": "web", "count": 2}}
    kubectl("apply", "-f", "-", input=json.dumps(corrected))  # nothing started yet
    started = json.dumps({"status": {"tasks": [{"taskId": "job-0"}, {"taskId": "job-1"}]}})
    on = ("task", "job", "-n", namespace, "--type=merge")
    kubectl("patch", *on, "--subresource=status", "-p", started)

    changed = {**task, "spec": {"taskDefinition": "web:2", "count": 2, "group": "again"}}
    refused = kubectl("apply", "-f", "-", input=json.dumps(changed), check=False)
    assert refused.returncode != 0
    assert "spec.taskDefinition: Forbidden: taskDefinition cannot change once the Task has" in (
        refused.stderr
    )
    assert "spec.group: Forbidden" in refused.stderr
    stop = {"spec": {"desiredStatus": "STOPPED", "tags": [{"key": "team", "value": "a"}]}}
    kubectl("patch", *on, "-p", json.dumps(stop))
    kubectl("label", "task", "job", "-n", namespace, "run=1")
    stored = json.loads(kubectl("get", "task", "job", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"] == {
        "taskDefinition": "web",
        "count": 2,
        "cluster": "default",
        **stop["spec"],
    }
