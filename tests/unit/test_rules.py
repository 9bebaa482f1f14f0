"""One case per ECS rule: the operator reports it at the right ECS path, and the API server
(offline stand-in) refuses it exactly when the rule has a server-side check."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ecs_operator.api import (
    EcsValidationError,
    parse_cluster,
    parse_service,
    parse_task,
    parse_task_definition,
)
from ecs_operator.api.rules import (
    CLUSTER_RULES,
    SERVICE_RULES,
    TASK_DEFINITION_RULES,
    TASK_RULES,
    Rule,
)

if TYPE_CHECKING:
    from tests.unit.conftest import OfflineApiServer

Spec = dict[str, Any]
PARSERS: dict[str, Callable[[Spec], Any]] = {
    "TaskDefinition": parse_task_definition,
    "Service": parse_service,
    "Task": parse_task,
    "Cluster": parse_cluster,
}
REGISTRIES: dict[str, tuple[Rule[Any], ...]] = {
    "TaskDefinition": TASK_DEFINITION_RULES,
    "Service": SERVICE_RULES,
    "Task": TASK_RULES,
    "Cluster": CLUSTER_RULES,
}

EC2: Spec = {
    "family": "app",
    "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128}],
}
FARGATE: Spec = {
    "family": "web",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "web", "image": "nginx"}],
}
SERVICE: Spec = {"serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2}
DAEMON: Spec = {"serviceName": "agent", "taskDefinition": "agent", "schedulingStrategy": "DAEMON"}
TASK: Spec = {"taskDefinition": "web"}
CLUSTER: Spec = {"clusterName": "prod", "capacityProviders": ["FARGATE", "general"]}
BASES = {"TaskDefinition": (EC2, FARGATE), "Service": (SERVICE, DAEMON), "Task": (TASK,)}


def spec(base: Spec, **changes: Any) -> Spec:
    """``base`` with top-level members changed (a ``None`` value removes the member)."""
    out = {**copy.deepcopy(base), **changes}
    return {key: value for key, value in out.items() if value is not None}


def containers(base: Spec, *changes: dict[str, Any], **task: Any) -> Spec:
    """``base`` whose first containers get ``changes`` (extra ones become new containers)."""
    out = spec(base, **task)
    defined = out["containerDefinitions"]
    for index, change in enumerate(changes):
        if index < len(defined):
            defined[index] = {
                k: v for k, v in {**defined[index], **change}.items() if v is not None
            }
        else:
            defined.append({"image": "busybox", "memory": 64, **change})
    return out


def strategy(*items: tuple[str, int | None, int | None]) -> list[dict[str, Any]]:
    """Capacity provider strategy items from (provider, base, weight)."""
    return [
        {
            k: v
            for k, v in {"capacityProvider": name, "base": base, "weight": weight}.items()
            if v is not None
        }
        for name, base, weight in items
    ]


@dataclass(frozen=True)
class Case:
    """A spec that breaks exactly one rule."""

    rule: str
    kind: str
    spec: Spec
    path: str
    words: str
    #: Whether the API server refuses it too; None: whenever the rule has server checks.
    server: bool | None = None

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.path}"


HEALTH_CHECK = {"command": ["CMD-SHELL", "true"]}
CASES = [
    Case(
        "unique_container_names",
        "TaskDefinition",
        containers(EC2, {}, {"name": "app"}),
        "containerDefinitions[1].name",
        "unique",
    ),
    Case(
        "essential_container",
        "TaskDefinition",
        containers(EC2, {"essential": False}),
        "containerDefinitions",
        "essential",
    ),
    Case(
        "host_port_equals_container_port",
        "TaskDefinition",
        containers(
            EC2, {"portMappings": [{"containerPort": 80, "hostPort": 8080}]}, networkMode="awsvpc"
        ),
        "containerDefinitions[0].portMappings[0].hostPort",
        "equal to containerPort",
    ),
    Case(
        "host_port_equals_container_port",
        "TaskDefinition",
        containers(
            EC2, {"portMappings": [{"containerPort": 80, "hostPort": 0}]}, networkMode="host"
        ),
        "containerDefinitions[0].portMappings[0].hostPort",
        "equal to containerPort",
    ),
    Case(
        "no_port_mappings_without_network",
        "TaskDefinition",
        containers(EC2, {"portMappings": [{"containerPort": 80}]}, networkMode="none"),
        "containerDefinitions[0].portMappings",
        "networkMode none",
    ),
    Case(
        "links_need_bridge",
        "TaskDefinition",
        containers(EC2, {"links": ["db"]}, networkMode="host"),
        "containerDefinitions[0].links",
        "bridge",
    ),
    *(
        Case(
            "fargate_unsupported_parameters",
            "TaskDefinition",
            containers(FARGATE, change),
            f"containerDefinitions[0].{parameter}",
            f"don't support containerDefinitions[].{parameter}",
        )
        for parameter, change in [
            ("privileged", {"privileged": True}),
            ("linuxParameters.devices", {"linuxParameters": {"devices": [{"hostPath": "/dev/x"}]}}),
            ("linuxParameters.sharedMemorySize", {"linuxParameters": {"sharedMemorySize": 64}}),
            ("dockerSecurityOptions", {"dockerSecurityOptions": ["no-new-privileges"]}),
        ]
    ),
    *(
        Case(
            "fargate_unsupported_parameters",
            "TaskDefinition",
            spec(FARGATE, volumes=[{"name": "data", **volume}]),
            f"volumes[0].{parameter}",
            f"don't support volumes[].{parameter}",
        )
        for parameter, volume in [
            ("dockerVolumeConfiguration", {"dockerVolumeConfiguration": {"scope": "task"}}),
            ("host.sourcePath", {"host": {"sourcePath": "/data"}}),
        ]
    ),
    Case("fargate_namespaces", "TaskDefinition", spec(FARGATE, ipcMode="task"), "ipcMode", "ipc"),
    Case("fargate_namespaces", "TaskDefinition", spec(FARGATE, pidMode="host"), "pidMode", "pid"),
    Case(
        "fargate_requires_awsvpc",
        "TaskDefinition",
        spec(FARGATE, networkMode=None),
        "networkMode",
        "awsvpc",
    ),
    Case(
        "fargate_requires_task_size",
        "TaskDefinition",
        spec(FARGATE, cpu=None),
        "cpu",
        "task-level cpu and memory",
    ),
    Case(
        "fargate_task_size",
        "TaskDefinition",
        spec(FARGATE, cpu=256, memory=4096),
        "memory",
        "cpu 256 allows memory 512, 1024, 2048",
    ),
    Case(
        "fargate_task_size",
        "TaskDefinition",
        spec(FARGATE, cpu="300", memory="1024"),
        "cpu",
        "must be one of 256, 512",
    ),
    Case(
        "fargate_task_size",
        "TaskDefinition",
        spec(FARGATE, cpu="1 vCPU", memory="1GB"),
        "memory",
        "2048 to 8192 in steps of 1024",
        server=False,  # CEL checks plain numbers only; the operator normalises the rest
    ),
    Case("task_cpu_range", "TaskDefinition", spec(EC2, cpu=64), "cpu", "between 128 and 196608"),
    Case(
        "task_memory_range",
        "TaskDefinition",
        spec(EC2, memory="1000000000000"),
        "memory",
        "at most 2147483647 MiB",
    ),
    Case(
        "memory_covers_reservation",
        "TaskDefinition",
        containers(EC2, {"memory": 64, "memoryReservation": 128}),
        "containerDefinitions[0].memoryReservation",
        "greater than or equal to memoryReservation",
    ),
    Case(
        "container_memory_without_task_memory",
        "TaskDefinition",
        containers(EC2, {"memory": None}),
        "containerDefinitions[0].memory",
        "memory or memoryReservation",
    ),
    Case(
        "containers_fit_task_memory",
        "TaskDefinition",
        containers(EC2, {"memory": 1024, "memoryReservation": 256}, memory="512"),
        "containerDefinitions[0].memory",
        "exceeds task memory 512",
    ),
    Case(
        "containers_fit_task_memory",
        "TaskDefinition",
        containers(EC2, {"memory": 300}, {"name": "b", "memory": 300}, memory="512"),
        "memory",
        "reserve 600 MiB",
    ),
    Case(
        "containers_fit_task_cpu",
        "TaskDefinition",
        containers(EC2, {"cpu": 512}, cpu="256"),
        "cpu",
        "adds up to 512",
    ),
    Case(
        "depends_on_known_containers",
        "TaskDefinition",
        containers(EC2, {"dependsOn": [{"containerName": "db", "condition": "START"}]}),
        "containerDefinitions[0].dependsOn[0].containerName",
        "must name a container",
    ),
    Case(
        "no_self_dependency",
        "TaskDefinition",
        containers(EC2, {"dependsOn": [{"containerName": "app", "condition": "START"}]}),
        "containerDefinitions[0].dependsOn[0].containerName",
        "itself",
    ),
    Case(
        "no_dependency_cycles",
        "TaskDefinition",
        containers(
            EC2,
            {"dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "dependsOn": [{"containerName": "c", "condition": "START"}]},
            {"name": "c", "dependsOn": [{"containerName": "app", "condition": "START"}]},
        ),
        "containerDefinitions[0].dependsOn",
        "app -> b -> c -> app",
    ),
    Case(
        "exit_conditions_target_non_essential",
        "TaskDefinition",
        containers(
            EC2,
            {"dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
            {"name": "init"},
        ),
        "containerDefinitions[0].dependsOn[0].condition",
        "essential",
    ),
    Case(
        "healthy_condition_needs_health_check",
        "TaskDefinition",
        containers(
            EC2, {"dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}, {"name": "db"}
        ),
        "containerDefinitions[0].dependsOn[0].condition",
        "healthCheck",
    ),
    Case(
        "mount_points_name_volumes",
        "TaskDefinition",
        containers(EC2, {"mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]}),
        "containerDefinitions[0].mountPoints[0].sourceVolume",
        "volumes",
    ),
    *(
        case
        for kind, base in (
            ("TaskDefinition", EC2),
            ("Service", SERVICE),
            ("Task", TASK),
            ("Cluster", CLUSTER),
        )
        for case in (
            Case("tag_keys", kind, spec(base, tags=[{"value": "a"}]), "tags[0].key", "needs a key"),
            Case(
                "tag_keys",
                kind,
                spec(base, tags=[{"key": "team", "value": "a"}, {"key": "team", "value": "b"}]),
                "tags[1].key",
                "'team' repeats",
            ),
        )
    ),
    *(
        case
        for kind, base in (("Service", SERVICE), ("Task", TASK))
        for case in (
            Case(
                "client_token_characters",
                kind,
                spec(base, clientToken="nightly run 1"),
                "clientToken",
                "33-126",
            ),
            Case(
                "launch_type_xor_strategy",
                kind,
                spec(base, launchType="EC2", capacityProviderStrategy=strategy(("general", 0, 1))),
                "capacityProviderStrategy",
                "mutually exclusive",
            ),
            Case(
                "capacity_provider_strategy",
                kind,
                spec(
                    base,
                    capacityProviderStrategy=strategy(("FARGATE", 1, 1), ("FARGATE_SPOT", 2, 1)),
                ),
                "capacityProviderStrategy[1].base",
                "at most one",
            ),
            Case(
                "capacity_provider_strategy",
                kind,
                spec(base, capacityProviderStrategy=strategy(("FARGATE", 1, None))),
                "capacityProviderStrategy",
                "weight greater than 0",
            ),
            Case(
                "capacity_provider_strategy",
                kind,
                spec(
                    base,
                    capacityProviderStrategy=strategy(("FARGATE_SPOT", 0, 1), ("general", 0, 1)),
                ),
                "capacityProviderStrategy",
                "can't mix FARGATE/FARGATE_SPOT with EC2",
            ),
            Case(
                "distinct_instance_without_expression",
                kind,
                spec(base, placementConstraints=[{"type": "distinctInstance", "expression": "x"}]),
                "placementConstraints[0].expression",
                "no expression",
            ),
        )
    ),
    Case(
        "desired_count_by_scheduling_strategy",
        "Service",
        spec(DAEMON, desiredCount=3),
        "desiredCount",
        "DAEMON service has no desiredCount",
    ),
    Case(
        "desired_count_by_scheduling_strategy",
        "Service",
        spec(SERVICE, desiredCount=None),
        "desiredCount",
        "required unless",
    ),
    *(
        Case("daemon_limits", "Service", spec(DAEMON, **change), field, words)
        for field, change, words in [
            ("launchType", {"launchType": "FARGATE"}, "Fargate"),
            (
                "launchType",
                {"capacityProviderStrategy": strategy(("FARGATE_SPOT", None, 1))},
                "Fargate",
            ),
            ("deploymentController", {"deploymentController": {"type": "EXTERNAL"}}, "ECS"),
            ("placementStrategy", {"placementStrategy": [{"type": "random"}]}, "placementStrategy"),
            (
                "volumeConfigurations",
                {"volumeConfigurations": [{"name": "data"}]},
                "volumeConfigurations",
            ),
            ("autoScaling", {"autoScaling": {"minCapacity": 1, "maxCapacity": 2}}, "autoScaling"),
        ]
    ),
    Case(
        "task_definition_required",
        "Service",
        spec(SERVICE, taskDefinition=None),
        "taskDefinition",
        "EXTERNAL",
    ),
    Case(
        "rollback_needs_ecs_controller",
        "Service",
        spec(
            SERVICE,
            deploymentController={"type": "CODE_DEPLOY"},
            deploymentConfiguration={
                "alarms": {"alarmNames": ["a"], "enable": True, "rollback": True}
            },
        ),
        "deploymentConfiguration.alarms",
        "ECS deployment controller",
    ),
    Case(
        "deployment_strategy_settings",
        "Service",
        spec(SERVICE, deploymentConfiguration={"strategy": "BLUE_GREEN"}),
        "deploymentConfiguration.bakeTimeInMinutes",
        "BLUE_GREEN requires bakeTimeInMinutes",
    ),
    Case(
        "deployment_strategy_settings",
        "Service",
        spec(
            SERVICE,
            deploymentConfiguration={
                "strategy": "ROLLING",
                "linearConfiguration": {"stepPercent": 10},
            },
        ),
        "deploymentConfiguration.linearConfiguration",
        "only for strategy LINEAR",
    ),
    Case(
        "managed_tags_need_propagate_tags",
        "Service",
        spec(SERVICE, enableECSManagedTags=True),
        "propagateTags",
        "propagateTags",
    ),
    Case(
        "load_balancer_target",
        "Service",
        spec(SERVICE, loadBalancers=[{"containerName": "web", "containerPort": 80}]),
        "loadBalancers[0]",
        "targetGroupArn",
    ),
    Case(
        "tasks_per_service_quota",
        "Service",
        spec(SERVICE, desiredCount=5001),
        "desiredCount",
        "at most 5000 (ECS quota: tasks per service)",
    ),
    Case(
        "tasks_per_service_quota",
        "Service",
        spec(SERVICE, autoScaling={"minCapacity": 1, "maxCapacity": 5001}),
        "autoScaling.maxCapacity",
        "at most 5000 (ECS quota: tasks per service)",
    ),
    Case(
        "auto_scaling_bounds",
        "Service",
        spec(SERVICE, autoScaling={"minCapacity": 3, "maxCapacity": 1}),
        "autoScaling.minCapacity",
        "must not exceed",
    ),
    Case(
        "unique_scaling_metrics",
        "Service",
        spec(
            SERVICE,
            autoScaling={
                "minCapacity": 1,
                "maxCapacity": 5,
                "targetTrackingScalingPolicies": [
                    {
                        "predefinedMetricType": "ECSServiceAverageMemoryUtilization",
                        "targetValue": 60,
                    },
                    {
                        "predefinedMetricType": "ECSServiceAverageMemoryUtilization",
                        "targetValue": 80,
                    },
                ],
            },
        ),
        "autoScaling.targetTrackingScalingPolicies[1].predefinedMetricType",
        "one target tracking policy",
    ),
    Case(
        "overrides_size",
        "Task",
        spec(TASK, overrides={"containerOverrides": [{"name": "web", "command": ["x" * 9000]}]}),
        "overrides",
        "8192",
    ),
    Case(
        "default_capacity_provider_strategy",
        "Cluster",
        spec(
            CLUSTER,
            capacityProviders=["FARGATE", "FARGATE_SPOT"],
            defaultCapacityProviderStrategy=strategy(("FARGATE", 1, 1), ("FARGATE_SPOT", 1, 1)),
        ),
        "defaultCapacityProviderStrategy[1].base",
        "at most one",
    ),
    Case(
        "default_capacity_provider_strategy",
        "Cluster",
        spec(
            CLUSTER, defaultCapacityProviderStrategy=strategy(("FARGATE", 0, 1), ("general", 0, 1))
        ),
        "defaultCapacityProviderStrategy",
        "can't mix FARGATE/FARGATE_SPOT with EC2",
    ),
    Case(
        "default_strategy_uses_cluster_providers",
        "Cluster",
        spec(CLUSTER, defaultCapacityProviderStrategy=strategy(("FARGATE_SPOT", None, 1))),
        "defaultCapacityProviderStrategy[0].capacityProvider",
        "listed in capacityProviders",
    ),
    Case(
        "unique_capacity_provider_definitions",
        "Cluster",
        spec(CLUSTER, capacityProviderDefinitions=[{"name": "general"}, {"name": "general"}]),
        "capacityProviderDefinitions[1].name",
        "unique",
    ),
    Case(
        "capacity_provider_definitions_listed",
        "Cluster",
        spec(CLUSTER, capacityProviderDefinitions=[{"name": "gpu"}]),
        "capacityProviderDefinitions[0].name",
        "listed in capacityProviders",
    ),
    Case(
        "capacity_provider_definition_names",
        "Cluster",
        spec(
            CLUSTER,
            capacityProviders=["ecs-pool"],
            capacityProviderDefinitions=[{"name": "ecs-pool"}],
        ),
        "capacityProviderDefinitions[0].name",
        "can't start with aws, ecs or fargate",
    ),
    Case(
        "container_insights_value",
        "Cluster",
        spec(CLUSTER, settings=[{"name": "containerInsights", "value": "on"}]),
        "settings[0].value",
        "enhanced, enabled or disabled",
    ),
    Case(
        "toleration_exists_without_value",
        "Cluster",
        spec(
            CLUSTER,
            capacityProviderDefinitions=[
                {
                    "name": "general",
                    "tolerations": [{"key": "k", "operator": "Exists", "value": "v"}],
                }
            ],
        ),
        "capacityProviderDefinitions[0].tolerations[0].value",
        "Exists takes no value",
    ),
]


def _rule(case: Case) -> Rule[Any]:
    return next(r for r in REGISTRIES[case.kind] if r.name == case.rule)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_operator_reports_the_rule_at_its_path(case: Case) -> None:
    with pytest.raises(EcsValidationError) as caught:
        PARSERS[case.kind](case.spec)
    found = [(v.path, v.rule) for v in caught.value.violations]
    assert len(found) == 1, found
    path, message = found[0]
    assert path == case.path
    assert case.words.lower() in message.lower()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_api_server_refuses_exactly_the_rules_it_can_check(
    case: Case, apiserver: OfflineApiServer
) -> None:
    refuses = bool(_rule(case).server) if case.server is None else case.server
    errors = apiserver.errors({"kind": case.kind, "spec": case.spec})
    assert bool(errors) == refuses, errors


@pytest.mark.parametrize(
    ("kind", "base"), [(k, b) for k, bases in BASES.items() for b in bases] + [("Cluster", CLUSTER)]
)
def test_the_bases_of_the_cases_are_valid(
    kind: str, base: Spec, apiserver: OfflineApiServer
) -> None:
    PARSERS[kind](base)
    assert apiserver.errors({"kind": kind, "spec": base}) == []


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_every_rule_has_a_case_and_a_sourced_docstring(kind: str) -> None:
    covered = {case.rule for case in CASES if case.kind == kind}
    for rule in REGISTRIES[kind]:
        assert rule.name in covered, f"no test case for {kind} rule {rule.name}"
        assert rule.summary, f"{rule.name} has no docstring"
    names = [rule.name for rule in REGISTRIES[kind]]
    assert len(names) == len(set(names))


def test_rules_are_pure_functions_of_the_spec() -> None:
    td = parse_task_definition(EC2)
    for rule in TASK_DEFINITION_RULES:
        assert rule.check(td) == []
        assert rule.check(td) == []
    assert parse_task_definition(EC2) == td
