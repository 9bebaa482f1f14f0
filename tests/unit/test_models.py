"""The spec models: ECS JSON parses unchanged, round-trips, and fails with ECS field paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from ecs_operator.api import (
    EcsValidationError,
    TaskDefinitionRef,
    Violation,
    parse_cluster,
    parse_service,
    parse_task,
    parse_task_definition,
    shapes,
)
from ecs_operator.api.models import (
    ClusterSpec,
    ServiceSpec,
    TaskDefinitionSpec,
    TaskSpec,
)
from ecs_operator.api.size import TASK_DEFINITION_MAX_BYTES, json_bytes

PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "RegisterTaskDefinition": parse_task_definition,
    "CreateService": parse_service,
    "RunTask": parse_task,
    "CreateCluster": parse_cluster,
}

EC2_TASK = {"family": "app", "containerDefinitions": [{"name": "app", "image": "busybox"}]}


def _errors(parse: Callable[[dict[str, Any]], Any], data: dict[str, Any]) -> list[Violation]:
    with pytest.raises(EcsValidationError) as caught:
        parse(data)
    return caught.value.violations


@pytest.mark.parametrize("operation", sorted(PARSERS))
def test_botocore_examples_parse_unchanged_and_round_trip(
    operation: str, botocore_examples: dict[str, list[dict[str, Any]]]
) -> None:
    examples = botocore_examples[operation]
    assert examples, f"botocore has no {operation} example"
    for example in examples:
        spec = PARSERS[operation](example["input"])
        assert spec.to_ecs() == example["input"], example["id"]
        assert json.loads(json.dumps(spec.to_ecs())) == example["input"]


def test_describe_task_definition_output_pastes_without_read_only_members(
    botocore_examples: dict[str, list[dict[str, Any]]],
) -> None:
    described = dict(botocore_examples["DescribeTaskDefinition"][0]["output"]["taskDefinition"])
    with pytest.raises(EcsValidationError) as caught:
        parse_task_definition(described)
    assert set(caught.value.paths) == {"revision", "taskDefinitionArn"}
    for read_only in ("revision", "taskDefinitionArn"):
        del described[read_only]
    assert parse_task_definition(described).to_ecs() == described


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [
        (256, 512, ("256", "512")),
        ("256", "512", ("256", "512")),
        ("1 vCPU", "1GB", ("1024", "1024")),
        (".25 vCPU", "0.5GB", ("256", "512")),
        ("0.5 vcpu", "2 GB", ("512", "2048")),
        ("2 vCPUs", 4096, ("2048", "4096")),
    ],
)
def test_task_cpu_and_memory_accept_the_ecs_forms_and_normalise(
    cpu: int | str, memory: int | str, expected: tuple[str, str]
) -> None:
    spec = parse_task_definition({**EC2_TASK, "cpu": cpu, "memory": memory})
    assert (spec.cpu, spec.memory) == expected
    assert (spec.to_ecs()["cpu"], spec.to_ecs()["memory"]) == expected


@pytest.mark.parametrize(("field", "value"), [("cpu", "lots"), ("cpu", True), ("memory", "1.5")])
def test_task_cpu_and_memory_refuse_other_values(field: str, value: object) -> None:
    violations = _errors(parse_task_definition, {**EC2_TASK, field: value})
    assert [v.path for v in violations] == [field]
    assert "valid" in violations[0].rule or "number" in violations[0].rule


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({**EC2_TASK, "networkMode": "bridged"}, "networkMode", "'awsvpc'"),
        (
            {
                "family": "app",
                "containerDefinitions": [{"name": "app", "image": "b", "memory": "64"}],
            },
            "containerDefinitions[0].memory",
            "integer",
        ),
        (
            {
                "family": "app",
                "containerDefinitions": [{"name": "a", "image": "b", "memoryReservaton": 64}],
            },
            "containerDefinitions[0].memoryReservaton",
            "not an ECS parameter",
        ),
        (
            {"family": "app", "containerDefinitions": [{"name": "app"}]},
            "containerDefinitions[0].image",
            "required",
        ),
        (
            {"family": "app", "containerDefinitions": [{"name": "app", "image": "", "memory": 64}]},
            "containerDefinitions[0].image",
            "at least 1 character",
        ),
        (
            {
                "family": "app",
                "containerDefinitions": [{"name": "app", "image": "b", "memory": 10**12}],
            },
            "containerDefinitions[0].memory",
            "less than or equal to 2147483647",
        ),
        ({"containerDefinitions": EC2_TASK["containerDefinitions"]}, "family", "required"),
    ],
)
def test_field_errors_name_the_ecs_path(data: dict[str, Any], path: str, words: str) -> None:
    violations = _errors(parse_task_definition, data)
    assert [v.path for v in violations] == [path]
    assert words in violations[0].rule


def test_every_violation_comes_in_one_typed_error() -> None:
    data = {
        "family": "app",
        "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 64, "memoryReservation": 128},
            {"name": "app", "image": "busybox", "memory": 64},
        ],
    }
    with pytest.raises(EcsValidationError) as caught:
        parse_task_definition(data)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.kind == "TaskDefinition"
    assert error.paths == [
        "containerDefinitions[1].name",
        "containerDefinitions[0].memoryReservation",
    ]
    assert "containerDefinitions[1].name: container names must be unique" in str(error)


def test_specs_are_the_generated_ecs_shapes() -> None:
    assert issubclass(TaskDefinitionSpec, shapes.RegisterTaskDefinitionRequest)
    assert issubclass(ServiceSpec, shapes.CreateServiceRequest)
    assert issubclass(TaskSpec, shapes.RunTaskRequest)
    assert issubclass(ClusterSpec, shapes.CreateClusterRequest)


def test_extensions_stay_out_of_the_ecs_request() -> None:
    service = parse_service(
        {
            "serviceName": "web",
            "taskDefinition": "web:3",
            "desiredCount": 2,
            "autoScaling": {
                "minCapacity": 1,
                "maxCapacity": 4,
                "targetTrackingScalingPolicies": [
                    {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 70}
                ],
            },
        }
    )
    assert service.autoScaling is not None
    assert service.autoScaling.maxCapacity == 4
    assert "autoScaling" not in service.to_ecs()
    assert service.task_definition_ref == TaskDefinitionRef("web", 3)

    cluster = parse_cluster(
        {
            "clusterName": "prod",
            "capacityProviders": ["general", "gpu"],
            "capacityProviderDefinitions": [
                {"name": "general"},
                {"name": "gpu", "nodeSelector": {"pool": "gpu"}, "tolerations": [{"key": "gpu"}]},
            ],
        }
    )
    assert cluster.to_ecs() == {"clusterName": "prod", "capacityProviders": ["general", "gpu"]}
    assert cluster.definitions()["gpu"].nodeSelector == {"pool": "gpu"}


def test_task_definition_references_are_checked_where_they_are_read() -> None:
    task = parse_task(
        {"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"}
    )
    assert task.task_definition_ref == TaskDefinitionRef("web", 7)
    violations = _errors(parse_task, {"taskDefinition": "web:latest"})
    assert [v.path for v in violations] == ["taskDefinition"]
    assert "family:revision" in violations[0].rule


def test_models_are_strict_like_ecs_about_json_types() -> None:
    """botocore refuses "2" for an integer and "true" for a boolean; so do we."""
    service = {"serviceName": "web", "taskDefinition": "web", "desiredCount": "2"}
    assert [v.path for v in _errors(parse_service, service)] == ["desiredCount"]
    container = {"name": "app", "image": "busybox", "memory": 64, "essential": "true"}
    violations = _errors(
        parse_task_definition, {"family": "a", "containerDefinitions": [container]}
    )
    assert [v.path for v in violations] == ["containerDefinitions[0].essential"]


def _task_definition_of(size: int) -> dict[str, Any]:
    """A valid EC2 task definition of exactly ``size`` bytes of compact JSON (an environment
    value pads it)."""
    data: dict[str, Any] = {
        "family": "app",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "busybox",
                "memory": 64,
                "environment": [{"name": "PAD", "value": ""}],
            }
        ],
    }
    padding = size - len(json_bytes(data))
    data["containerDefinitions"][0]["environment"][0]["value"] = "p" * padding
    assert len(json_bytes(data)) == size
    return data


def test_a_task_definition_of_64_kib_registers() -> None:
    parse_task_definition(_task_definition_of(TASK_DEFINITION_MAX_BYTES))


def test_a_task_definition_over_64_kib_is_refused_naming_the_limit() -> None:
    violations = _errors(parse_task_definition, _task_definition_of(TASK_DEFINITION_MAX_BYTES + 1))
    assert violations == [
        Violation(
            "",
            "the task definition is 65537 bytes of JSON; ECS allows at most 65536 (64 KiB) per "
            "task definition",
        )
    ]


def test_an_oversize_task_definition_is_refused_before_it_is_parsed() -> None:
    """Only the size is reported: what else is wrong with 64 KiB of it is not looked for."""
    data = _task_definition_of(TASK_DEFINITION_MAX_BYTES + 100)
    data["networkMode"] = "bridged"
    assert [v.path for v in _errors(parse_task_definition, data)] == [""]


def test_the_size_is_measured_in_utf8_bytes() -> None:
    data = _task_definition_of(TASK_DEFINITION_MAX_BYTES - 100)
    data["containerDefinitions"][0]["environment"].append({"name": "E", "value": "é" * 60})
    assert len(json.dumps(data, separators=(",", ":"), ensure_ascii=False)) < 65536
    assert "64 KiB" in _errors(parse_task_definition, data)[0].rule


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({**EC2_TASK, "taskRoleArn": "a" * 2049}, "taskRoleArn"),
        ({**EC2_TASK, "family": "f" * 256}, "family"),
        (
            {"family": "app", "containerDefinitions": [{"name": "app", "image": "i" * 328}]},
            "containerDefinitions[0].image",
        ),
        ({**EC2_TASK, "cpu": "1" * 33}, "cpu"),
    ],
)
def test_strings_over_their_bound_are_refused(data: dict[str, Any], path: str) -> None:
    assert [v.path for v in _errors(parse_task_definition, data)] == [path]


def test_map_keys_and_values_are_bounded() -> None:
    logs = {"logDriver": "awslogs", "options": {"k" * 65537: "v"}}
    service = {
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 1,
        "serviceConnectConfiguration": {"enabled": True, "logConfiguration": logs},
    }
    # a key that long makes the whole spec too large first: the model's own bound, then the
    # operator's size limit (api/size.py) that parse_service applies before it
    with pytest.raises(ValidationError) as raised:
        ServiceSpec.model_validate(service, strict=True)
    assert (
        EcsValidationError.from_pydantic(raised.value)
        .paths[0]
        .startswith("serviceConnectConfiguration.logConfiguration.options")
    )
    assert "64 KiB" in str(_errors(parse_service, service)[0])
    cluster = {
        "clusterName": "c",
        "capacityProviders": ["general"],
        "capacityProviderDefinitions": [{"name": "general", "nodeSelector": {"a": "v" * 64}}],
    }
    assert _errors(parse_cluster, cluster)[0].path.startswith(
        "capacityProviderDefinitions[0].nodeSelector"
    )
