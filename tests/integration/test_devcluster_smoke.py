"""The harness itself, on the real control plane: scheduling onto the simulated fleet,
controllers at work, helm. These prove the devcluster, not the operator."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.support.kube import Kube, kubectl, wait_for

from ecs_operator import nodes

pytestmark = pytest.mark.integration


def _deployment(name: str, replicas: int, pod_spec: dict[str, Any]) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def _container() -> dict[str, Any]:
    return {"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27"}


def _running(kube: Kube, namespace: str, selector: str, count: int) -> list[Any]:
    pods = [p for p in kube.pods(namespace, selector) if p.status.phase == "Running"]
    return pods if len(pods) == count else []


def test_fleet_is_ready_with_the_node_vocabulary(kube: Kube) -> None:
    listed = {n.metadata.name: n for n in kube.core.list_node().items}
    for fake in nodes.default_fleet():
        node = listed[fake.name]
        assert {k: node.metadata.labels[k] for k in fake.labels} == fake.labels
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    fargate = listed["fargate-0"]
    assert [(t.key, t.value, t.effect) for t in fargate.spec.taints] == [
        (nodes.TAINT_VK_PROVIDER, nodes.FARGATE_PROVIDER, "NoSchedule")
    ]


def test_deployment_gets_running_pods_on_ec2_pool_nodes(kube: Kube, namespace: str) -> None:
    spec = {"containers": [_container()], "nodeSelector": {nodes.LABEL_OS: "linux"}}
    kube.apps.create_namespaced_deployment(namespace, _deployment("web", 3, spec))
    pods = wait_for(lambda: _running(kube, namespace, "app=web", 3), 60, "3 running pods")
    for pod in pods:
        labels = kube.node(pod.spec.node_name).metadata.labels
        assert labels[nodes.LABEL_NODE_POOL] in ("general", "compute")
        assert pod.status.pod_ip.startswith("10.244.")


def test_fargate_pod_lands_on_virtual_kubelet_node_only_with_toleration(
    kube: Kube, namespace: str
) -> None:
    selector = nodes.fargate_node_selector(nodes.FARGATE)
    tolerating = {
        "containers": [_container()],
        "nodeSelector": selector,
        "tolerations": nodes.fargate_tolerations(),
    }
    intolerant = {"containers": [_container()], "nodeSelector": selector}
    kube.core.create_namespaced_pod(namespace, {"metadata": {"name": "ok"}, "spec": tolerating})
    kube.core.create_namespaced_pod(namespace, {"metadata": {"name": "no"}, "spec": intolerant})

    running = wait_for(lambda: _running(kube, namespace, "", 1), 60, "the tolerating pod running")
    assert running[0].metadata.name == "ok"
    node = kube.node(running[0].spec.node_name)
    assert node.metadata.labels[nodes.LABEL_VK_TYPE] == nodes.VK_TYPE

    def unschedulable() -> bool:
        pod = kube.core.read_namespaced_pod("no", namespace)
        conditions = {c.type: c for c in pod.status.conditions or []}
        scheduled = conditions.get("PodScheduled")
        return bool(
            scheduled and scheduled.status == "False" and scheduled.reason == "Unschedulable"
        )

    wait_for(unschedulable, 30, "the scheduler to refuse the intolerant pod")
    assert kube.core.read_namespaced_pod("no", namespace).spec.node_name is None


def test_deleting_a_namespace_removes_its_pods(kube: Kube, namespace: str) -> None:
    spec = {"containers": [_container()], "nodeSelector": {nodes.LABEL_OS: "linux"}}
    kube.apps.create_namespaced_deployment(namespace, _deployment("doomed", 2, spec))
    wait_for(lambda: _running(kube, namespace, "app=doomed", 2), 60, "2 running pods")
    kube.delete_namespace(namespace)

    def gone() -> bool:
        return not [ns for ns in kube.core.list_namespace().items if ns.metadata.name == namespace]

    wait_for(gone, 90, f"namespace {namespace} to be deleted")
    assert (
        kube.core.list_pod_for_all_namespaces(
            field_selector=f"metadata.namespace={namespace}"
        ).items
        == []
    )


def test_helm_installs_a_local_chart(namespace: str, tmp_path: Path) -> None:
    chart = tmp_path / "hello"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: hello\nversion: 0.1.0\nkubeVersion: '>=1.34.0-0'\n"
    )
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    )
    (chart / "values.yaml").write_text("greeting: hello\n")
    subprocess.run(
        [
            "helm",
            "install",
            "demo",
            str(chart),
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            "60s",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    shown = kubectl(
        "get", "configmap", "demo-greeting", "-n", namespace, "-o", "jsonpath={.data.greeting}"
    )
    assert shown.stdout == "hello"
