"""plan_service: one workload per capacity provider (ECS's base/weight split), the attached
objects once for the whole service, findings once, the policy's refusal, the status inputs."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.api.parse import parse_service
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.plan import PlanContext, plan_service
from ecs_operator.plan.service import requested_rollout
from ecs_operator.policy import PRIVILEGE_NOT_ALLOWED, TASK_ROLE_NOT_ALLOWED, Policy
from ecs_operator.render import Options, keys

from ..render.helpers import container, task, validate

HTTP = {"name": "http", "containerPort": 8080}
LB = {"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 8080}
ROLE = "arn:aws:iam::123456789012:role/web"
CPU = {"targetValue": 50, "predefinedMetricType": "ECSServiceAverageCPUUtilization"}


def strategy(*items: dict[str, Any]) -> tuple[CapacityProviderStrategyItem, ...]:
    return tuple(CapacityProviderStrategyItem.model_validate(i) for i in items)


SPLIT = strategy(
    {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
    {"capacityProvider": "FARGATE_SPOT", "weight": 3},
)


def service(**members: Any) -> Any:
    return parse_service(
        {"serviceName": "web", "taskDefinition": "demo", "desiredCount": 10, **members}
    )


def web_task(**members: Any) -> Any:
    """A task definition Fargate and EC2 can both run."""
    fargate = {"cpu": "512", "memory": "1024", "networkMode": "awsvpc"}
    return task([container(portMappings=[HTTP])], **{**fargate, **members})


def test_one_provider_is_one_deployment_named_after_the_service() -> None:
    plan = plan_service(service(), PlanContext(web_task(), 2, strategy=SPLIT[:1]))
    [deployment] = plan.workloads
    assert deployment["metadata"]["name"] == "web"
    assert deployment["spec"]["replicas"] == 10
    assert keys.LABEL_CAPACITY_PROVIDER not in deployment["spec"]["selector"]["matchLabels"]
    assert [o["kind"] for o in plan.objects] == [
        "ServiceAccount",
        "Deployment",
        "PodDisruptionBudget",
    ]


def test_several_providers_split_the_tasks_as_ecs_does() -> None:
    """Base first, then by weight: 2 + 8 split 1:3 is 2 + 2 on FARGATE, 6 on FARGATE_SPOT."""
    plan = plan_service(service(), PlanContext(web_task(), 1, strategy=SPLIT))
    fargate, spot = plan.workloads
    assert (fargate["spec"]["replicas"], spot["spec"]["replicas"]) == (4, 6)
    assert fargate["metadata"]["name"] == "web-fargate"
    assert spot["metadata"]["name"].startswith("web-fargate-spot-")
    selectors = [w["spec"]["selector"]["matchLabels"] for w in plan.workloads]
    assert [s[keys.LABEL_CAPACITY_PROVIDER] for s in selectors] == ["FARGATE", "FARGATE_SPOT"]
    for workload in plan.workloads:  # each selects its own pods only
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels.items() >= workload["spec"]["selector"]["matchLabels"].items()
        validate(workload)
    spot_pods = spot["spec"]["template"]["spec"]["nodeSelector"]
    assert spot_pods["ecs-operator.dev/capacity-type"] == "spot"
    assert plan.status_inputs.desired_count == 10


def test_the_attached_objects_are_rendered_once_and_select_every_provider() -> None:
    spec = service(loadBalancers=[LB], deploymentConfiguration={"minimumHealthyPercent": 50})
    plan = plan_service(spec, PlanContext(web_task(), 1, strategy=SPLIT))
    assert [o["kind"] for o in plan.attached] == ["Service", "PodDisruptionBudget"]
    lb, budget = plan.attached
    assert budget["spec"]["minAvailable"] == 5  # of the whole service's 10 tasks
    for selector in (lb["spec"]["selector"], budget["spec"]["selector"]["matchLabels"]):
        assert keys.LABEL_CAPACITY_PROVIDER not in selector
        assert selector == dict(plan.status_inputs.pod_selector)
    assert keys.LABEL_CAPACITY_PROVIDER not in plan.status_inputs.scale_selector
    assert plan.status_inputs.scale_selector == ",".join(
        f"{k}={v}" for k, v in sorted(plan.status_inputs.pod_selector.items())
    )


def test_findings_of_a_split_service_are_reported_once() -> None:
    spec = service(
        platformVersion="1.4.0", networkConfiguration={"awsvpcConfiguration": {"subnets": ["s-1"]}}
    )
    plan = plan_service(spec, PlanContext(web_task(), 1, strategy=SPLIT))
    paths = [f.path for f in plan.findings]
    assert paths.count("platformVersion") == 1
    assert len(plan.findings) == len(set(plan.findings))
    assert "capacityProviderStrategy" not in paths  # split, not approximated


def test_a_daemon_is_never_split() -> None:
    spec = parse_service(
        {"serviceName": "agent", "taskDefinition": "demo", "schedulingStrategy": "DAEMON"}
    )
    ec2 = strategy({"capacityProvider": "a", "weight": 1}, {"capacityProvider": "b", "weight": 1})
    plan = plan_service(spec, PlanContext(task(), 1, strategy=ec2))
    [daemon] = plan.workloads
    assert daemon["kind"] == "DaemonSet" and daemon["metadata"]["name"] == "agent"
    assert plan.status_inputs.desired_count is None
    assert [f.path for f in plan.findings if f.path == "capacityProviderStrategy"] == [
        "capacityProviderStrategy"
    ]


def test_the_objects_name_and_annotations_come_from_the_context() -> None:
    spec = service(
        loadBalancers=[LB],
        autoScaling={"minCapacity": 1, "maxCapacity": 4, "targetTrackingScalingPolicies": [CPU]},
    )
    annotations = {keys.ANNOTATION_LOAD_BALANCER_TYPE: "LoadBalancer"}
    context = PlanContext(web_task(), 1, name="web-object", annotations=annotations)
    lb, hpa, _ = plan_service(spec, context).attached
    assert hpa["spec"]["scaleTargetRef"]["name"] == "web-object"
    assert lb["spec"]["type"] == "LoadBalancer"
    # the namespace's policy allows ClusterIP only: reported, not exposed
    denied = plan_service(
        spec, PlanContext(web_task(), 1, annotations=annotations, policy=Policy())
    )
    assert denied.attached[0]["spec"]["type"] == "ClusterIP"
    assert "loadBalancers" in [f.path for f in denied.request.findings]


def test_a_disruption_budget_only_where_the_admin_allows_one() -> None:
    """An attack the admin may shut: a tenant's service of 500 tasks on distinct instances,
    more than there are nodes, would get a budget of 499 that no node drain can meet, where the
    tenant may not create a PodDisruptionBudget itself. With budgets off, none is rendered and
    the finding says what the drain half of minimumHealthyPercent becomes."""
    spec = service(desiredCount=500, placementConstraints=[{"type": "distinctInstance"}])
    kinds = [o["kind"] for o in plan_service(spec, PlanContext(web_task(), 1)).attached]
    assert kinds == ["PodDisruptionBudget"]
    off = plan_service(spec, PlanContext(web_task(), 1, policy=Policy(disruption_budgets=False)))
    assert not off.attached
    [finding] = [f for f in off.request.findings if "minimumHealthyPercent" in f.path]
    assert "drain" in finding.message


@pytest.mark.parametrize(
    ("members", "policy", "reason"),
    [
        ({"taskRoleArn": ROLE}, Policy(), TASK_ROLE_NOT_ALLOWED),
        ({"taskRoleArn": ROLE}, Policy(task_roles=(ROLE,)), None),
        ({"taskRoleArn": ROLE}, None, None),
        ({"pidMode": "host"}, Policy(), PRIVILEGE_NOT_ALLOWED),
        ({"pidMode": "host"}, Policy(pod_security_ceiling="privileged"), None),
    ],
)
def test_the_policy_refuses_in_the_plan(
    members: dict[str, Any], policy: Policy | None, reason: str | None
) -> None:
    plan = plan_service(service(), PlanContext(web_task(**members), 1, policy=policy))
    assert (plan.refusal.reason if plan.refusal else None) == reason
    assert plan.workloads  # a refusal writes nothing, but the plan says what would be


def test_status_inputs_name_the_revision_and_the_cluster() -> None:
    options = Options(namespace="shop", cluster="prod")
    inputs = plan_service(service(), PlanContext(web_task(), 7, options)).status_inputs
    assert (inputs.task_definition, inputs.cluster) == ("demo:7", "prod")
    spec = service(cluster="arn:aws:ecs:r:1:cluster/edge")
    inputs = plan_service(spec, PlanContext(web_task())).status_inputs
    assert (inputs.task_definition, inputs.cluster) == ("demo", "edge")


@pytest.mark.parametrize(
    ("members", "in_force", "capacity"),
    [
        ({}, None, {"launchType": "EC2"}),  # ECS's default where the cluster has no strategy
        ({"launchType": "FARGATE"}, None, {"launchType": "FARGATE"}),
        (
            {},
            SPLIT[:1],  # the cluster's default strategy (or the spec's own)
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}]},
        ),
    ],
)
def test_status_inputs_name_the_capacity_in_force(
    members: dict[str, Any],
    in_force: tuple[CapacityProviderStrategyItem, ...] | None,
    capacity: dict[str, Any],
) -> None:
    """What describe-services shows as the service's launchType or capacityProviderStrategy
    when its spec names neither."""
    spec = service(**members)
    inputs = plan_service(spec, PlanContext(web_task(), 1, strategy=in_force)).status_inputs
    assert inputs.capacity == capacity


def test_the_requested_rollout_sizes_its_breaker_for_the_desired_count() -> None:
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    spec = service(desiredCount=20, deploymentConfiguration=breaker)
    raw = {"serviceName": "web", "desiredCount": 20}
    rollout = requested_rollout(spec, raw, "demo:3")
    assert rollout.target == "demo:3" and rollout.breaker is not None
    assert rollout.breaker.threshold == 10 and rollout.breaker.rollback
    scaled = requested_rollout(spec, {**raw, "desiredCount": 3}, "demo:3")
    assert scaled.spec_hash == rollout.spec_hash  # scaling is not a new deployment
    assert requested_rollout(service(), raw, "demo:3").breaker is None
