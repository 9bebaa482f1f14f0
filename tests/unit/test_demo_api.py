"""What `make demo` prints for the ECS API: the three exports and a describe-services line of
one cluster's services (ECS describes one cluster at a time)."""

from __future__ import annotations

import shlex

from ecs_operator_devtools.demo_api import REGION, usage


def _service(name: str, cluster: str | None) -> dict[str, dict[str, str]]:
    spec = {"serviceName": name, **({"cluster": cluster} if cluster else {})}
    return {"spec": spec}


def test_the_demo_prints_the_exports_and_a_describe_of_one_clusters_services() -> None:
    services = [
        _service("agent", "production"),
        _service("web", None),
        _service("worker", "production"),
    ]
    exports, describe = usage(8443, ("AKIADEMO", "s/cr et"), services).splitlines()
    assert shlex.split(exports.removeprefix("ECS API: ")) == [
        "export",
        "AWS_ENDPOINT_URL_ECS=http://127.0.0.1:8443",
        "AWS_ACCESS_KEY_ID=AKIADEMO",
        "AWS_SECRET_ACCESS_KEY=s/cr et",
    ]
    assert shlex.split(describe) == [
        "aws", "ecs", "describe-services", "--region", REGION,
        "--cluster", "production", "--services", "agent", "worker",
    ]  # fmt: skip


def test_a_service_without_a_cluster_is_in_default() -> None:
    describe = usage(1, ("k", "s"), [_service("web", None)]).splitlines()[1]
    assert describe.endswith("--cluster default --services web")
