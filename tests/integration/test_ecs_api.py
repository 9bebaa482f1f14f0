"""`ecs-operator api` on the devcluster, with the operator running: the aws CLI's workflows
unchanged, and authentication and RBAC refusals that change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.session import get_session
from tests.support.ecsapi import AccessKey, ApiProcess, access_key
from tests.support.jssdk import node_modules
from tests.support.kube import kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).parent / "scripts" / "aws-cli-workflows.sh"


@pytest.fixture
def api(namespace: str, tmp_path: Path) -> Iterator[ApiProcess]:
    """The API, its access keys in the test's namespace."""
    process = ApiProcess.start(tmp_path, namespace)
    try:
        yield process
    finally:
        process.stop()


def quick_waiters(directory: Path) -> Path:
    """A botocore data path (AWS_DATA_PATH) with the aws CLI's own ECS waiters, their acceptors
    unchanged and their delays 1 s instead of 6-15 s: the test waits as the CLI does, minus
    half a minute of sleeping."""
    import awscli

    name = Path("ecs") / "2014-11-13" / "waiters-2.json"
    waiters = json.loads((Path(awscli.__file__).parent / "botocore" / "data" / name).read_text())
    for waiter in waiters["waiters"].values():
        waiter["delay"] = 1
    (directory / name).parent.mkdir(parents=True)
    (directory / name).write_text(json.dumps(waiters))
    return directory


def test_the_aws_cli_deploys_rolls_runs_and_deletes(
    operator: OperatorProcess, api: ApiProcess, namespace: str, tmp_path: Path
) -> None:
    key = access_key(namespace, "deployer", "AKIADEPLOYER")
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**os.environ, **key.env(api.endpoint), "NAMESPACE": namespace, "PATH": path}
    env["AWS_DATA_PATH"] = str(quick_waiters(tmp_path / "models"))
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{result.stderr}\n--- api log ---\n{api.log.read_text()}"


def _client(api: ApiProcess, key: AccessKey, secret: str | None = None):  # type: ignore[no-untyped-def]
    return get_session().create_client(
        "ecs",
        region_name="eu-west-1",
        endpoint_url=api.endpoint,
        aws_access_key_id=key.key,
        aws_secret_access_key=secret or key.secret,
    )


def _code(call) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_refused_keys_get_4xx_and_change_nothing(
    crds: Path, api: ApiProcess, namespace: str
) -> None:
    deployer = access_key(namespace, "deployer", "AKIADEPLOYER")
    nobody = access_key(namespace, "nobody", "AKIANOBODY", rules="")
    stranger = AccessKey("AKIASTRANGER", "whatever")
    family = {"family": "web", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}

    def register(client) -> None:  # type: ignore[no-untyped-def]
        client.register_task_definition(**family)

    assert _code(lambda: register(_client(api, deployer, "wrong"))) == (
        "InvalidSignatureException",
        403,
    )
    assert _code(lambda: register(_client(api, stranger))) == ("UnrecognizedClientException", 403)
    assert _code(lambda: register(_client(api, nobody))) == ("AccessDeniedException", 400)
    left = kubectl("get", "taskdefinitions.ecs-operator.dev", "-n", namespace, "-o", "name")
    assert left.stdout == ""
    good = _client(api, deployer)
    assert _code(lambda: good.describe_task_definition(taskDefinition="web")) == (
        "ClientException",
        400,
    )
    assert _code(lambda: good.delete_cluster(cluster="nowhere")) == (
        "ClusterNotFoundException",
        400,
    )


JS_SCRIPT = Path(__file__).parent / "js" / "deploy-action.js"
#: a container with a health check: its task counts once healthy, not 40 s after it starts (as
#: ECS counts a task without one), so a rollout takes seconds
HEALTHY = {
    "name": "app",
    "image": "nginx:1.28",
    "memory": 64,
    "healthCheck": {"command": ["CMD-SHELL", "true"], "retries": 1},
}


