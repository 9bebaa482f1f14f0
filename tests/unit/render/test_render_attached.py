"""The objects attached to a service: Services for load balancers, Cloud Map and Service
Connect; the HorizontalPodAutoscaler of autoScaling; the PodDisruptionBudget; security groups
as pod labels."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceAutoScaling
from ecs_operator.api.parse import parse_service
from ecs_operator.api.shapes import CreateServiceRequest, RegisterTaskDefinitionRequest
from ecs_operator.plan import PlanContext, plan_service
from ecs_operator.render import Options, keys, render_service
from ecs_operator.render.attached import render_attached
from ecs_operator.render.availability import min_available, pod_disruption_budget
from ecs_operator.render.awsvpc import report_awsvpc, security_group_labels
from ecs_operator.render.endpoints import pod_ports, service_name
from ecs_operator.render.findings import Report
from ecs_operator.render.scaling import horizontal_pod_autoscaler
from ecs_operator.render.workloads import Meta

from .helpers import container, task, validate

HTTP = {"name": "http", "containerPort": 8080, "appProtocol": "http"}
META = Meta("web", "shop", {"ecs-operator.dev/service": "web"}, {})
SELECTOR = {"ecs-operator.dev/cluster": "default", "ecs-operator.dev/service": "web"}


def rendered(**members: Any) -> tuple[list[dict[str, Any]], Report]:
    """The attached objects (and findings) of service ``web`` running one container ``app``
    with ports ``http`` 8080 and 9090, plus a sidecar ``proxy`` with port 15000."""
    svc = parse_service(
        {"serviceName": "web", "taskDefinition": "demo", "desiredCount": 1, **members}
    )
    td = task(
        [
            container(portMappings=[HTTP, {"containerPort": 9090}]),
            container("proxy", portMappings=[{"containerPort": 15000}]),
        ]
    )
    report = Report()
    template = render_service(svc, td, Options(namespace="shop")).workload["spec"]["template"]
    objects = render_attached(svc, template, "shop", name="web-svc", report=report)
    for obj in objects:
        validate(obj)
    return objects, report


def by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects}


def ports(service: dict[str, Any]) -> list[tuple[int, int | str]]:
    return [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]]


def test_pod_ports_know_their_ecs_names() -> None:
    template = render_service(
        CreateServiceRequest(serviceName="web", desiredCount=1),
        task([container("App_1", portMappings=[HTTP])]),
        Options(),
    ).workload["spec"]["template"]
    [port] = pod_ports(template)
    assert (port.container, port.number, port.mapping, port.target) == (
        "App_1",
        8080,
        "http",
        "http",
    )
    assert port.app_protocol == "http"


@pytest.mark.parametrize(
    ("dns", "name"),
    [
        ("orders", "orders"),
        ("orders.local", "orders"),
        ("Orders.corp.internal", "orders"),
        ("my_orders.local", None),
        ("-orders", None),
        ("a" * 64, None),
    ],
)
def test_an_ecs_dns_name_is_answered_by_its_first_label(dns: str, name: str | None) -> None:
    assert service_name(dns) == name


def test_load_balancers_on_one_port_share_a_service() -> None:
    objects, report = rendered(
        loadBalancers=[
            {"targetGroupArn": "arn:tg/a", "containerName": "app", "containerPort": 8080},
            {"targetGroupArn": "arn:tg/b", "containerName": "app", "containerPort": 8080},
            {"loadBalancerName": "classic", "containerName": "app", "containerPort": 9090},
            {"targetGroupArn": "arn:tg/c", "containerName": "app", "containerPort": 7000},
        ]
    )
    services = by_name([o for o in objects if o["kind"] == "Service"])
    assert set(services) == {"web-lb-8080", "web-lb-9090"}
    http = services["web-lb-8080"]
    assert http["spec"]["type"] == "ClusterIP" and http["spec"]["selector"] == SELECTOR
    assert ports(http) == [(8080, "http")]
    assert http["spec"]["ports"][0]["appProtocol"] == "http"
    notes = http["metadata"]["annotations"]
    assert json.loads(notes["ecs-operator.dev/target-group-arns"]) == ["arn:tg/a", "arn:tg/b"]
    assert ports(services["web-lb-9090"]) == [(9090, 9090)]
    assert [f.path for f in report.findings] == ["loadBalancers[3]"]  # no port 7000


def _load_balanced_web() -> tuple[CreateServiceRequest, RegisterTaskDefinitionRequest]:
    """A service with one load balancer on port 8080 of its task definition's container."""
    lb = {"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 8080}
    spec = {"serviceName": "web", "taskDefinition": "demo", "desiredCount": 1}
    return parse_service({**spec, "loadBalancers": [lb]}), task([container(portMappings=[HTTP])])


@pytest.mark.parametrize(
    ("requested", "kind", "findings"),
    [
        ("LoadBalancer", "LoadBalancer", []),
        ("NodePort", "NodePort", []),
        ("ELB", "ClusterIP", ["loadBalancers"]),
    ],
)
def test_the_load_balancer_type_is_the_annotations(
    requested: str, kind: str, findings: list[str]
) -> None:
    svc, td = _load_balanced_web()
    annotations = {keys.ANNOTATION_LOAD_BALANCER_TYPE: requested}
    result = plan_service(svc, PlanContext(td, annotations=annotations))
    [lb] = result.attached
    assert lb["spec"]["type"] == kind
    assert [f.path for f in result.request.findings] == findings


def test_exposure_is_the_admins_call() -> None:
    """A type the admin did not allow (policy.py) is ClusterIP, with an unsupported finding."""
    svc, td = _load_balanced_web()
    template = render_service(svc, td, Options()).pod.pod_template
    report = Report()
    (lb, *_) = render_attached(
        svc, template, "team", load_balancer_type="LoadBalancer",
        allowed_types={"ClusterIP", "NodePort"}, report=report,
    )  # fmt: skip
    assert lb["spec"]["type"] == "ClusterIP"
    assert [(f.path, f.kind) for f in report.findings] == [("loadBalancers", "unsupported")]
    assert "ecs-operator.dev/allowed-service-types" in report.findings[0].message


def test_a_cloud_map_registry_is_a_headless_service_named_after_the_ecs_service() -> None:
    objects, report = rendered(
        serviceRegistries=[
            {"registryArn": "arn:srv-1", "containerName": "app", "containerPort": 8080}
        ]
    )
    [registry] = objects
    assert registry["metadata"]["name"] == "web"
    assert registry["spec"]["clusterIP"] == "None"
    assert ports(registry) == [(8080, "http")]
    notes = json.loads(registry["metadata"]["annotations"]["ecs-operator.dev/registry-arns"])
    assert notes == ["arn:srv-1"]
    assert not report.findings


def test_an_srv_port_names_the_container_port() -> None:
    objects, report = rendered(serviceRegistries=[{"registryArn": "arn:srv-1", "port": 9090}])
    assert ports(objects[0]) == [(9090, 9090)] and not report.findings
    objects, report = rendered(serviceRegistries=[{"registryArn": "arn:srv-1", "port": 7000}])
    assert "ports" not in objects[0]["spec"]
    assert [f.path for f in report.findings] == ["serviceRegistries[0]"]


def test_a_registry_without_a_port_answers_with_task_ips() -> None:
    objects, _ = rendered(serviceRegistries=[{"registryArn": "arn:srv-1"}])
    assert "ports" not in objects[0]["spec"] and objects[0]["spec"]["clusterIP"] == "None"


def test_service_connect_names_become_services() -> None:
    connect = {
        "enabled": True,
        "namespace": "corp.internal",
        "services": [
            {
                "portName": "http",
                "discoveryName": "web-api",
                "clientAliases": [
                    {"port": 80, "dnsName": "web.corp.internal"},
                    {"port": 8080, "dnsName": "web-api"},
                    {"port": 81, "dnsName": "web_v2.corp.internal"},
                ],
                "tls": {"issuerCertificateAuthority": {"awsPcaAuthorityArn": "arn:pca"}},
            }
        ],
    }
    objects, report = rendered(serviceConnectConfiguration=connect)
    services = by_name(objects)
    assert set(services) == {"web-api", "web"}
    assert ports(services["web-api"]) == [(8080, "http")]
    assert ports(services["web"]) == [(80, "http")]
    names = json.loads(
        services["web-api"]["metadata"]["annotations"]["ecs-operator.dev/ecs-dns-names"]
    )
    assert names == ["web-api.corp.internal", "web-api"]
    assert "clusterIP" not in services["web"]["spec"]
    assert {(f.path, f.kind) for f in report.findings} == {
        # a dotted name resolves only by its Service's name, or through a DNS rewrite
        ("serviceConnectConfiguration.services[0].clientAliases[0].dnsName", "mapped-approx"),
        ("serviceConnectConfiguration.services[0].clientAliases[2].dnsName", "unsupported"),
        ("serviceConnectConfiguration.services[0].tls", "unsupported"),
        ("serviceConnectConfiguration.namespace", "mapped-approx"),
    }


def test_an_alias_without_a_dns_name_is_the_discovery_name() -> None:
    connect = {
        "enabled": True,
        "namespace": "local",
        "services": [{"portName": "http", "clientAliases": [{"port": 80}]}],
    }
    objects, _ = rendered(serviceConnectConfiguration=connect)
    [http] = objects
    assert http["metadata"]["name"] == "http"  # the portName, as ECS names it
    assert ports(http) == [(8080, "http"), (80, "http")]
    assert [p["name"] for p in http["spec"]["ports"]] == ["http", "tcp-80"]


def test_service_connect_off_or_client_only_renders_nothing() -> None:
    assert rendered(serviceConnectConfiguration={"enabled": False})[0] == []
    assert rendered(serviceConnectConfiguration={"enabled": True, "namespace": "local"})[0] == []


def test_a_port_name_that_no_mapping_has_is_reported() -> None:
    connect = {"enabled": True, "services": [{"portName": "grpc"}]}
    objects, report = rendered(serviceConnectConfiguration=connect)
    assert objects == []
    assert [f.path for f in report.findings] == ["serviceConnectConfiguration.services[0].portName"]


def test_a_registry_name_met_by_an_alias_gets_a_cluster_ip() -> None:
    connect = {
        "enabled": True,
        "services": [{"portName": "http", "clientAliases": [{"port": 80, "dnsName": "web"}]}],
    }
    objects, report = rendered(
        serviceRegistries=[{"registryArn": "arn:srv-1", "containerPort": 8080}],
        serviceConnectConfiguration=connect,
    )
    web = by_name(objects)["web"]
    assert "clusterIP" not in web["spec"]
    assert ports(web) == [(8080, "http"), (80, "http")]
    assert any(f.kind == "mapped-approx" for f in report.findings)


def test_two_targets_on_one_service_port_are_reported() -> None:
    connect = {
        "enabled": True,
        "services": [{"portName": "http", "clientAliases": [{"port": 9090, "dnsName": "web"}]}],
    }
    objects, report = rendered(
        serviceRegistries=[{"registryArn": "arn:srv-1", "containerPort": 9090}],
        serviceConnectConfiguration=connect,
    )
    assert ports(by_name(objects)["web"]) == [(9090, 9090)]
    assert [f.kind for f in report.findings] == ["mapped-approx", "unsupported"]


def test_an_awsvpc_configuration_needs_an_awsvpc_task_definition_as_in_ecs() -> None:
    svc = CreateServiceRequest.model_validate(
        {
            "serviceName": "web",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
        }
    )
    for td in (task(), task(networkMode="bridge"), task(networkMode="host")):
        with pytest.raises(EcsValidationError) as refused:
            render_service(svc, td, Options())
        assert refused.value.paths == ["networkConfiguration.awsvpcConfiguration"]
        assert "not valid for the given networkMode" in str(refused.value)


def test_security_groups_are_pod_labels() -> None:
    svc = CreateServiceRequest.model_validate(
        {
            "serviceName": "web",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-1"],
                    "securityGroups": ["sg-0123", "sg-0456"],
                    "assignPublicIp": "ENABLED",
                }
            },
        }
    )
    assert security_group_labels(svc) == {
        "sg.ecs-operator.dev/sg-0123": "true",
        "sg.ecs-operator.dev/sg-0456": "true",
    }
    report = Report()
    report_awsvpc(svc, report)
    assert [(f.path.rsplit(".", 1)[1], f.kind) for f in report.findings] == [
        ("subnets", "mapped-approx"),
        ("securityGroups", "mapped-approx"),
        ("assignPublicIp", "unsupported"),
    ]
    result = render_service(svc, task(networkMode="awsvpc"), Options())
    labels = result.workload["spec"]["template"]["metadata"]["labels"]
    assert labels["sg.ecs-operator.dev/sg-0123"] == "true"


