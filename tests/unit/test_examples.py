"""examples/: every manifest is valid (the operator's models and the CRD schema with its CEL
rules, offline) and every reference in them resolves within the examples."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.conftest import OfflineApiServer

from ecs_operator.api.identifiers import DEFAULT_CLUSTER, cluster_name
from ecs_operator.api.parse import parse_cluster, parse_service, parse_task, parse_task_definition
from ecs_operator.api.ref import TaskDefinitionRef
from ecs_operator.nodes import FARGATE, FARGATE_SPOT

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "examples").glob("*.yaml"))
PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "TaskDefinition": parse_task_definition,
    "Service": parse_service,
    "Task": parse_task,
    "Cluster": parse_cluster,
}
OBJECTS = [(path.name, doc) for path in FILES for doc in yaml.safe_load_all(path.read_text())]
#: what `make demo` adds on a real node (examples/real/): checked as valid, like the others
REAL = [
    (f"real/{path.name}", doc)
    for path in sorted((REPO / "examples" / "real").glob("*.yaml"))
    for doc in yaml.safe_load_all(path.read_text())
]


def test_the_promised_examples_exist() -> None:
    names = {path.name for path in FILES}
    assert {
        "fargate-web.yaml",
        "ec2-worker.yaml",
        "daemon-agent.yaml",
        "batch-task.yaml",
        "cluster.yaml",
    } <= names


@pytest.mark.parametrize(
    ("name", "body"),
    OBJECTS + REAL,
    ids=[f"{n}:{b['kind']}/{b['metadata']['name']}" for n, b in OBJECTS + REAL],
)
def test_valid_for_the_operator_and_the_api_server(
    name: str, body: dict[str, Any], apiserver: OfflineApiServer
) -> None:
    assert body["apiVersion"] == "ecs-operator.dev/v1alpha1"
    assert "namespace" not in body["metadata"], "examples apply to any namespace"
    PARSERS[body["kind"]](body["spec"])
    assert apiserver.errors(body) == []


def _of(kind: str) -> list[dict[str, Any]]:
    return [body for _, body in OBJECTS if body["kind"] == kind]


def test_references_resolve_within_the_examples() -> None:
    families = {td["spec"]["family"] for td in _of("TaskDefinition")}
    clusters = {c["spec"]["clusterName"]: c["spec"] for c in _of("Cluster")}
    for user in _of("Service") + _of("Task"):
        spec = user["spec"]
        assert TaskDefinitionRef.parse(spec["taskDefinition"]).family in families
        cluster = cluster_name(spec.get("cluster"))
        assert cluster == DEFAULT_CLUSTER or cluster in clusters, "the default is made on use"
        providers = set(clusters.get(cluster, {}).get("capacityProviders") or [])
        for item in spec.get("capacityProviderStrategy") or []:
            assert item["capacityProvider"] in providers | {FARGATE, FARGATE_SPOT}


def test_the_ec2_worker_binpacks_on_general() -> None:
    (worker,) = [s for s in _of("Service") if s["metadata"]["name"] == "worker"]
    spec = parse_service(worker["spec"])
    assert [i.capacityProvider for i in spec.capacityProviderStrategy or []] == ["general"]
    assert [(p.type, p.field) for p in spec.placementStrategy or []] == [("binpack", "memory")]
    (cluster,) = _of("Cluster")
    assert cluster["spec"]["capacityProviders"] == ["general", "compute", FARGATE, FARGATE_SPOT]


def test_the_kinds_of_workload_are_covered() -> None:
    strategies = {s["spec"].get("schedulingStrategy", "REPLICA") for s in _of("Service")}
    assert strategies == {"REPLICA", "DAEMON"}
    (batch,) = _of("Task")
    assert batch["spec"]["count"] == 2
    fargate_web = [
        td
        for td in _of("TaskDefinition")
        if td["spec"]["family"] == "web"
        and any(c.get("essential") is False for c in td["spec"]["containerDefinitions"])
    ]
    assert fargate_web, "the web example has a (non-essential) sidecar"
