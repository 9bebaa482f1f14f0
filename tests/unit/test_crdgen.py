"""The generated CRDs: checked in without drift, structural, documented, and refusing the
invalid example manifests (offline stand-in for the API server) as the operator does."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any

import celpy
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from ecs_operator import crdgen
from ecs_operator.api import (
    EcsValidationError,
    parse_cluster,
    parse_scheduled_task,
    parse_service,
    parse_task,
    parse_task_definition,
)
from ecs_operator.api.rules import (
    CLUSTER_RULES,
    SCHEDULED_TASK_RULES,
    SERVICE_RULES,
    TASK_DEFINITION_RULES,
    TASK_RULES,
)

if TYPE_CHECKING:
    from tests.unit.conftest import Manifest, OfflineApiServer

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
DOCS = REPO / "docs/crds.md"
MAX_CRD_BYTES = 700_000
PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "TaskDefinition": parse_task_definition,
    "Service": parse_service,
    "Task": parse_task,
    "Cluster": parse_cluster,
    "ScheduledTask": parse_scheduled_task,
}
#: Every kind's rules.
REGISTRIES = (
    TASK_DEFINITION_RULES,
    SERVICE_RULES,
    TASK_RULES,
    CLUSTER_RULES,
    SCHEDULED_TASK_RULES,
)
#: Keys a structural schema node may carry (apiextensions.k8s.io/v1 JSONSchemaProps we use).
ALLOWED_KEYS = {
    "description",
    "type",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "default",  # spec.cluster (ECS assumes "default"), status (not yet observed)
}


@pytest.fixture(scope="module")
def crds() -> list[dict[str, Any]]:
    return crdgen.all_crds()


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node below ``schema`` with a readable path."""
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    if "items" in schema:
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


def test_checked_in_crds_are_what_the_generator_writes(crds: list[dict[str, Any]]) -> None:
    expected = {crdgen.file_name(crd): crdgen.HEADER + crdgen.to_yaml(crd) for crd in crds}
    found = {path.name: path.read_text() for path in CRDS.glob("*.yaml")}
    assert found.keys() == expected.keys()
    for name, text in expected.items():
        assert found[name] == text, f"crds/{name} is stale: run `make crds`"


def test_the_five_kinds(crds: list[dict[str, Any]]) -> None:
    names = {crd["spec"]["names"]["kind"]: crd["spec"]["names"] for crd in crds}
    assert sorted(names) == ["Cluster", "ScheduledTask", "Service", "Task", "TaskDefinition"]
    assert names["TaskDefinition"]["plural"] == "taskdefinitions"
    assert names["TaskDefinition"]["shortNames"] == ["ecstd", "taskdef"]
    assert names["Service"]["shortNames"] == ["ecssvc"]
    assert names["Task"]["shortNames"] == ["ecstask"]
    assert names["Cluster"]["shortNames"] == ["ecscluster"]
    assert names["ScheduledTask"]["shortNames"] == ["ecssched", "ecsschedule"]
    for crd in crds:
        assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.ecs-operator.dev"
        assert crd["spec"]["scope"] == "Namespaced"
        assert crd["spec"]["names"]["categories"] == ["ecs"]
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1alpha1"
        assert version["subresources"]["status"] == {}
        status = _spec_schema(crd)["properties"]["status"]
        assert status["x-kubernetes-preserve-unknown-fields"] is True


def test_service_scales_through_desired_count(crds: list[dict[str, Any]]) -> None:
    service = next(c for c in crds if c["spec"]["names"]["kind"] == "Service")
    assert service["spec"]["versions"][0]["subresources"]["scale"] == {
        "specReplicasPath": ".spec.desiredCount",
        "statusReplicasPath": ".status.runningCount",
        "labelSelectorPath": ".status.selector",
    }


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("TaskDefinition", ["Family", "Revision", "Status", "Ready", "Requires", "CPU", "Memory"]),
        (
            "Service",
            ["Cluster", "TaskDefinition", "Desired", "Running", "Pending", "Status", "Ready"],
        ),
        ("Task", ["Cluster", "TaskDefinition", "LastStatus", "DesiredStatus", "Ready"]),
        ("Cluster", ["Status", "Services", "Running", "Pending", "Instances"]),
        ("ScheduledTask", ["Schedule", "State", "LastFiring", "NextFiring"]),
    ],
)
def test_printer_columns(crds: list[dict[str, Any]], kind: str, columns: list[str]) -> None:
    crd = next(c for c in crds if c["spec"]["names"]["kind"] == kind)
    printed = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in printed] == [*columns, "Age"]
    ready = '.status.conditions[?(@.type=="Ready")].status'  # the one filter, as cert-manager's
    assert all(
        re.fullmatch(r"\.(spec|status|metadata)\.\w+", c["jsonPath"]) or c["jsonPath"] == ready
        for c in printed
    )


