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

from ecs_operator import cli

TD = {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]}


def convert(tmp_path: Path, data: object, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """Run convert on ``data`` written as a JSON file: exit code, YAML documents, stderr."""
    source = tmp_path / "input.json"
    source.write_text(json.dumps(data))
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        patch.setattr("sys.stderr", stderr)
        code = cli.main(["convert", str(source), *args])
    return code, [d for d in yaml.safe_load_all(stdout.getvalue()) if d], stderr.getvalue()


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
