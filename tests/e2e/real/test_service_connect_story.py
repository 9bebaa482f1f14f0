"""Service Connect on a real node: a client task reaches a server service by its client alias,
the name resolved by the cluster's DNS (CoreDNS) and the traffic carried to the server's
container port by kube-proxy, as an ECS task reaches another over Service Connect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.ecs import apply, wait_steady
from tests.support.kube import Kube
from tests.support.stories import (
    CLUSTER,
    FAST_CHECK,
    container,
    containers_of,
    ecs_service,
    kubectl_ecs,
    run_task,
    story_namespace,
    task_definition,
    wait_task,
)

pytestmark = pytest.mark.real

PAGE = "hello from greeter"


@pytest.fixture(scope="module")
def ns(ecs_operator: object, kube: Kube) -> Iterator[str]:
    yield from story_namespace(kube, "real-connect")


def test_a_client_reaches_a_service_by_its_service_connect_alias(ns: str, kube: Kube) -> None:
    serve = f"mkdir -p /www && echo '{PAGE}' > /www/index.html && exec httpd -f -p 8080 -h /www"
    apply(
        ns,
        task_definition(
            "greeter",
            container(
                "web",
                serve,
                portMappings=[{"name": "http", "containerPort": 8080, "appProtocol": "http"}],
                healthCheck={
                    "command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/"],
                    **FAST_CHECK,
                },
            ),
        ),
        ecs_service(
            "greeter",
            "greeter",
            desiredCount=1,
            serviceConnectConfiguration={
                "enabled": True,
                "namespace": "stories",
                "services": [
                    {
                        "portName": "http",
                        "discoveryName": "greeter",
                        # clients on ECS call http://hello (port 80): the proxy-free alias is a
                        # Service `hello` on port 80 forwarding to the container's 8080
                        "clientAliases": [{"port": 80, "dnsName": "hello"}],
                    }
                ],
            },
        ),
        task_definition(
            "caller",
            container(
                "call",
                # a few tries: the endpoint may lag the server's readiness by a moment. nc, not
                # wget: the image's static wget crashes resolving a name (glibc's NSS)
                "for i in $(seq 20); do"
                " page=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 hello 80);"
                f" case $page in *'{PAGE}'*) echo \"$page\"; exit 0;; esac; sleep 1;"
                " done; exit 1",
            ),
        ),
    )
    wait_steady(kube, ns, "greeter", 1)
    apply(ns, run_task("caller", "caller"))
    stopped = wait_task(kube, ns, "caller", "STOPPED")
    assert containers_of(stopped)["call"]["exitCode"] == 0
    logs = kubectl_ecs(ns, "logs", "--cluster", CLUSTER, "--task", "caller-0")
    assert PAGE in logs
