"""The hashes the cluster keeps must not change between releases: live objects carry the
applied-hash annotation and ControllerRevisions and ``status.failedDeployment`` carry spec
hashes, so a new value would rewrite every object (or forget every recorded failure) on
upgrade. These values were computed by the releases before the hash functions were merged."""

from __future__ import annotations

from ecs_operator.kube.apply import HASH_ANNOTATION, stamped
from ecs_operator.render.names import json_digest
from ecs_operator.status.rollout import spec_hash

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"replicas": 2, "note": "café"},
}
SERVICE = {"serviceName": "web", "taskDefinition": "web:3", "desiredCount": 2}


def test_json_digest_is_pinned() -> None:
    assert json_digest(DEPLOYMENT) == "433002282e374a3b"


def test_applied_hash_annotation_is_pinned() -> None:
    annotations = stamped(DEPLOYMENT)["metadata"]["annotations"]
    assert annotations == {HASH_ANNOTATION: "433002282e374a3b"}


def test_spec_hash_is_pinned_and_ignores_scaling() -> None:
    assert spec_hash(SERVICE) == "f656281156551159"
    assert spec_hash({**SERVICE, "desiredCount": 5, "autoScaling": {}}) == "f656281156551159"
