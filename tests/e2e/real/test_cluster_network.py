"""From inside a pod on a real node, the cluster works like a cluster: Service names resolve
through CoreDNS at the kubelet's clusterDNS, the API server answers at
``https://kubernetes.default.svc`` through kube-proxy, and a ClusterIP Service carries traffic
from one pod to another. No hostAliases, no hand-made routes: only kube-proxy and CoreDNS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.kube import Kube, kubectl, wait_for

pytestmark = pytest.mark.real

IMAGE = "localhost/busybox:stable"


def _pod(name: str, command: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": "real-0"},
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": name,
                    "image": IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", command],
                }
            ],
        },
    }


def _run_pods(kube: Kube, namespace: str, *pods: dict[str, Any]) -> None:
    for pod in pods:
        kube.core.create_namespaced_pod(namespace, pod)

    names = {pod["metadata"]["name"] for pod in pods}

    def all_ready() -> bool:
        ready = {
            p.metadata.name
            for p in kube.pods(namespace)
            if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        }
        return names <= ready

    wait_for(all_ready, timeout=120, what="the pods on real-0 to be Ready")


def _exec(namespace: str, pod: str, *command: str, check: bool = True) -> str:
    return kubectl("exec", "-n", namespace, pod, "--", *command, check=check).stdout


@pytest.fixture
def client_pod(devcluster: Path, kube: Kube, namespace: str) -> str:
    _run_pods(kube, namespace, _pod("client", "sleep 3600"))
    return "client"


def test_a_pod_resolves_kubernetes_and_reaches_the_api_server_through_its_service(
    namespace: str, client_pod: str
) -> None:
    resolved = _exec(namespace, client_pod, "nslookup", "kubernetes.default.svc.cluster.local")
    assert "10.96.0.1" in resolved
    # busybox's TLS cannot agree on a cipher with the API server's ECDSA certificate (the
    # handshake fails with an alert: even that is the API server answering), so the request is
    # plain HTTP to its HTTPS port, which Go's server answers with a 400 of its own wording
    answer = _exec(
        namespace,
        client_pod,
        "sh", "-c", "printf 'GET /version HTTP/1.0\\r\\n\\r\\n' | nc kubernetes.default.svc 443",
    )  # fmt: skip
    assert answer.startswith("HTTP/1.0 400 Bad Request")
    assert "Client sent an HTTP request to an HTTPS server." in answer


def test_a_cluster_ip_service_carries_traffic_from_pod_to_pod(
    kube: Kube, namespace: str, client_pod: str
) -> None:
    serve = "mkdir -p /www && echo hello-from-web > /www/index.html && httpd -f -p 8080 -h /www"
    _run_pods(kube, namespace, _pod("web", serve, {"app": "web"}))
    kube.core.create_namespaced_service(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    url = f"http://web.{namespace}.svc.cluster.local/"

    def fetched() -> str:  # the Service's rules may lag its endpoints by a sync
        return _exec(namespace, client_pod, "wget", "-q", "-O", "-", url, check=False)

    assert wait_for(fetched, timeout=30, what=f"{url} from the client pod") == "hello-from-web\n"
