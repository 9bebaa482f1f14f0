"""`ecs-operator convert`: input forms, stripping of read-only members, errors naming fields."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_operator import cli

TD = {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]}


def _convert(tmp_path: Path, data: object, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    source = tmp_path / "input.json"
    source.write_text(json.dumps(data))
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        patch.setattr("sys.stderr", stderr)
        code = cli.main(["convert", str(source), *args])
    return code, [d for d in yaml.safe_load_all(stdout.getvalue()) if d], stderr.getvalue()


def test_default_is_custom_resources(tmp_path: Path) -> None:
    code, docs, _ = _convert(tmp_path, TD)
    assert code == 0
    assert docs == [
        {
            "apiVersion": "ecs-operator.dev/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": "web"},
            "spec": TD,
        }
    ]


def test_describe_output_is_stripped_and_listed(tmp_path: Path) -> None:
    described = {
        "taskDefinition": {
            **TD,
            "revision": 5,
            "status": "ACTIVE",
            "compatibilities": ["EC2"],
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:5",
        },
        "tags": [{"key": "a", "value": "b"}],
    }
    code, docs, err = _convert(tmp_path, described)
    assert code == 0
    assert docs[0]["spec"] == {**TD, "tags": [{"key": "a", "value": "b"}]}
    assert "taskDefinitionArn, revision, status, compatibilities" in err
    code, docs, _ = _convert(tmp_path, described, "--to", "k8s")
    assert docs[1]["kind"] == "PodTemplate" and docs[1]["metadata"]["name"] == "web-5"


def test_service_needs_its_task_definition_beside_it(tmp_path: Path) -> None:
    service = {"serviceName": "web", "taskDefinition": "web:2", "desiredCount": 1}
    code, _, err = _convert(tmp_path, [service], "--to", "k8s")
    assert code == 1 and "[0].taskDefinition" in err
    code, docs, _ = _convert(tmp_path, [TD, service], "--to", "k8s")
    assert code == 0 and [d["kind"] for d in docs] == ["ServiceAccount", "Deployment"]


def test_an_ec2_only_task_definition_does_not_run_on_fargate(tmp_path: Path) -> None:
    """ECS refuses launchType FARGATE for a task definition that is not Fargate-compatible:
    one that requires EC2 only, or one that requires nothing and breaks a Fargate rule."""
    service = {
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 1,
        "launchType": "FARGATE",
    }
    ec2_only = {**TD, "requiresCompatibilities": ["EC2"]}
    code, docs, err = _convert(tmp_path, [ec2_only, service], "--to", "k8s")
    assert code == 1 and docs == []
    assert "requiresCompatibilities" in err and "does not support launch type FARGATE" in err
    bridge = {**TD, "networkMode": "bridge"}
    bridge.pop("requiresCompatibilities", None)
    code, _, err = _convert(tmp_path, [bridge, service], "--to", "k8s")
    assert code == 1 and "networkMode" in err


def test_invalid_input_names_the_fields(tmp_path: Path) -> None:
    bad = {
        "family": "web",
        "containerDefinitions": [{"name": "web", "image": "nginx", "memoryReservaton": 1}],
    }
    code, docs, err = _convert(tmp_path, [TD, bad])
    assert code == 1 and docs == []
    assert "[1].containerDefinitions[0].memoryReservaton" in err


def test_unrecognised_objects_and_bad_json(tmp_path: Path) -> None:
    code, _, err = _convert(tmp_path, {"hello": 1})
    assert code == 1 and "not a task definition" in err
    (tmp_path / "broken.json").write_text("{")
    assert cli.main(["convert", str(tmp_path / "broken.json")]) == 1


def test_run_task_custom_resource_uses_generate_name_and_says_how_to_create_it(
    tmp_path: Path,
) -> None:
    code, docs, err = _convert(
        tmp_path, {"taskDefinition": "web:3", "count": 2}, "--namespace", "jobs"
    )
    assert code == 0
    assert docs[0]["metadata"] == {"generateName": "web-", "namespace": "jobs"}
    assert docs[0]["kind"] == "Task"
    assert "kubectl create -f" in err and "kubectl apply" in err
    code, docs, err = _convert(tmp_path, [TD, {"taskDefinition": "web"}], "--to", "k8s")
    assert docs[-1]["kind"] == "Pod" and "kubectl create -f" in err


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (
            {"family": "web", "ContainerDefinitions": []},
            "ContainerDefinitions: ECS member names are camelCase: containerDefinitions",
        ),
        ({"ServiceName": "web"}, "ServiceName: ECS member names are camelCase: serviceName"),
        ({"TaskDefinition": {}}, "TaskDefinition: ECS member names are camelCase: taskDefinition"),
    ],
)
def test_a_wrongly_cased_key_is_named_with_its_ecs_spelling(
    tmp_path: Path, data: dict[str, Any], hint: str
) -> None:
    code, _, err = _convert(tmp_path, data)
    assert code == 1 and hint in err


def test_describe_services_output_is_unwrapped_to_create_service_requests(tmp_path: Path) -> None:
    described = {
        "services": [
            {
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
                "serviceName": "web",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": 2,
                "launchType": "FARGATE",
                "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
                "deployments": [{"id": "ecs-svc/1"}],
                "events": [],
                "loadBalancers": [],
                "createdAt": "2026-01-01T00:00:00Z",
            }
        ],
        "failures": [],
    }
    code, docs, err = _convert(tmp_path, described)
    assert code == 0, err
    assert docs[0]["kind"] == "Service"
    assert docs[0]["spec"] == {
        "serviceName": "web",
        "cluster": "prod",
        "desiredCount": 2,
        "launchType": "FARGATE",
        "taskDefinition": "web",
    }
    assert "describe-services members stripped:" in err and "runningCount" in err
    fargate = {**TD, "networkMode": "awsvpc", "cpu": "256", "memory": "512"}
    code, docs, err = _convert(tmp_path, [fargate, described], "--to", "k8s")  # jq -s . td sv
    assert code == 0, err
    assert [d["kind"] for d in docs][:2] == ["ServiceAccount", "Deployment"]
    broken = {"services": [{"serviceName": "web", "desiredCount": "2"}]}
    code, _, err = _convert(tmp_path, [TD, broken])
    assert code == 1 and "[1].services[0].desiredCount" in err


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(TD)))
    assert cli.main(["convert", "-", "--to", "k8s"]) == 0
    assert "kind: PodTemplate" in capsys.readouterr().out


def test_a_task_definition_over_64_kib_is_refused(tmp_path: Path) -> None:
    """As RegisterTaskDefinition refuses it, with ECS's limit in the message."""
    container = {"name": "web", "image": "nginx", "memory": 128, "command": ["x" * 70000]}
    code, docs, err = _convert(tmp_path, {"family": "web", "containerDefinitions": [container]})
    assert code == 1 and docs == []
    assert "ECS allows at most 65536 (64 KiB) per task definition" in err