def test_crds_are_valid_apiextensions_objects(crds: list[dict[str, Any]]) -> None:
    for crd in crds:
        kubernetes_validate.validate(crd, latest_version(), strict=True)


def test_crds_stay_small(crds: list[dict[str, Any]]) -> None:
    for crd in crds:
        assert len(crdgen.to_yaml(crd).encode()) < MAX_CRD_BYTES, crd["metadata"]["name"]


def test_every_node_is_structural_and_documented(crds: list[dict[str, Any]]) -> None:
    for crd in crds:
        for path, node in _nodes(_spec_schema(crd)):
            where = f"{crd['spec']['names']['kind']}{path}"
            assert set(node) <= ALLOWED_KEYS, f"{where}: {set(node) - ALLOWED_KEYS}"
            open_ended = node.get("x-kubernetes-int-or-string") or node.get(
                "x-kubernetes-preserve-unknown-fields"
            )
            assert "type" in node or open_ended, f"{where} has no type"
            assert not ("type" in node and node.get("x-kubernetes-int-or-string")), where
            if node.get("type") == "object" and "properties" in node:
                assert "additionalProperties" not in node, where
            if path and not path.endswith(("[]", "{}")) and path != ".metadata":
                assert node.get("description"), f"{where} has no description"


def test_single_field_limits_reach_the_schema(crds: list[dict[str, Any]]) -> None:
    td = next(c for c in crds if c["spec"]["names"]["kind"] == "TaskDefinition")
    spec = _spec_schema(td)["properties"]["spec"]
    container = spec["properties"]["containerDefinitions"]["items"]
    assert spec["properties"]["family"]["pattern"] == "^[a-zA-Z0-9_-]{1,255}$"
    assert spec["properties"]["containerDefinitions"]["maxItems"] == 10
    assert set(container["required"]) == {"name", "image"}
    assert container["properties"]["memory"]["minimum"] == 6
    assert spec["properties"]["networkMode"]["enum"] == ["bridge", "host", "awsvpc", "none"]
    health = container["properties"]["healthCheck"]["properties"]
    assert (health["interval"]["minimum"], health["interval"]["maximum"]) == (5, 300)
    assert spec["properties"]["cpu"] == {
        "description": spec["properties"]["cpu"]["description"],
        "x-kubernetes-int-or-string": True,
        "maxLength": 32,
    }


def test_cel_rules_compile(apiserver: OfflineApiServer) -> None:
    rules = [
        check
        for registry in REGISTRIES
        for rule in registry
        for check in rule.server
        if hasattr(check, "rule")
    ]
    assert len(rules) > 30
    for check in rules:
        apiserver.program(check.rule)
        if check.message_expression:
            apiserver.program(check.message_expression)


def test_cel_lists_and_strings_are_bounded_for_the_cost_estimator(
    crds: list[dict[str, Any]],
) -> None:
    """Lists a rule iterates over carry maxItems (else the API server refuses the rule)."""
    for crd in crds:
        for path, node in _nodes(_spec_schema(crd)):
            for validation in node.get("x-kubernetes-validations", []):
                for field in re.findall(
                    r"self\.(\w+)\.(?:all|exists|filter)\(", validation["rule"]
                ):
                    assert "maxItems" in node["properties"][field], f"{path}.{field}"


def test_valid_manifests_are_accepted(
    valid_manifest: Manifest, apiserver: OfflineApiServer
) -> None:
    assert apiserver.errors(valid_manifest.body) == []
    PARSERS[valid_manifest.body["kind"]](valid_manifest.body["spec"])