def test_the_js_sdk_runs_the_deploy_actions_sequence(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """aws-actions/amazon-ecs-deploy-task-definition's calls under node: register, describe,
    update (with ``volumeConfigurations: []``), the SDK's own ServicesStable waiter, then the
    deployment id the update answered is still there and not FAILED."""
    modules = node_modules()
    key = access_key(namespace, "deployer", "AKIADEPLOYER")
    ecs = _client(api, key)
    ecs.register_task_definition(family="action", containerDefinitions=[HEALTHY])
    ecs.create_service(serviceName="action", taskDefinition="action", desiredCount=1)
    env = {**os.environ, **key.env(api.endpoint), "AWS_REGION": "eu-west-1"}
    env.update({"SERVICE": "action", "NODE_PATH": str(modules)})
    result = subprocess.run(
        ["node", "--no-warnings", str(JS_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{result.stderr}\n--- api log ---\n{api.log.read_text()}"
    assert result.stdout.startswith("ok arn:aws:ecs:eu-west-1:123456789012:task-definition/")


def _stable_deployment(ecs, cluster: str, service: str, deployment: str) -> None:  # type: ignore[no-untyped-def]
    """Terraform's wait for a steady new deployment (deployment controller ECS): the
    deployment id split on ``/`` names the service deployment, which must turn SUCCESSFUL,
    and the service must be steady (one deployment, every task running)."""
    digits = deployment.split("/")[1]

    def steady() -> bool:
        listed = ecs.list_service_deployments(cluster=cluster, service=service)
        arns = [d["serviceDeploymentArn"] for d in listed["serviceDeployments"]]
        mine = [arn for arn in arns if arn.split("/")[-1] == digits]
        assert mine, f"{deployment} not among {arns}"
        found = ecs.describe_service_deployments(serviceDeploymentArns=mine)
        svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
        return bool(
            found["serviceDeployments"][0]["status"] == "SUCCESSFUL"
            and len(svc["deployments"]) == 1
            and svc["runningCount"] == svc["desiredCount"]
        )

    wait_for(steady, 90, f"deployment {deployment} to succeed")


def test_terraforms_call_sequences_create_read_update_delete(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """aws_ecs_cluster, aws_ecs_task_definition and aws_ecs_service as terraform-provider-aws
    calls ECS (docs/ecs-api.md, "Terraform"): resources are addressed by the full ARNs the
    create calls answered, and every ARN the provider splits on ``/`` splits as in ECS."""
    ecs = _client(api, access_key(namespace, "terraform", "AKIATERRAFORM"))
    arn = "arn:aws:ecs:eu-west-1:123456789012"
    tags = [{"key": "team", "value": "a"}]
    # aws_ecs_cluster: create, wait ACTIVE, read by ARN
    cluster = ecs.create_cluster(
        clusterName="tf", settings=[{"name": "containerInsights", "value": "enabled"}], tags=tags
    )["cluster"]["clusterArn"]
    assert cluster == f"{arn}:cluster/tf"
    include = ["TAGS", "CONFIGURATIONS", "SETTINGS"]
    read = ecs.describe_clusters(clusters=[cluster], include=include)["clusters"][0]
    assert (read["status"], read["tags"], read["settings"][0]["value"]) == (
        "ACTIVE",
        tags,
        "enabled",
    )
    # aws_ecs_task_definition: register with tags inline, read by ARN with its tags
    container = {**HEALTHY, "image": "nginx:1.27"}
    first = ecs.register_task_definition(
        family="tf-web", containerDefinitions=[container], tags=tags
    )["taskDefinition"]["taskDefinitionArn"]
    assert first == f"{arn}:task-definition/tf-web:1"
    read = ecs.describe_task_definition(taskDefinition=first, include=["TAGS"])
    assert (read["taskDefinition"]["status"], read["tags"]) == ("ACTIVE", tags)
    # aws_ecs_service: create by ARNs with a client token, wait ACTIVE and steady
    created = ecs.create_service(
        cluster=cluster, serviceName="web", taskDefinition=first, desiredCount=1,
        clientToken="terraform-0001", schedulingStrategy="REPLICA", tags=tags,
        deploymentController={"type": "ECS"}, propagateTags="SERVICE",
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100},
    )["service"]  # fmt: skip
    service = created["serviceArn"]
    assert service == f"{arn}:service/tf/web"
    _stable_deployment(ecs, cluster, service, created["deployments"][0]["id"])
    svc = ecs.describe_services(cluster=cluster, services=[service], include=["TAGS"])
    svc = svc["services"][0]
    assert svc["taskDefinition"].split("/")[1] == "tf-web:1"
    assert (svc["clusterArn"].split("/")[1], svc["status"], svc["tags"]) == ("tf", "ACTIVE", tags)
    # updates: cluster settings and tags, task definition tags, then a new revision rolled
    ecs.update_cluster(
        cluster=cluster, settings=[{"name": "containerInsights", "value": "disabled"}]
    )
    ecs.tag_resource(resourceArn=cluster, tags=[{"key": "env", "value": "dev"}])
    ecs.untag_resource(resourceArn=cluster, tagKeys=["team"])
    read = ecs.describe_clusters(clusters=[cluster], include=include)["clusters"][0]
    assert (read["settings"][0]["value"], read["tags"]) == (
        "disabled",
        [{"key": "env", "value": "dev"}],
    )
    ecs.tag_resource(resourceArn=first, tags=[{"key": "env", "value": "dev"}])
    read = ecs.describe_task_definition(taskDefinition=first, include=["TAGS"])
    assert read["tags"] == [*tags, {"key": "env", "value": "dev"}]
    ecs.deregister_task_definition(taskDefinition=first)  # a changed definition is replaced
    second = ecs.register_task_definition(
        family="tf-web", containerDefinitions=[{**container, "image": "nginx:1.28"}], tags=tags
    )["taskDefinition"]["taskDefinitionArn"]
    assert second == f"{arn}:task-definition/tf-web:2"
    updated = ecs.update_service(
        cluster=cluster, service=service, taskDefinition=second, desiredCount=2
    )["service"]
    _stable_deployment(ecs, cluster, service, updated["deployments"][0]["id"])
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    assert (svc["taskDefinition"], svc["runningCount"]) == (second, 2)
    # destroy: the service scaled to 0, deleted and polled until INACTIVE (never MISSING)
    ecs.update_service(cluster=cluster, service=service, desiredCount=0)
    ecs.delete_service(cluster=cluster, service=service)

    def inactive() -> bool:
        found = ecs.describe_services(cluster=cluster, services=[service])
        assert not found["failures"], found["failures"]
        return bool(found["services"][0]["status"] == "INACTIVE")

    wait_for(inactive, 60, "the service to be INACTIVE")
    ecs.deregister_task_definition(taskDefinition=second)
    read = ecs.describe_task_definition(taskDefinition=second)["taskDefinition"]
    assert read["status"] == "INACTIVE"
    assert ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE"
    left = ecs.describe_clusters(clusters=[cluster])
    assert [c["status"] for c in left["clusters"]] in ([], ["INACTIVE"])
