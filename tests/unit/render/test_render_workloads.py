"""Deployments, DaemonSets and Pods: rolling-update bounds, overrides, service members."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.api.parse import parse_task_definition
from ecs_operator.api.shapes import CreateServiceRequest, RunTaskRequest, TaskOverride
from ecs_operator.plan import PlanContext, plan_service
from ecs_operator.render import Options, RenderError, apply_overrides, render_service, render_task
from ecs_operator.render.findings import Report
from ecs_operator.render.keys import ANNOTATION_FORCE_NEW_DEPLOYMENT as FORCE_NEW_DEPLOYMENT
from ecs_operator.render.workloads import daemon_update, rolling_update

from .helpers import container, task, validate


@pytest.mark.parametrize(
    ("desired", "mx", "mn", "expected"),
    [
        (4, None, None, {"maxSurge": 4, "maxUnavailable": 0}),
        (3, 150, 50, {"maxSurge": 1, "maxUnavailable": 1}),
        (10, 120, 90, {"maxSurge": 2, "maxUnavailable": 1}),
        (3, 100, 66, {"maxSurge": 0, "maxUnavailable": 1}),
        (1, 100, 100, {"maxSurge": 1, "maxUnavailable": 0}),
        (0, None, None, {"maxSurge": 1, "maxUnavailable": 0}),
    ],
)
def test_rolling_update_reproduces_ecs_bounds(
    desired: int, mx: int | None, mn: int | None, expected: dict[str, int]
) -> None:
    assert rolling_update(desired, mx, mn, Report()) == expected


def test_stuck_configuration_is_reported() -> None:
    report = Report()
    rolling_update(1, 100, 100, report)
    assert report.findings[0].path == "deploymentConfiguration"


def test_daemon_update() -> None:
    assert daemon_update(None, None, Report()) == {"maxSurge": 0, "maxUnavailable": "100%"}
    assert daemon_update(150, 100, Report()) == {"maxSurge": "50%", "maxUnavailable": "0%"}
    assert daemon_update(100, 100, Report()) == {"maxSurge": 0, "maxUnavailable": 1}


def test_service_is_a_valid_deployment() -> None:
    svc = CreateServiceRequest(
        serviceName="Web_Svc",
        desiredCount=2,
        healthCheckGracePeriodSeconds=60,
        loadBalancers=[{"containerName": "app", "containerPort": 80}],
    )
    td = task(
        [container(healthCheck={"command": ["CMD", "true"]}, portMappings=[{"containerPort": 80}])]
    )
    result = plan_service(svc, PlanContext(td, 3, Options(namespace="shop")))
    ([deployment], [lb, budget]) = result.workloads, result.attached
    for obj in result.objects:
        validate(obj)
    assert lb["kind"] == "Service" and lb["spec"]["ports"][0]["targetPort"] == 80
    assert budget["kind"] == "PodDisruptionBudget" and budget["spec"]["minAvailable"] == 1
    assert deployment["kind"] == "Deployment" and deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["namespace"] == "shop"
    assert "minReadySeconds" not in deployment["spec"]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["initialDelaySeconds"] == 60  # the grace, longer than the first interval
    assert {f.path for f in result.request.findings} == {
        "deploymentConfiguration.minimumHealthyPercent"
    }


@pytest.mark.parametrize("start_period", [0, 10])
def test_the_grace_period_holds_off_every_probe_that_could_kill_the_container(
    start_period: int,
) -> None:
    """ECS ignores container health for ``healthCheckGracePeriodSeconds`` (a JVM's recipe: a
    long grace, a short start period): no failing check may kill the container before it has
    passed, the startup probe's included, and afterwards, as in ECS, ``retries`` failures do."""
    check = {"command": ["CMD-SHELL", "curl -f localhost"], "startPeriod": start_period}
    svc = CreateServiceRequest(serviceName="web", desiredCount=1, healthCheckGracePeriodSeconds=600)
    template = render_service(svc, task([container(healthCheck=check)]), Options()).workload
    app = template["spec"]["template"]["spec"]["containers"][0]

    def killed_after(probe: dict[str, int]) -> int:
        """Seconds from the container's start until failing checks kill it, at the latest."""
        return probe["initialDelaySeconds"] + probe["periodSeconds"] * probe["failureThreshold"]

    live = app["livenessProbe"]
    assert killed_after(live) == 600 + 30 * 3  # the grace, then 3 retries of 30 s
    if start_period:
        assert killed_after(app["startupProbe"]) >= killed_after(live)
    else:
        assert "startupProbe" not in app