def test_kubectl_names_the_field_the_operator_names(
    invalid_manifest: Manifest, apiserver: OfflineApiServer
) -> None:
    """A refusal at apply names the field the operator's own check names (``spec.memory``),
    or the list holding it when the rule runs over the list and cannot index it
    (``spec.containerDefinitions`` for ``containerDefinitions[0].links``): never just
    ``spec`` when the rule is about one member."""
    with pytest.raises(EcsValidationError) as refused:
        PARSERS[invalid_manifest.body["kind"]](invalid_manifest.body["spec"])
    named = [_unindexed(f"spec.{path}") for path in refused.value.paths]
    for error in apiserver.errors(invalid_manifest.body):
        if error.startswith("<nil>") or any(map(error.__contains__, _ABOUT_MEMBERS)):
            continue
        quoted = re.match(r'unknown field "([^"]+)"', error)
        field = _unindexed(quoted.group(1) if quoted else error.split(": ")[0])
        assert any(path == field or path.startswith(f"{field}[]") for path in named), (
            f"kubectl names {field}, the operator {named}: {error}"
        )


#: refusals of a list's item or a map's key as a whole, where the operator names the member
#: that repeats (a list-map key) or the key itself
_ABOUT_MEMBERS = ("Duplicate value", "keys are at most")


def _unindexed(path: str) -> str:
    """A field path without its list indices: ``a[0].b`` -> ``a[].b``."""
    return re.sub(r"\[[^]]*\]", "[]", path)


def test_invalid_manifests_are_refused_as_expected(
    invalid_manifest: Manifest, apiserver: OfflineApiServer
) -> None:
    assert invalid_manifest.expect, f"{invalid_manifest.path.name} has no '# expect:' line"
    errors = apiserver.errors(invalid_manifest.body)
    assert any(invalid_manifest.expect in error for error in errors), errors
    with pytest.raises(EcsValidationError):
        PARSERS[invalid_manifest.body["kind"]](invalid_manifest.body["spec"])


def test_there_are_enough_invalid_manifests(invalid_manifests: list[Manifest]) -> None:
    assert len(invalid_manifests) >= 40
    names = [m.body["metadata"]["name"] for m in invalid_manifests]
    assert len(names) == len(set(names))


def test_docs_name_every_rule() -> None:
    text = DOCS.read_text()
    for registry in REGISTRIES:
        for rule in registry:
            assert f"`{rule.name}`" in text, f"docs/crds.md does not mention {rule.name}"


def test_cli_prints_or_writes(tmp_path: Path, crds: list[dict[str, Any]]) -> None:
    parser = argparse.ArgumentParser()
    crdgen.configure(parser)
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert crdgen.run(parser.parse_args([])) == 0
    assert list(yaml.safe_load_all(printed.getvalue())) == crds
    with redirect_stdout(io.StringIO()):
        assert crdgen.run(parser.parse_args(["--output", str(tmp_path)])) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{c['spec']['names']['plural']}.ecs-operator.dev.yaml" for c in crds)


def test_docs_examples_are_valid(apiserver: OfflineApiServer) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    manifests = [m for m in map(yaml.safe_load, blocks) if "apiVersion" in m]
    assert len(manifests) >= 3
    for manifest in manifests:
        assert apiserver.errors(manifest) == [], manifest["metadata"]["name"]
        PARSERS[manifest["kind"]](manifest["spec"])


#: The one member ECS's model leaves open: arbitrary JSON for a deployment hook.
OPEN_JSON = {"Service.spec.deploymentConfiguration.lifecycleHooks[].hookDetails"}


def test_every_string_list_and_map_is_bounded(crds: list[dict[str, Any]]) -> None:
    """Issue #12 (Bounds): a tenant can't make one field as large as the API server takes."""
    for crd in crds:
        for path, node in _nodes(_spec_schema(crd)["properties"]["spec"], ".spec"):
            where = f"{crd['spec']['names']['kind']}{path}"
            if where in OPEN_JSON:
                continue
            if node.get("type") == "string" or node.get("x-kubernetes-int-or-string"):
                assert "maxLength" in node or "enum" in node, f"{where} has no maxLength"
            if node.get("type") == "array":
                assert "maxItems" in node, f"{where} has no maxItems"
            if isinstance(node.get("additionalProperties"), dict):
                assert "maxProperties" in node, f"{where} has no maxProperties"
                rules = [v["rule"] for v in node.get("x-kubernetes-validations", [])]
                assert any(r.startswith("self.all(k, size(k) <=") for r in rules), where


