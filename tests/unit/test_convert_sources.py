"""What ``ecs-operator convert`` reads besides plain ECS requests: the describe-* forms of
services and clusters (as ecspresso keeps them), CreateCluster input, and the hint for a
cluster the input does not define."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_operator import cli, sources
from ecs_operator.api.parse import parse_scheduled_task
from ecs_operator.render.findings import Finding, ObjectRef, grouped_lines
from ecs_operator.render.storage import volume_objects

from .render.test_render_convert import TD
from .render.test_render_convert import _convert as convert


def test_a_bare_service_in_describe_form_is_stripped_but_a_typo_is_not(tmp_path: Path) -> None:
    """ecspresso's service files: one described service, read-only members and nulls in."""
    service = {
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 1,
        "runningCount": 0,
        "platformFamily": "Linux",
        "serviceRegistries": [],
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
    }
    code, docs, err = convert(tmp_path, [TD, service])
    assert code == 0, err
    assert docs[1]["spec"] == {
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 1,
        "cluster": "prod",
    }
    assert "describe-services members stripped: clusterArn, runningCount, platformFamily" in err
    code, _, err = convert(tmp_path, [TD, {**service, "desiredCont": 1}])
    assert code == 1 and "[1].desiredCont: is not an ECS parameter" in err


def test_create_cluster_input_and_describe_clusters_output(tmp_path: Path) -> None:
    code, docs, err = convert(tmp_path, {"clusterName": "my_cluster"})  # botocore's example
    assert code == 0, err
    assert docs == [
        {
            "apiVersion": "ecs-operator.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": docs[0]["metadata"]["name"]},
            "spec": {"clusterName": "my_cluster"},
        }
    ]
    described = {
        "clusters": [
            {
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "clusterName": "prod",
                "status": "ACTIVE",
                "runningTasksCount": 3,
                "capacityProviders": ["FARGATE"],
                "statistics": [],
            }
        ],
        "failures": [],
    }
    code, docs, err = convert(tmp_path, described)
    assert code == 0, err
    assert docs[0]["spec"] == {"clusterName": "prod", "capacityProviders": ["FARGATE"]}
    assert "describe-clusters members stripped: clusterArn, status, runningTasksCount" in err
    code, docs, err = convert(tmp_path, described, "--to", "k8s")
    assert code == 0 and docs == [] and "Cluster prod\n  describe-clusters" in err


def test_a_cluster_the_input_does_not_define_is_named(tmp_path: Path) -> None:
    service = {"serviceName": "web", "taskDefinition": "web", "cluster": "prod", "desiredCount": 1}
    code, _, err = convert(tmp_path, [TD, service])
    assert code == 0 and "cluster prod is not in the input" in err
    code, _, err = convert(tmp_path, [TD, service, {"clusterName": "prod"}])
    assert code == 0 and "is not in the input" not in err