def test_service_without_health_checks_waits_like_ecs() -> None:
    result = render_service(
        CreateServiceRequest(serviceName="w", desiredCount=1), task(), Options()
    )
    assert result.workload["spec"]["minReadySeconds"] == 40


@pytest.mark.parametrize("scheduling", ["REPLICA", "DAEMON"])
def test_force_new_deployment_changes_the_pod_template_and_only_it(scheduling: str) -> None:
    svc = CreateServiceRequest(serviceName="w", schedulingStrategy=scheduling)
    [before] = plan_service(svc, PlanContext(task())).workloads
    forced = PlanContext(task(), annotations={FORCE_NEW_DEPLOYMENT: "t1"})
    [after] = plan_service(svc, forced).workloads
    template = after["spec"]["template"]
    assert template["metadata"]["annotations"][FORCE_NEW_DEPLOYMENT] == "t1"
    del template["metadata"]["annotations"][FORCE_NEW_DEPLOYMENT]
    assert after == before


def test_daemon_service_is_a_daemon_set_off_fargate_nodes() -> None:
    svc = CreateServiceRequest(serviceName="agent", schedulingStrategy="DAEMON", desiredCount=3)
    result = render_service(svc, task(), Options())
    daemon = result.workload
    validate(daemon)
    assert daemon["kind"] == "DaemonSet"
    terms = daemon["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][-1] == {
        "key": "type",
        "operator": "NotIn",
        "values": ["virtual-kubelet"],
    }
    assert [f.path for f in result.findings] == ["desiredCount"]


def test_overrides_follow_ecs_semantics() -> None:
    td = task(
        [
            container(
                command=["a"],
                environment=[{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
            )
        ]
    )
    overrides = TaskOverride.model_validate(
        {
            "memory": "2048",
            "containerOverrides": [
                {
                    "name": "app",
                    "command": ["b"],
                    "environment": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}],
                }
            ],
        }
    )
    changed = apply_overrides(td, overrides)
    app = changed.containerDefinitions[0]
    assert app.command == ["b"] and changed.memory == "2048"
    assert [(e.name, e.value) for e in app.environment or ()] == [
        ("X", "1"),
        ("Y", "3"),
        ("Z", "4"),
    ]
    with pytest.raises(RenderError):
        apply_overrides(td, TaskOverride.model_validate({"containerOverrides": [{"name": "nope"}]}))


def test_run_task_gives_count_pods() -> None:
    run = RunTaskRequest(taskDefinition="demo", count=3, startedBy="me", launchType="FARGATE")
    td = task(cpu="256", memory="512", networkMode="awsvpc")
    result = render_task(run, td, Options())
    pods = result.pods
    assert len(pods) == 3 and all(p["kind"] == "Pod" for p in pods)
    assert pods[0]["metadata"]["generateName"] == "demo-"
    assert pods[0]["spec"]["restartPolicy"] == "Never"
    for pod in pods:
        validate(pod)


FARGATE_256 = {
    "family": "fg",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 256}],
}


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"cpu": "256", "memory": "4096"}, "overrides.memory"),
        ({"memory": "8192"}, "overrides.memory"),
        ({"containerOverrides": [{"name": "a", "memory": 2048}]}, "overrides"),
    ],
    ids=["a size not in Fargate's table", "memory alone", "a container above the task"],
)
def test_overrides_are_held_to_the_task_definitions_rules(
    overrides: dict[str, Any], path: str
) -> None:
    """RunTask's size overrides make a task definition of their own, which must meet the rules
    RegisterTaskDefinition would hold it to: a Fargate size not in Fargate's table ran,
    rounded up to another size, and a container above its task's memory ran."""
    td = parse_task_definition(FARGATE_256)
    with pytest.raises(RenderError) as refused:
        apply_overrides(td, TaskOverride.model_validate(overrides))
    assert str(refused.value).count(path) >= 1, str(refused.value)