def test_bounds_are_ecs_limits_where_ecs_states_them(crds: list[dict[str, Any]]) -> None:
    by_kind = {
        crd["spec"]["names"]["kind"]: _spec_schema(crd)["properties"]["spec"] for crd in crds
    }
    td, service = by_kind["TaskDefinition"], by_kind["Service"]
    container = td["properties"]["containerDefinitions"]["items"]["properties"]
    assert td["properties"]["family"]["maxLength"] == 255
    assert container["image"]["maxLength"] == 255 + len("@sha256:") + 64
    assert container["links"]["items"]["maxLength"] == 511
    assert container["portMappings"]["items"]["properties"]["name"]["maxLength"] == 64
    assert td["properties"]["volumes"]["items"]["properties"]["name"]["maxLength"] == 255
    assert td["properties"]["taskRoleArn"]["maxLength"] == 2048
    assert td["properties"]["tags"]["items"]["properties"]["key"]["maxLength"] == 128
    assert td["properties"]["tags"]["items"]["properties"]["value"]["maxLength"] == 256
    # where ECS states none: what a 64 KiB task definition could hold
    assert container["environment"]["items"]["properties"]["value"]["maxLength"] == 65536
    assert container["environment"]["maxItems"] == 65536 // 3
    assert container["dockerLabels"]["maxProperties"] == 65536 // 6
    assert service["properties"]["cluster"]["maxLength"] == 2048
    quota = [
        v["message"]
        for v in service.get("x-kubernetes-validations", [])
        + service["properties"]["autoScaling"].get("x-kubernetes-validations", [])
        if "tasks per service" in v["message"]
    ]
    assert quota == [
        "desiredCount must be at most 5000 (ECS quota: tasks per service)",
        "autoScaling.maxCapacity must be at most 5000 (ECS quota: tasks per service)",
    ]


def test_kubectl_get_shows_the_default_cluster_and_a_daemons_desired_count() -> None:
    by_kind = {k.kind: crdgen.crd(k) for k in crdgen.KINDS}
    for kind in ("Service", "Task"):
        schema = by_kind[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert schema["properties"]["spec"]["properties"]["cluster"]["default"] == "default"
    columns = by_kind["Service"]["spec"]["versions"][0]["additionalPrinterColumns"]
    desired = next(c for c in columns if c["name"] == "Desired")
    assert desired["jsonPath"] == ".status.desiredCount"  # a DAEMON's is its instance count


def test_a_new_object_reads_as_not_yet_observed_until_the_operator_writes_status() -> None:
    for kind in crdgen.KINDS:
        schema = crdgen.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert schema["properties"]["status"]["default"] == {"observedGeneration": 0}


def _changes_refused(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The members whose rule refuses ``old`` becoming ``new`` (a Task; cel-python, as the API
    server evaluates a transition rule: ``self`` the new object, ``oldSelf`` the stored one)."""
    task = next(k for k in crdgen.KINDS if k.kind == "Task")
    schema = crdgen.crd(task)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    env = celpy.Environment()
    activation = {"self": celpy.json_to_cel(new), "oldSelf": celpy.json_to_cel(old)}
    return [
        rule["fieldPath"]
        for rule in schema["x-kubernetes-validations"]
        if not env.program(env.compile(rule["rule"])).evaluate(activation)
    ]


def test_a_task_that_started_tasks_keeps_its_spec_but_its_desired_status_and_tags() -> None:
    """ECS has no update of a task: once a Task has started tasks, its RunTask parameters are
    fixed (the API server refuses a change naming the member), but StopTask (desiredStatus)
    and TagResource (tags); before any task started, the spec may still be corrected."""
    spec = {"taskDefinition": "web", "count": 2, "cluster": "default"}
    started = {"spec": spec, "status": {"tasks": [{"taskId": "job-0"}]}}
    assert _changes_refused(started, {**started, "spec": {**spec, "count": 3}}) == [".spec.count"]
    added = {**spec, "group": "g", "overrides": {"cpu": "256"}}
    assert _changes_refused(started, {**started, "spec": added}) == [
        ".spec.group",
        ".spec.overrides",
    ]
    unset = {k: v for k, v in spec.items() if k != "count"}
    assert _changes_refused(started, {**started, "spec": unset}) == [".spec.count"]
    stopped = {**spec, "desiredStatus": "STOPPED", "tags": [{"key": "a", "value": "b"}]}
    assert _changes_refused(started, {**started, "spec": stopped}) == []
    for waiting in (
        {"spec": spec, "status": {"observedGeneration": 1}},
        {**started, "status": {"tasks": []}},
    ):
        assert _changes_refused(waiting, {**waiting, "spec": {**spec, "count": 3}}) == []