def test_a_disabled_public_ip_is_what_pods_have() -> None:
    svc = CreateServiceRequest.model_validate(
        {
            "serviceName": "web",
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["s"], "assignPublicIp": "DISABLED"}
            },
        }
    )
    report = Report()
    report_awsvpc(svc, report)
    assert [f.path for f in report.findings] == ["networkConfiguration.awsvpcConfiguration.subnets"]


def scaling(**members: Any) -> ServiceAutoScaling:
    policy = {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 70}
    return ServiceAutoScaling.model_validate(
        {"minCapacity": 2, "maxCapacity": 8, "targetTrackingScalingPolicies": [policy], **members}
    )


def test_autoscaling_is_an_hpa_on_the_ecs_service() -> None:
    report = Report()
    hpa = horizontal_pod_autoscaler(scaling(), META, "web-svc", report)
    assert hpa is not None
    validate(hpa)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "Service",
        "name": "web-svc",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    assert "behavior" not in hpa["spec"] and not report.findings


def test_cooldowns_are_stabilization_windows() -> None:
    policies = [
        {
            "predefinedMetricType": "ECSServiceAverageCPUUtilization",
            "targetValue": 70.5,
            "scaleInCooldown": 120,
            "scaleOutCooldown": 30,
        },
        {
            "predefinedMetricType": "ECSServiceAverageMemoryUtilization",
            "targetValue": 80,
            "scaleInCooldown": 600,
        },
    ]
    report = Report()
    hpa = horizontal_pod_autoscaler(
        scaling(targetTrackingScalingPolicies=policies), META, "web", report
    )
    assert hpa is not None
    assert hpa["spec"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 600},
        "scaleUp": {"stabilizationWindowSeconds": 30},
    }
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu", "memory"]
    assert {f.path for f in report.findings} == {
        "autoScaling.targetTrackingScalingPolicies[0].targetValue",
        "autoScaling.targetTrackingScalingPolicies.scaleInCooldown",
        "autoScaling.targetTrackingScalingPolicies",
    }