def test_a_member_of_regular_expression_needs_the_nodes_and_is_expanded_with_them(
    tmp_path: Path,
) -> None:
    service = {
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 1,
        "placementConstraints": [
            {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ c5.*"}
        ],
    }
    code, _, err = convert(tmp_path, [TD, service], "--to", "k8s")
    assert code == 1 and "placementConstraints[0].expression: regular expression" in err
    assert "needs the nodes' labels" in err and "--nodes FILE" in err
    node_list = {
        "kind": "List",
        "items": [
            {"metadata": {"name": f"n{i}", "labels": {"node.kubernetes.io/instance-type": t}}}
            for i, t in enumerate(["c5.large", "c5.xlarge", "m5.large"])
        ],
    }
    nodes_file = tmp_path / "nodes.json"
    nodes_file.write_text(json.dumps(node_list))
    code, docs, err = convert(tmp_path, [TD, service], "--to", "k8s", "--nodes", str(nodes_file))
    assert code == 0, err
    affinity = docs[1]["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    [term] = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [
        {
            "key": "node.kubernetes.io/instance-type",
            "operator": "In",
            "values": ["c5.large", "c5.xlarge"],
        }
    ]
    nodes_file.write_text("[1]")
    code, _, err = convert(tmp_path, [TD, service], "--to", "k8s", "--nodes", str(nodes_file))
    assert code == 1 and "not the output of kubectl get nodes -o json" in err


TEMPLATE_YAML = """\
Parameters:
  Tag: {Type: String, Default: "1.0"}
Resources:
  Web:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: web
      ContainerDefinitions:
        - Name: web
          Image: !Sub "nginx:${Tag}"
          Memory: 128
          LogConfiguration:
            LogDriver: awslogs
            Options: {awslogs-group: !Ref Group, awslogs-region: !Ref "AWS::Region"}
  Svc:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: web
      TaskDefinition: !Ref Web
      DesiredCount: 1
      PlacementConstraints: !If [Prod, [], []]
"""


def test_a_yaml_template_with_short_forms_names_every_intrinsic_it_cannot_resolve(
    tmp_path: Path,
) -> None:
    source = tmp_path / "template.yaml"
    source.write_text(TEMPLATE_YAML)
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        patch.setattr("sys.stderr", stderr)
        code = cli.main(["convert", str(source)])
    err = stderr.getvalue()
    assert code == 1
    where = "Resources.Web.Properties.ContainerDefinitions[0].LogConfiguration.Options"
    assert f"{where}.awslogs-group: Ref Group" in err and "--parameter Group=VALUE" in err
    assert f"{where}.awslogs-region: Ref AWS::Region" in err
    assert "Resources.Svc.Properties.PlacementConstraints: Fn::If is not resolved" in err
    args = ["--parameter", "Group=/ecs/web", "--parameter", "AWS::Region=eu-west-1"]
    resolvable = TEMPLATE_YAML.replace("      PlacementConstraints: !If [Prod, [], []]\n", "")
    source.write_text(resolvable)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", stdout := io.StringIO())
        patch.setattr("sys.stderr", stderr := io.StringIO())
        code = cli.main(["convert", str(source), *args, "--parameter", "Tag=1.27"])
    assert code == 0, stderr.getvalue()
    td, svc = [d for d in yaml.safe_load_all(stdout.getvalue()) if d]
    container = td["spec"]["containerDefinitions"][0]
    assert container["image"] == "nginx:1.27"
    assert container["logConfiguration"]["options"] == {
        "awslogs-group": "/ecs/web",
        "awslogs-region": "eu-west-1",
    }
    assert svc["spec"]["taskDefinition"] == "web"


def test_a_directory_or_several_files_are_one_input(tmp_path: Path) -> None:
    """A task definition in one file, its service in another: rendered together."""
    folder = tmp_path / "ecs"
    folder.mkdir()
    (folder / "td.json").write_text(json.dumps(TD))
    service = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}
    (folder / "service.yaml").write_text(yaml.safe_dump(service))
    (folder / "notes.txt").write_text("not read")
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        patch.setattr("sys.stderr", stderr)
        code = cli.main(["convert", str(folder), "--to", "k8s"])
        assert code == 0, stderr.getvalue()
        kinds = [d["kind"] for d in yaml.safe_load_all(stdout.getvalue()) if d]
        assert kinds == ["ServiceAccount", "Deployment"]
        (folder / "broken.json").write_text(json.dumps({**service, "desiredCount": "1"}))
        assert cli.main(["convert", str(folder / "td.json"), str(folder / "broken.json")]) == 1
    assert f"invalid input {folder / 'broken.json'}" in stderr.getvalue()


def test_normalised_cpu_and_memory_are_noted(tmp_path: Path) -> None:
    td = {**TD, "cpu": ".25 vcpu", "memory": "0.5GB"}
    code, docs, err = convert(tmp_path, td)
    assert code == 0 and (docs[0]["spec"]["cpu"], docs[0]["spec"]["memory"]) == ("256", "512")
    assert "cpu '.25 vcpu' -> '256': in CPU units" in err and "memory '0.5GB' -> '512'" in err
    _, _, err = convert(tmp_path, {**TD, "cpu": 256, "memory": "512"})
    assert "->" not in err


def test_the_report_groups_findings_per_kind_with_counts_and_merges_repeats() -> None:
    findings = [
        Finding("containerDefinitions[0].logConfiguration", "mapped-approx", "logs go"),
        Finding("containerDefinitions[3].logConfiguration", "mapped-approx", "logs go"),
        Finding("volumes[0].efsVolumeConfiguration", "unsupported", "no EFS"),
        Finding("ulimits", "mapped-approx", "pod-wide"),
    ]
    refs = [ObjectRef("Secret", "sm-db", "arn:db", "containerDefinitions[0].secrets[0]")]
    assert grouped_lines(findings, refs) == [
        "mapped-approx (3):",
        "  containerDefinitions[0,3].logConfiguration: logs go",
        "  ulimits: pod-wide",
        "unsupported (1):",
        "  volumes[0].efsVolumeConfiguration: no EFS",
        "requires (1):",
        "  Secret sm-db (for containerDefinitions[0].secrets[0]: arn:db)",
    ]


