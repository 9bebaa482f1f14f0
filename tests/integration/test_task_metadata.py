"""The task metadata endpoint on the devcluster, for a service's task whose pod the real
ReplicaSet controller made (the real-node lane reads a RunTask's from inside its container),
and for a pod someone else made to look like one."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.ecs import apply, fargate_task_definition, service, wait_steady
from tests.support.kube import Kube, kubectl
from tests.support.operator import OperatorProcess, free_port

from ecs_operator.render import keys

pytestmark = pytest.mark.integration


@pytest.fixture
def endpoint(operator: OperatorProcess, namespace: str) -> Iterator[str]:
    """The shared operator, for the test's namespace only, serving the endpoint on a free
    port (restarted as it was afterwards)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    operator.restart(
        "--namespace", namespace, "--task-metadata-port", str(port),
        "--task-metadata-address", "127.0.0.1", "--task-metadata-url", url,
    )  # fmt: skip
    try:
        yield url
    finally:
        operator.restart()


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_services_task_reads_itself_and_a_pod_made_to_look_like_one_reads_nothing(
    endpoint: str, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("web"),
        service("web", "web", desiredCount=1, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "web", 1)
    [real] = kube.pods(namespace)
    # someone who may create pods copies its labels and annotations into a pod of their own
    # (the operator's watch takes it: it carries the operator's label), less the template
    # hash, or the ReplicaSet would adopt it and make it a task indeed
    labels = {k: v for k, v in real.metadata.labels.items() if k != "pod-template-hash"}
    forged = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "forged",
            "labels": labels,
            "annotations": real.metadata.annotations,
        },
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(forged))
    uid = json.loads(kubectl("get", "pod", "forged", "-n", namespace, "-o", "json").stdout)[
        "metadata"
    ]["uid"]
    status, task = _get(f"{endpoint}/v4/{namespace}/{real.metadata.uid}/app/task")
    assert status == 200, task
    assert (task["ServiceName"], task["Family"], task["LaunchType"]) == ("web", "web", "FARGATE")
    assert real.metadata.annotations[keys.ANNOTATION_SERVICE] == "web"
    # the forged pod was created before the real one was read, so the store holds it
    status, answer = _get(f"{endpoint}/v4/{namespace}/{uid}/app/task")
    assert status == 404, answer