def test_scaling_to_zero_and_no_policy() -> None:
    report = Report()
    hpa = horizontal_pod_autoscaler(scaling(minCapacity=0, maxCapacity=0), META, "web", report)
    assert hpa is not None and (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 1)
    assert [f.path for f in report.findings] == [
        "autoScaling.minCapacity",
        "autoScaling.maxCapacity",
    ]
    report = Report()
    assert (
        horizontal_pod_autoscaler(scaling(targetTrackingScalingPolicies=None), META, "w", report)
        is None
    )
    assert [f.kind for f in report.findings] == ["ignored"]


@pytest.mark.parametrize(
    ("desired", "percent", "expected"),
    [(4, 50, 2), (3, 50, 2), (10, 90, 9), (4, 100, 4), (4, None, 4), (4, 0, 0)],
)
def test_min_available_is_what_ecs_keeps_healthy(
    desired: int, percent: int | None, expected: int
) -> None:
    assert min_available(desired, percent) == expected


def test_the_budget_never_blocks_every_drain() -> None:
    report = Report()
    budget = pod_disruption_budget(4, None, META, SELECTOR, report)
    assert budget is not None
    validate(budget)
    assert budget["spec"]["minAvailable"] == 3
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert [f.path for f in report.findings] == ["deploymentConfiguration.minimumHealthyPercent"]
    assert pod_disruption_budget(1, 50, META, SELECTOR, Report()) is None
    assert pod_disruption_budget(4, 0, META, SELECTOR, Report()) is None


def test_a_daemon_gets_services_but_no_hpa_nor_budget() -> None:
    svc = parse_service(
        {
            "serviceName": "agent",
            "taskDefinition": "demo",
            "schedulingStrategy": "DAEMON",
            "loadBalancers": [
                {"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 8080}
            ],
        }
    )
    result = plan_service(svc, PlanContext(task([container(portMappings=[HTTP])])))
    assert [o["kind"] for o in result.objects] == ["ServiceAccount", "DaemonSet", "Service"]


def test_a_replica_service_gets_its_hpa_named_after_the_object() -> None:
    objects, _ = rendered(
        desiredCount=3,
        deploymentConfiguration={"minimumHealthyPercent": 50},
        autoScaling={
            "minCapacity": 1,
            "maxCapacity": 5,
            "targetTrackingScalingPolicies": [
                {"predefinedMetricType": "ECSServiceAverageMemoryUtilization", "targetValue": 75}
            ],
        },
    )
    hpa, budget = objects
    assert hpa["kind"] == "HorizontalPodAutoscaler" and hpa["metadata"]["name"] == "web"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "web-svc"
    assert budget["spec"] == {
        "minAvailable": 2,
        "selector": {"matchLabels": SELECTOR},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    assert hpa["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ecs-operator"