def test_emitted_volumes_are_a_docker_claim_or_an_efs_volume_and_claim() -> None:
    docker = ObjectRef("PersistentVolumeClaim", "docker-cache", "cache", "volumes[0]", None, {})
    [claim] = volume_objects(docker, "shop")
    assert claim["kind"] == "PersistentVolumeClaim" and "storageClassName" not in claim["spec"]
    details = {"driver": "efs.csi.aws.com", "volumeHandle": "fs-1::fsap-2", "mountOptions": "tls"}
    efs = ObjectRef("PersistentVolumeClaim", "efs-fs-1", "fs-1", "volumes[1]", None, details)
    volume, claim = volume_objects(efs, "shop")
    assert volume["spec"]["csi"] == {"driver": "efs.csi.aws.com", "volumeHandle": "fs-1::fsap-2"}
    assert volume["spec"]["mountOptions"] == ["tls"]
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"] == "shop-efs-fs-1"
    assert volume_objects(ObjectRef("Secret", "s", "arn", "secrets[0]"), "shop") == []


def test_an_eventbridge_rule_gives_one_schedule_per_ecs_target_and_leaves_the_rest_out() -> None:
    ecs = {"TaskDefinitionArn": "report", "LaunchType": "EC2"}
    template = {
        "Resources": {
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "sweep",
                    "ScheduleExpression": "cron(0 3 * * ? *)",
                    "Targets": [
                        {
                            "Id": "a",
                            "Arn": "arn:aws:ecs:us-east-1:1:cluster/x",
                            "EcsParameters": ecs,
                        },
                        {"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:1:function:f"},
                        {
                            "Id": "b",
                            "Arn": "arn:aws:ecs:us-east-1:1:cluster/x",
                            "EcsParameters": ecs,
                        },
                    ],
                },
            },
            "OnEvent": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventPattern": {"source": ["aws.s3"]}, "Targets": []},
            },
        }
    }
    found = sources.items(template)
    assert [(i.where, i.kind, i.body["name"]) for i in found] == [
        ("Resources.Rule.Properties.Targets[0]", "ScheduledTask", "sweep-a"),
        ("Resources.Rule.Properties.Targets[2]", "ScheduledTask", "sweep-b"),
    ]
    assert found[0].notes[-1].startswith("template resources that are not ECS objects, left out")
    assert "AWS::Events::Rule (1)" in found[0].notes[-1]


def _schedule_template(kind: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Nightly": {"Type": kind, "Properties": properties}}}


def test_a_scheduled_tasks_tags_in_either_cloudformation_spelling_are_runtasks() -> None:
    """CloudFormation spells an ECS target's tags two ways: an EventBridge rule's
    ``TagList: [{Key, Value}]``, a Scheduler schedule's ``Tags: [{key: value}]`` (string maps,
    whose keys are the tags' own and keep their case). Both were refused as not ECS
    parameters; both are RunTask's ``tags: [{key, value}]``."""
    ecs = {"TaskDefinitionArn": "web:3", "LaunchType": "EC2"}
    rule = _schedule_template(
        "AWS::Events::Rule",
        {
            "Name": "nightly",
            "ScheduleExpression": "cron(30 2 ? * MON-FRI *)",
            "Targets": [
                {
                    "Id": "report",
                    "Arn": "arn:aws:ecs:eu-west-1:1:cluster/default",
                    "EcsParameters": {**ecs, "TagList": [{"Key": "Team", "Value": "data"}]},
                }
            ],
        },
    )
    schedule = _schedule_template(
        "AWS::Scheduler::Schedule",
        {
            "Name": "nightly",
            "ScheduleExpression": "cron(30 2 ? * MON-FRI *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": "arn:aws:ecs:eu-west-1:1:cluster/default",
                "EcsParameters": {**ecs, "Tags": [{"Team": "data", "CostCentre": "42"}]},
            },
        },
    )
    for template, tags in (
        (rule, [{"key": "Team", "value": "data"}]),
        (schedule, [{"key": "Team", "value": "data"}, {"key": "CostCentre", "value": "42"}]),
    ):
        [item] = sources.items(template)
        spec = parse_scheduled_task({k: v for k, v in item.body.items() if k != "name"}, "nightly")
        assert spec.target.ecsParameters.to_ecs()["tags"] == tags
