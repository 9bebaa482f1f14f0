"""What the Service reconciler writes is what ``convert --to k8s`` prints: a golden case's
input, given to convert and, as the custom resources convert makes of it, to the reconcilers
against the fake API server; every object convert prints is written, and nothing else, the
same but for what only the API server and the operator add (owner reference, uid, versions,
the applied-hash annotation)."""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ecs_operator import API_GROUP, convert
from ecs_operator.handlers import service, taskdefinition
from ecs_operator.handlers.context import Settings
from ecs_operator.kube.apply import HASH_ANNOTATION
from ecs_operator.kube.resources import resource_of
from ecs_operator.policy import EXPOSED_SERVICE_TYPES, Policy

from ..fakes import FakeApi, context

#: an admin who allows what convert assumes: every task role, every Service type
OPEN = Policy(task_roles=("*",), service_types=frozenset(EXPOSED_SERVICE_TYPES))
GOLDEN = Path(__file__).resolve().parents[2] / "golden"
NAMESPACE = "shop"
#: what the API server and the operator add to what the plan says
ADDED = ("uid", "resourceVersion", "generation", "creationTimestamp", "ownerReferences")
#: the kinds a Service writes (its task definition's ControllerRevision aside)
WRITTEN = (
    "serviceaccounts",
    "deployments",
    "daemonsets",
    "services",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
)


def _input(case: str) -> list[dict[str, Any]]:
    """The case's input with its task definition as revision 1, the operator's first."""
    data = json.loads((GOLDEN / case / "input.json").read_text())
    return [{**item, "revision": 1} if "containerDefinitions" in item else item for item in data]


def _converted(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser()
    convert.configure(parser)
    args = parser.parse_args(["-", "--to", "k8s", "--namespace", NAMESPACE])
    documents = convert.read_documents(copy.deepcopy(data))
    return convert.to_kubernetes(documents, convert.options_of(args)).documents()


def _as_planned(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in obj["metadata"].items() if k not in ADDED}
    annotations = {k: v for k, v in metadata.get("annotations", {}).items()}
    annotations.pop(HASH_ANNOTATION, None)
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}


@pytest.mark.parametrize("case", ["fargate-spot-strategy", "web-service-envoy"])
def test_the_service_reconciler_writes_what_convert_prints(case: str) -> None:
    data = _input(case)
    resources = convert.to_custom_resources(convert.read_documents(copy.deepcopy(data)), NAMESPACE)
    names = {
        str(r["spec"].get("cluster") or "default") for r in resources if r["kind"] == "Service"
    }
    clusters = [
        {
            "apiVersion": resources[0]["apiVersion"],
            "kind": "Cluster",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"clusterName": name},
        }
        for name in names
    ]
    api = FakeApi(*clusters, *resources)
    ctx = context(api, Settings(policy=OPEN))

    async def reconcile_all() -> None:
        for body in resources:
            kind = taskdefinition if body["kind"] == "TaskDefinition" else service
            await kind.reconcile(ctx, NAMESPACE, body["metadata"]["name"])

    asyncio.run(reconcile_all())
    written = {
        key: _as_planned(obj)
        for key, obj in api.objects.items()
        if key[0] in WRITTEN and not obj["apiVersion"].startswith(API_GROUP)
    }
    printed = {
        (resource_of(obj).plural, NAMESPACE, obj["metadata"]["name"]): obj
        for obj in _converted(data)
    }
    assert written == printed
    deployments = [key for key in written if key[0] == "deployments"]
    assert len(deployments) == (2 if case == "fargate-spot-strategy" else 1)
