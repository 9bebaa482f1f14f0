"""User stories for a service in the network, on the real control plane with the operator as a
process: Service Connect names and load balancers as Kubernetes Services, placement across
zones, nodes and instance types, Service Auto Scaling through the scale subresource, and the
deployment circuit breaker with its rollback."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any

import pytest
from kubernetes.client.rest import ApiException
from tests.support.ecs import (
    apply,
    condition,
    ec2_task_definition,
    events,
    get,
    resource,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator import nodes
from ecs_operator_devtools.devcluster.cluster import HPA_SYNC_SECONDS

pytestmark = pytest.mark.integration

#: The devcluster's fleet: general-0..2 in us-east-1a..c, compute-0..1 (c5.2xlarge).
GENERAL = {f.name: f.labels for f in nodes.default_fleet() if f.name.startswith("general-")}
GENERAL_CLUSTER = resource(
    "Cluster", "default", {"clusterName": "default", "capacityProviders": ["general"]}
)
ON_GENERAL = {"capacityProviderStrategy": [{"capacityProvider": "general", "weight": 1}]}


def web_task_definition(family: str, image: str = "busybox:1.36") -> dict[str, Any]:
    """An EC2 task definition whose container serves a named port (``http``, 8080)."""
    td = ec2_task_definition(family, image=image, networkMode="awsvpc")
    td["spec"]["containerDefinitions"][0]["portMappings"] = [
        {"name": "http", "containerPort": 8080, "appProtocol": "http"}
    ]
    return td


def _running(kube: Kube, namespace: str, selector: str = "") -> list[Any]:
    return [
        p
        for p in kube.pods(namespace, selector)
        if p.status.phase == "Running" and not p.metadata.deletion_timestamp
    ]


def _selector_of(kube_service: Any) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(kube_service.spec.selector.items()))


def _read_service(kube: Kube, namespace: str, name: str) -> Any | None:
    try:
        return kube.core.read_namespaced_service(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def _endpoint_ips(kube: Kube, namespace: str, name: str) -> set[str]:
    listed = kubectl(
        "get", "endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={name}",
        "-o", "json",
    )  # fmt: skip
    return {
        address
        for item in json.loads(listed.stdout)["items"]
        for endpoint in item.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready")
        for address in endpoint["addresses"]
    }


def test_a_service_reaches_another_through_its_service_connect_alias(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    connect = {
        "enabled": True,
        "namespace": "local",
        "services": [
            {
                "portName": "http",
                "discoveryName": "orders-api",
                "clientAliases": [{"port": 80, "dnsName": "orders.local"}],
            }
        ],
    }
    apply(
        namespace,
        web_task_definition("orders"),
        web_task_definition("web"),
        service("orders", "orders", desiredCount=2, serviceConnectConfiguration=connect),
        service(
            "web",
            "web",
            desiredCount=1,
            serviceConnectConfiguration={"enabled": True, "namespace": "local"},
        ),
    )
    wait_steady(kube, namespace, "orders", 2)
    wait_steady(kube, namespace, "web", 1)

    alias = wait_for(lambda: _read_service(kube, namespace, "orders"), 30, "Service orders")
    assert [(p.port, p.target_port, p.app_protocol) for p in alias.spec.ports] == [
        (80, "http", "http")
    ]
    assert json.loads(alias.metadata.annotations["ecs-operator.dev/ecs-dns-names"]) == [
        "orders.local"
    ]
    targets = _running(kube, namespace, _selector_of(alias))
    assert {p.metadata.annotations["ecs-operator.dev/service"] for p in targets} == {"orders"}
    assert len(targets) == 2
    ips = {p.status.pod_ip for p in targets}
    wait_for(lambda: _endpoint_ips(kube, namespace, "orders") == ips, 30, "the alias's endpoints")

    discovery = _read_service(kube, namespace, "orders-api")
    assert discovery is not None and discovery.spec.ports[0].port == 8080
    # The client-only service publishes no name; only orders' two names exist.
    names = {s.metadata.name for s in kube.core.list_namespaced_service(namespace).items}
    assert names == {"orders", "orders-api"}
    assert condition(status(kube, namespace, "Service", "orders"), "FullyMapped")["status"] == (
        "True"
    )


def test_load_balancers_become_a_service_kept_in_place(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/0123456789abcdef"
    lbs = [
        {"targetGroupArn": arn, "containerName": "app", "containerPort": 8080},
        {"loadBalancerName": "classic-shop", "containerName": "app", "containerPort": 8080},
    ]
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-0abc"]}}
    shop = service(
        "shop",
        "shop",
        desiredCount=3,
        loadBalancers=lbs,
        networkConfiguration=network,
        deploymentConfiguration={"minimumHealthyPercent": 50},
    )
    shop["metadata"]["annotations"] = {"ecs-operator.dev/load-balancer-type": "LoadBalancer"}
    apply(namespace, web_task_definition("shop"), shop)
    wait_steady(kube, namespace, "shop", 3)

    lb = wait_for(lambda: _read_service(kube, namespace, "shop-lb-8080"), 30, "the LB Service")
    assert lb.spec.type == "LoadBalancer"
    assert [(p.port, p.target_port) for p in lb.spec.ports] == [(8080, "http")]
    assert json.loads(lb.metadata.annotations["ecs-operator.dev/target-group-arns"]) == [arn]
    assert json.loads(lb.metadata.annotations["ecs-operator.dev/load-balancer-names"]) == [
        "classic-shop"
    ]
    assert lb.metadata.owner_references[0].kind == "Service"
    pods = _running(kube, namespace, _selector_of(lb))
    assert len(pods) == 3
    assert all(p.metadata.labels["sg.ecs-operator.dev/sg-0abc"] == "true" for p in pods)
    budget = json.loads(kubectl("get", "pdb", "shop", "-n", namespace, "-o", "json").stdout)
    assert budget["spec"]["minAvailable"] == 2  # ceil(3 * 50 %)

    kube.core.delete_namespaced_service("shop-lb-8080", namespace)
    wait_for(
        lambda: (
            (s := _read_service(kube, namespace, "shop-lb-8080")) is not None
            and s.metadata.uid != lb.metadata.uid
        ),
        30,
        "the deleted Service restored",
    )

    apply(namespace, service("shop", "shop", desiredCount=3))
    wait_for(
        lambda: _read_service(kube, namespace, "shop-lb-8080") is None,
        30,
        "the Service removed with its load balancers",
    )


def _zones(kube: Kube, namespace: str) -> Counter[str]:
    return Counter(
        GENERAL.get(p.spec.node_name, {}).get(nodes.LABEL_ZONE, p.spec.node_name)
        for p in _running(kube, namespace)
    )


def test_spread_over_availability_zones_lands_two_tasks_per_zone(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    spread = [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    apply(
        namespace,
        GENERAL_CLUSTER,
        ec2_task_definition("spread"),
        service("spread", "spread", desiredCount=6, placementStrategy=spread, **ON_GENERAL),
    )
    wait_steady(kube, namespace, "spread", 6)

    assert _zones(kube, namespace) == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}


def test_distinct_instance_leaves_the_surplus_unplaced_and_says_why(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        GENERAL_CLUSTER,
        ec2_task_definition("single"),
        service(
            "single",
            "single",
            desiredCount=5,
            placementConstraints=[{"type": "distinctInstance"}],
            **ON_GENERAL,
        ),
    )

    def stuck() -> dict[str, Any] | None:
        current = status(kube, namespace, "Service", "single")
        message = str(condition(current, "Ready").get("message"))
        return current if message.startswith("3/5 tasks running; 2 cannot be placed: ") else None

    current = wait_for(stuck, 60, "3 tasks running and 2 that cannot be placed")
    ready = condition(current, "Ready")
    assert ready["status"] == "False"
    assert "anti-affinity" in ready["message"]
    # ECS creates no task it cannot place: none is pending, nor among those it has started
    assert current["pendingCount"] == current["deployments"][0]["pendingCount"] == 0
    assert not [m for m in events(namespace, "single") if "has started 5 tasks" in m]
    assert sorted(p.spec.node_name for p in _running(kube, namespace)) == sorted(GENERAL)
    wait_for(
        lambda: any("was unable to place a task" in m for m in events(namespace, "single")),
        10,
        "the ECS placement event",
    )


def _instance_types_allowed(kube: Kube, namespace: str, name: str) -> list[str]:
    affinity = kube.apps.read_namespaced_deployment(name, namespace).spec.template.spec.affinity
    [term] = (
        affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    )
    return list(term.match_expressions[0].values)


def _relabel(kube: Kube, node: str, instance_type: str) -> None:
    labels = {nodes.LABEL_INSTANCE_TYPE: instance_type}
    kube.core.patch_node(node, {"metadata": {"labels": labels}})


def test_member_of_regular_expression_places_only_on_matching_nodes_and_follows_them(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """``attribute:ecs.instance-type =~ c5.*`` (the ECS docs' own kind of example) becomes
    the instance types the nodes have that match, and follows a node relabelled to match."""
    regex = {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ c5.*"}
    apply(
        namespace,
        ec2_task_definition("crunch"),
        service("crunch", "crunch", desiredCount=4, launchType="EC2", placementConstraints=[regex]),
    )
    wait_steady(kube, namespace, "crunch", 4)
    placed = {p.spec.node_name for p in _running(kube, namespace)}
    assert placed and all(name.startswith("compute-") for name in placed)
    assert _instance_types_allowed(kube, namespace, "crunch") == ["c5.2xlarge"]

    _relabel(kube, "general-2", "c5.large")
    try:
        wait_for(
            lambda: (
                _instance_types_allowed(kube, namespace, "crunch") == ["c5.2xlarge", "c5.large"]
            ),
            30,
            "the relabelled node's instance type in the service's node affinity",
        )
    finally:
        _relabel(kube, "general-2", "m5.xlarge")


def _replicas(kube: Kube, namespace: str, name: str) -> int:
    return int(kube.apps.read_namespaced_deployment(name, namespace).spec.replicas)


def _desired(kube: Kube, namespace: str, name: str) -> int:
    return int(get(kube, namespace, "Service", name)["spec"]["desiredCount"])


def test_autoscaling_scales_the_ecs_service_and_kubectl_scale_agrees(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    scaling = {
        "minCapacity": 2,
        "maxCapacity": 4,
        "targetTrackingScalingPolicies": [
            {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 60}
        ],
    }
    apply(
        namespace,
        ec2_task_definition("api"),
        service("api", "api", desiredCount=1, launchType="EC2", autoScaling=scaling),
    )

    hpa = json.loads(
        wait_for(
            lambda: kubectl("get", "hpa", "api", "-n", namespace, "-o", "json", check=False).stdout,
            30,
            "the HorizontalPodAutoscaler",
        )
    )
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "Service",
        "name": "api",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)

    # The HPA brings desiredCount up to its minimum through the scale subresource.
    wait_for(lambda: _desired(kube, namespace, "api") == 2, 60, "the HPA to scale to 2")
    wait_steady(kube, namespace, "api", 2)
    assert _replicas(kube, namespace, "api") == 2

    kubectl("scale", "-n", namespace, "ecssvc/api", "--replicas=3")
    wait_steady(kube, namespace, "api", 3)
    time.sleep(2 * HPA_SYNC_SECONDS + 1)  # two HPA syncs: it leaves a count within bounds alone
    assert (_desired(kube, namespace, "api"), _replicas(kube, namespace, "api")) == (3, 3)

    kubectl("scale", "-n", namespace, "ecssvc/api", "--replicas=7")
    wait_for(lambda: _desired(kube, namespace, "api") == 4, 60, "the HPA to cap at 4")
    wait_steady(kube, namespace, "api", 4)
    assert _replicas(kube, namespace, "api") == 4


BREAKER_EVENT = re.compile(
    r"^\(service api\) deployment ecs-svc/\d+ deployment failed: tasks failed to start\.$"
)


def _roll_to_a_failing_revision(
    kube: Kube, namespace: str, rollback: bool, image: str = "busybox:crashloop"
) -> None:
    """A steady service with a circuit breaker, then a revision whose tasks fail (``image``)."""
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": rollback}}
    apply(
        namespace,
        ec2_task_definition("api"),
        service("api", "api", desiredCount=2, launchType="EC2", deploymentConfiguration=breaker),
    )
    wait_steady(kube, namespace, "api", 2)
    apply(namespace, ec2_task_definition("api", image=image))


def _primary(current: dict[str, Any]) -> dict[str, Any]:
    return dict((current.get("deployments") or [{}])[0])


def test_circuit_breaker_fails_a_deployment_whose_tasks_keep_crashing(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    _roll_to_a_failing_revision(kube, namespace, rollback=False)

    def failed() -> dict[str, Any] | None:
        primary = _primary(status(kube, namespace, "Service", "api"))
        return primary if primary.get("rolloutState") == "FAILED" else None

    primary = wait_for(failed, 60, "the deployment of api:2 to fail")
    assert primary["taskDefinition"] == "api:2"
    assert primary["failedTasks"] >= 3
    assert primary["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    current = status(kube, namespace, "Service", "api")
    assert condition(current, "Degraded")["status"] == "True"
    assert any(BREAKER_EVENT.match(m) for m in events(namespace, "api"))
    assert any(BREAKER_EVENT.match(e["message"]) for e in current["events"])
    time.sleep(3)  # no rollback: it stays failed, and the old tasks keep serving
    assert _primary(status(kube, namespace, "Service", "api"))["rolloutState"] == "FAILED"
    images = {c.image for p in _running(kube, namespace) for c in p.spec.containers}
    assert "busybox:1.36" in images


def test_circuit_breaker_rolls_back_to_the_last_completed_revision(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    _roll_to_a_failing_revision(kube, namespace, rollback=True)

    def rolled_back() -> dict[str, Any] | None:
        current = status(kube, namespace, "Service", "api")
        primary = _primary(current)
        done = (primary.get("taskDefinition"), primary.get("rolloutState")) == (
            "api:1",
            "COMPLETED",
        )
        return current if done and current.get("failedDeployment") else None

    current = wait_for(rolled_back, 90, "the service to roll back to api:1")
    assert current["taskDefinition"] == "api:1"
    assert current["failedDeployment"]["taskDefinition"] == "api:2"
    assert current["failedDeployment"]["rolledBackTo"] == "api:1"
    degraded = condition(current, "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "RolledBack")
    assert get(kube, namespace, "Service", "api")["spec"]["taskDefinition"] == "api"
    messages = events(namespace, "api")
    assert any(BREAKER_EVENT.match(m) for m in messages)
    assert any(m.startswith("(service api) rolling back to deployment ecs-svc/") for m in messages)

    def previous_image_only() -> bool:
        pods = kube.pods(namespace)
        return bool(pods) and {c.image for p in pods for c in p.spec.containers} == {"busybox:1.36"}

    wait_for(previous_image_only, 60, "only the previous image to run")
    assert len(_running(kube, namespace)) == 2

    # A later change of the spec is a new deployment: api:3 is healthy and rolls out.
    apply(namespace, ec2_task_definition("api", image="busybox:1.37"))
    wait_for(
        lambda: (
            status(kube, namespace, "Service", "api").get("taskDefinition") == "api:3"
            and condition(status(kube, namespace, "Service", "api"), "Degraded")["status"]
            == "False"
        ),
        90,
        "the service to roll to api:3",
    )
    assert "failedDeployment" not in status(kube, namespace, "Service", "api")


def test_circuit_breaker_rolls_back_a_revision_whose_image_cannot_be_pulled(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """ECS stops a task that cannot pull its image and starts another, and its breaker counts
    each; the kubelet retries one pod for good (kwok plays it for ":pull-error" images), which
    counts once per grace period (the tests' operator: 3 s), so that two tasks reach the
    threshold of 3 as ECS's would."""
    _roll_to_a_failing_revision(kube, namespace, rollback=True, image="busybox:pull-error")

    def rolled_back() -> dict[str, Any] | None:
        current = status(kube, namespace, "Service", "api")
        marker = current.get("failedDeployment") or {}
        return current if marker.get("rolledBackTo") == "api:1" else None

    current = wait_for(rolled_back, 60, "the service to roll back to api:1")
    assert current["failedDeployment"]["taskDefinition"] == "api:2"
    assert any(BREAKER_EVENT.match(m) for m in events(namespace, "api"))

    def failed_tasks() -> list[dict[str, Any]] | None:
        stopped = status(kube, namespace, "Service", "api").get("stoppedTasks") or []
        failed = [t for t in stopped if t.get("taskDefinition") == "api:2"]
        return failed if len(failed) == 2 else None

    reason = 'CannotPullContainerError: Back-off pulling image "busybox:pull-error"'
    for record in wait_for(failed_tasks, 60, "the failed revision's tasks recorded STOPPED"):
        assert (record["stopCode"], record["stoppedReason"]) == ("TaskFailedToStart", reason)
