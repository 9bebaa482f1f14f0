"""`ecs-operator api` on the devcluster, with the operator running: the aws CLI's workflows
unchanged, and authentication and RBAC refusals that change nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.session import get_session
from tests.support import ecs_answers
from tests.support.ecsapi import AccessKey, ApiProcess, AwsCli, access_key
from tests.support.gosdk import GoSdkEcs, GoSdkError
from tests.support.jssdk import node_modules
from tests.support.kube import kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator.policy import ANNOTATION_POD_SECURITY_CEILING

pytestmark = pytest.mark.integration


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


@pytest.fixture
def aws(api: ApiProcess, namespace: str, tmp_path: Path) -> Iterator[AwsCli]:
    """The aws CLI with a deploying key of the test's namespace, pointed at the API."""
    key = access_key(namespace, "deployer", "AKIADEPLOYER")
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**key.env(api.endpoint), "PATH": path}
    env["AWS_DATA_PATH"] = str(quick_waiters(tmp_path / "models"))
    cli = AwsCli({**os.environ, **env})
    try:
        yield cli
    finally:
        cli.close()


ARN = "arn:aws:ecs:eu-west-1:123456789012"
#: a health check makes a task count once healthy, not 40 s after it starts as ECS counts
#: without one (render/workloads.py's minReadySeconds, unit-tested)
WEB = {
    "family": "web",
    "networkMode": "bridge",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "nginx:1.27",
            "memory": 128,
            "portMappings": [{"containerPort": 80}],
            "healthCheck": {"command": ["CMD-SHELL", "true"], "retries": 1},
        }
    ],
}


def _exit_3(namespace: str) -> None:
    """Once the standalone task's pod is there, make it exit with code 3 after 100 ms: kwok
    plays the kubelet, so a simulation annotation says what a real container would do."""
    selector = ("-n", namespace, "-l", "ecs-operator.dev/task")
    wait_for(lambda: kubectl("get", "pods", *selector, "-o", "name").stdout, 60, "the task's pod")
    kubectl(
        "annotate", "pods", *selector,
        "sim.ecs-operator.dev/exit-code=3", "sim.ecs-operator.dev/run-ms=100",
    )  # fmt: skip


def test_the_aws_cli_deploys_rolls_runs_and_deletes(
    operator: OperatorProcess, aws: AwsCli, namespace: str, tmp_path: Path
) -> None:
    """The aws CLI's deploy and batch workflows, unchanged (issue #16)."""
    # (a) deploy: register from --cli-input-json, create, wait, roll to a new revision, wait
    web = tmp_path / "web.json"
    web.write_text(json.dumps(WEB))
    first = aws(
        "register-task-definition", "--cli-input-json", f"file://{web}",
        "--query", "taskDefinition.taskDefinitionArn", "--output", "text",
    )  # fmt: skip
    assert first == f"{ARN}:task-definition/web:1"
    aws(
        "create-service", "--service-name", "web", "--task-definition", "web",
        "--desired-count", "2",
    )  # fmt: skip
    aws("wait", "services-stable", "--services", "web")
    web.write_text(web.read_text().replace("nginx:1.27", "nginx:1.28"))
    second = aws(
        "register-task-definition", "--cli-input-json", f"file://{web}",
        "--query", "taskDefinition.taskDefinitionArn", "--output", "text",
    )  # fmt: skip
    assert second == f"{ARN}:task-definition/web:2"
    # a deploy script's "latest revision": DESC sorts the whole list, then pages
    latest = aws(
        "list-task-definitions", "--family-prefix", "web", "--sort", "DESC",
        "--max-results", "1", "--no-paginate", "--query", "taskDefinitionArns", "--output", "text",
    )  # fmt: skip
    assert latest == second
    # the deploy Action always sends volumeConfigurations: [] (the answer shows the new
    # deployment IN_PROGRESS: the waiter, which polls before it sleeps, must not find the
    # service steady on the old one; with a health check the rollout itself may be over
    # before a second CLI call could look)
    deployment, *rollout = aws(
        "update-service", "--service", "web", "--task-definition", second,
        "--volume-configurations", "[]", "--output", "text",
        "--query", "service.deployments[0].[id,status,rolloutState]",
    ).split("\t")  # fmt: skip
    assert rollout == ["PRIMARY", "IN_PROGRESS"]
    aws("wait", "services-stable", "--services", "web")
    # --force-new-deployment: a new deployment of the same revision, its tasks replaced (the
    # rolled deployment keeps its id through the waiter: here it is the one replaced)
    forced = aws(
        "update-service", "--service", "web", "--force-new-deployment", "--output", "text",
        "--query", "service.deployments[*].[id,status,rolloutState]",
    ).splitlines()  # fmt: skip
    new, old = (row.split("\t") for row in forced)
    assert new[1:] == ["PRIMARY", "IN_PROGRESS"] and old[:2] == [deployment, "ACTIVE"], forced
    aws("wait", "services-stable", "--services", "web")
    state = aws(
        "describe-services", "--services", "web", "--output", "text",
        "--query",
        "services[0].[taskDefinition,runningCount,length(deployments),status,deployments[0].id]",
    )  # fmt: skip
    assert state == f"{second}\t2\t1\tACTIVE\t{new[0]}"  # forced, the same revision
    tasks = aws("list-tasks", "--service-name", "web", "--query", "taskArns", "--output", "text")
    described = aws(
        "describe-tasks", "--tasks", *tasks.split(), "--output", "text",
        "--query", "tasks[*].[group,lastStatus,taskDefinitionArn,cpu,startedBy]",
    )  # fmt: skip
    # WEB registers no task-level size (ECS then shows none); each task was started by the
    # forced deployment, and is listed by its id
    assert described.splitlines() == [f"service:web\tRUNNING\t{second}\tNone\t{new[0]}"] * 2
    started = aws("list-tasks", "--started-by", new[0], "--query", "taskArns", "--output", "text")
    assert sorted(started.split()) == sorted(tasks.split())

    # (b) batch: run a task, wait until it stops, read its exit code. kwok plays the kubelet, so
    # the task's pod is told to exit with code 3 (a simulation annotation) where a real
    # container would just end.
    aws(
        "register-task-definition", "--family", "job", "--cpu", "256", "--memory", "512",
        "--container-definitions", '[{"name":"main","image":"busybox","memory":64}]',
    )  # fmt: skip
    task = aws(
        "run-task", "--task-definition", "job", "--query", "tasks[0].taskArn", "--output", "text"
    )
    assert re.fullmatch(rf"{ARN}:task/default/[0-9a-f]{{32}}", task), task
    listed = aws("list-tasks", "--family", "job", "--query", "taskArns[0]", "--output", "text")
    assert listed == task  # listed while running
    _exit_3(namespace)
    aws("wait", "tasks-stopped", "--tasks", task)
    stopped = aws(
        "describe-tasks", "--tasks", task, "--output", "text",
        "--query",
        "tasks[0].[lastStatus,stopCode,containers[0].exitCode,cpu,memory,launchType]",
    )  # fmt: skip
    # run with neither a launch type nor a strategy (the default cluster has none): EC2
    assert stopped == "STOPPED\tEssentialContainerExited\t3\t256\t512\tEC2"
    # a running task stopped with a reason shows it once stopped, as ECS does; of two that one
    # RunTask started, the other runs on (ECS stops each task alone)
    task, other = aws(
        "run-task", "--task-definition", "job", "--count", "2",
        "--query", "tasks[*].taskArn", "--output", "text",
    ).split()  # fmt: skip
    aws("wait", "tasks-running", "--tasks", task, other)
    aws("stop-task", "--task", task, "--reason", "cancelled by the pipeline")
    aws("wait", "tasks-stopped", "--tasks", task)
    stopped = aws(
        "describe-tasks", "--tasks", task, other, "--output", "text",
        "--query", "tasks[*].[taskArn,lastStatus,stopCode,stoppedReason]",
    )  # fmt: skip
    assert sorted(stopped.splitlines()) == sorted(
        [
            f"{task}\tSTOPPED\tUserInitiated\tcancelled by the pipeline",
            f"{other}\tRUNNING\tNone\tNone",
        ]
    )
    # an image that cannot be pulled (kwok plays a kubelet backing off pulling a ":pull-error"
    # image for good): once the kubelet's retries had their time, the task stops as ECS stops
    # it, where Kubernetes alone would leave it pending and the waiter would time out
    image = "registry.invalid/app:pull-error"
    aws(
        "register-task-definition", "--family", "typo",
        "--container-definitions", json.dumps([{"name": "main", "image": image, "memory": 64}]),
    )  # fmt: skip
    task = aws(
        "run-task", "--task-definition", "typo", "--query", "tasks[0].taskArn", "--output", "text"
    )
    aws("wait", "tasks-stopped", "--tasks", task)
    stopped = aws(
        "describe-tasks", "--tasks", task, "--output", "text",
        "--query", "tasks[0].[lastStatus,stopCode,stoppedReason,containers[0].reason]",
    )  # fmt: skip
    reason = f'CannotPullContainerError: Back-off pulling image "{image}"'
    assert stopped == f"STOPPED\tTaskFailedToStart\t{reason}\t{reason}"

    # scale to 0: the service's tasks stop, and stay describable STOPPED (their pods are gone)
    aws("update-service", "--service", "web", "--desired-count", "0")
    listing = ("list-tasks", "--service-name", "web", "--desired-status", "STOPPED")

    def all_stopped() -> bool:
        listed = aws(*listing, "--query", "taskArns", "--output", "text").split()
        return set(tasks.split()) <= set(listed)

    wait_for(all_stopped, 30, "the service's tasks listed STOPPED")
    gone = aws(
        "describe-tasks", "--tasks", *tasks.split(), "--output", "text",
        "--query", "tasks[*].[group,lastStatus,stopCode,stoppedReason,startedBy]",
    )  # fmt: skip
    for line in gone.splitlines():
        group, last, code, reason, by = line.split("\t")
        assert (group, last, code) == ("service:web", "STOPPED", "ServiceSchedulerInitiated")
        assert reason.startswith("Scaling activity initiated by (deployment ecs-svc/"), reason
        assert by.startswith("ecs-svc/"), by  # (the operator's id: a forced one is the API's)
    assert len(gone.splitlines()) == 2
    # delete: DRAINING, then INACTIVE and still describable
    assert aws(
        "delete-service", "--service", "web", "--query", "service.status", "--output", "text"
    ) == "DRAINING"  # fmt: skip
    wait_for(
        lambda: aws(
            "describe-services", "--services", "web",
            "--query", "services[0].status", "--output", "text",
        ) == "INACTIVE",
        30,
        "the deleted service INACTIVE",
    )  # fmt: skip
    assert aws("list-services", "--query", "length(serviceArns)") == "0"


def _client(api: ApiProcess, key: AccessKey, secret: str | None = None):  # type: ignore[no-untyped-def]
    """A botocore ECS client of ``key``; every answer it gets must be one ECS could send."""
    client = get_session().create_client(
        "ecs",
        region_name="eu-west-1",
        endpoint_url=api.endpoint,
        aws_access_key_id=key.key,
        aws_secret_access_key=secret or key.secret,
    )
    client.meta.events.register("before-parse.ecs", ecs_answers.check)
    return client


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
    counted = api.requests()

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
    # the API's metrics count each refusal by operation and code (docs/metrics.md)
    assert api.requests() - counted == {
        ("RegisterTaskDefinition", "InvalidSignatureException"): 1,
        ("RegisterTaskDefinition", "UnrecognizedClientException"): 1,
        ("RegisterTaskDefinition", "AccessDeniedException"): 1,
        ("DescribeTaskDefinition", "ClientException"): 1,
        ("DeleteCluster", "ClusterNotFoundException"): 1,
    }


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


#: a definition using most member types ECS answers with (nested lists, maps, enums,
#: numbers, booleans), so the Go SDK deserializes a rich describe-task-definition answer
GO_WEB = {
    "family": "go-web",
    "networkMode": "bridge",
    "cpu": "256",
    "memory": "512",
    "tags": [{"key": "tool", "value": "ecspresso"}],
    "containerDefinitions": [
        {
            **HEALTHY,
            "cpu": 128,
            "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp", "name": "http"}],
            "environment": [{"name": "MODE", "value": "web"}],
            "dockerLabels": {"team": "a"},
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "web"}},
            "linuxParameters": {"initProcessEnabled": True},
            "stopTimeout": 10,
        }
    ],
}


def test_go_deploy_tools_deploy_and_run_with_the_go_sdks_waiters(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """What ecspresso, canarycage and the Go deploy tools do, through the AWS SDK for Go v2:
    register, create, the SDK's own ServicesStable waiter, a new revision rolled and waited
    for, a task run and the SDK's TasksStopped waiter, its exit code read; every answer
    deserialized by the Go SDK, which refuses a member of the wrong type; ECS's error codes
    as the Go SDK parses them."""
    ecs = GoSdkEcs(api.endpoint, access_key(namespace, "deployer", "AKIADEPLOYER"))
    try:
        first = ecs.register_task_definition(**GO_WEB)["taskDefinition"]
        assert (first["revision"], first["status"], first["cpu"]) == (1, "ACTIVE", "256")
        assert first["containerDefinitions"][0]["ulimits"][0]["hardLimit"] == 4096
        ecs.create_service(serviceName="go-web", taskDefinition="go-web", desiredCount=2)
        ecs.wait("ServicesStable", 120, services=["go-web"])
        read = ecs.describe_task_definition(taskDefinition="go-web", include=["TAGS"])
        assert read["tags"] == GO_WEB["tags"]
        image = {**GO_WEB["containerDefinitions"][0], "image": "nginx:1.29"}  # type: ignore[dict-item]
        second = ecs.register_task_definition(**{**GO_WEB, "containerDefinitions": [image]})
        second_arn = second["taskDefinition"]["taskDefinitionArn"]
        updated = ecs.update_service(
            service="go-web", taskDefinition=second_arn, forceNewDeployment=True
        )["service"]
        assert updated["deployments"][0]["status"] == "PRIMARY"
        ecs.wait("ServicesStable", 120, services=["go-web"])
        svc = ecs.describe_services(services=["go-web"], include=["TAGS"])["services"][0]
        assert (svc["taskDefinition"], svc["runningCount"], len(svc["deployments"])) == (
            second_arn,
            2,
            1,
        )
        listed = ecs.list_service_deployments(service="go-web")["serviceDeployments"]
        found = ecs.describe_service_deployments(
            serviceDeploymentArns=[d["serviceDeploymentArn"] for d in listed]
        )["serviceDeployments"]
        assert {d["status"] for d in found} <= {"SUCCESSFUL", "STOPPED"}, found
        tasks = ecs.list_tasks(serviceName="go-web")["taskArns"]
        described = ecs.describe_tasks(tasks=tasks)["tasks"]
        assert [t["lastStatus"] for t in described] == ["RUNNING", "RUNNING"]
        assert all(t["startedAt"] >= first["registeredAt"] for t in described)
        # a one-off task (ecspresso run): the SDK's TasksStopped waiter, then its exit code
        ecs.register_task_definition(
            family="go-job",
            containerDefinitions=[{"name": "main", "image": "busybox", "memory": 64}],
        )
        task = ecs.run_task(taskDefinition="go-job")["tasks"][0]["taskArn"]
        _exit_3(namespace)
        ecs.wait("TasksStopped", 120, tasks=[task])
        stopped = ecs.describe_tasks(tasks=[task])["tasks"][0]
        assert (stopped["stopCode"], stopped["containers"][0]["exitCode"]) == (
            "EssentialContainerExited",
            3,
        )
        every = ["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"]

        def counted() -> bool:  # the cluster's counts refresh a few seconds after a change
            (cluster,) = ecs.describe_clusters(include=every)["clusters"]
            return bool(cluster["status"] == "ACTIVE" and cluster["activeServicesCount"] == 1)

        wait_for(counted, 60, "the default cluster to count the service")
        # ECS's error codes as the Go SDK reads them (the type a caller's errors.As matches)
        with pytest.raises(GoSdkError) as missing:
            ecs.describe_task_definition(taskDefinition="nothing-here")
        assert missing.value.code == "ClientException"
        with pytest.raises(GoSdkError) as missing:
            ecs.delete_service(cluster="nothing-here", service="go-web")
        assert missing.value.code == "ClusterNotFoundException"
        # teardown as ecspresso delete does it: scale to 0, delete, INACTIVE
        ecs.update_service(service="go-web", desiredCount=0)
        ecs.delete_service(service="go-web")
        gone = ecs.describe_services(services=["go-web"])["services"][0]
        assert gone["status"] in ("DRAINING", "INACTIVE")
    finally:
        ecs.close()


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


@pytest.fixture(params=["botocore", "go-sdk"])
def terraform(request: pytest.FixtureRequest, api: ApiProcess, namespace: str) -> Iterator[Any]:
    """The client Terraform's call sequences go through: botocore, and the AWS SDK for Go v2,
    the one terraform-provider-aws itself calls ECS with."""
    key = access_key(namespace, "terraform", "AKIATERRAFORM")
    if request.param == "botocore":
        yield _client(api, key)
        return
    go = GoSdkEcs(api.endpoint, key)
    try:
        yield go
    finally:
        go.close()


def test_terraforms_call_sequences_create_read_update_delete(
    operator: OperatorProcess, terraform: Any, namespace: str
) -> None:
    """aws_ecs_cluster, aws_ecs_task_definition and aws_ecs_service as terraform-provider-aws
    calls ECS (docs/ecs-api.md, "Terraform"): resources are addressed by the full ARNs the
    create calls answered, and every ARN the provider splits on ``/`` splits as in ECS."""
    ecs = terraform
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
    assert svc["launchType"] == "EC2"  # ECS's default: the request named no capacity
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
    assert (updated["desiredCount"], updated["deployments"][0]["desiredCount"]) == (2, 2)
    _stable_deployment(ecs, cluster, service, updated["deployments"][0]["id"])
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    assert (svc["taskDefinition"], svc["runningCount"]) == (second, 2)
    # a deploy script's wait: the update's currentServiceDeployment, described, succeeded
    current = updated["currentServiceDeployment"]
    assert svc["currentServiceDeployment"] == current
    found = ecs.describe_service_deployments(serviceDeploymentArns=[current])
    assert found["serviceDeployments"][0]["status"] == "SUCCESSFUL"
    # destroy: the service scaled to 0, deleted and polled until INACTIVE (never MISSING)
    scaled = ecs.update_service(cluster=cluster, service=service, desiredCount=0)
    assert scaled["service"]["desiredCount"] == 0  # Terraform reads it back at once
    ecs.delete_service(cluster=cluster, service=service)

    def inactive() -> bool:
        found = ecs.describe_services(cluster=cluster, services=[service])
        assert not found["failures"], found["failures"]
        return bool(found["services"][0]["status"] == "INACTIVE")

    wait_for(inactive, 60, "the service to be INACTIVE")
    ecs.deregister_task_definition(taskDefinition=second)
    read = ecs.describe_task_definition(taskDefinition=second)["taskDefinition"]
    assert read["status"] == "INACTIVE"
    # the deregistered revisions as Terraform leaves them, written as a range
    annotations = "jsonpath={.metadata.annotations}"
    written = kubectl("get", "taskdefinition", "tf-web", "-n", namespace, "-o", annotations)
    assert json.loads(written.stdout)["ecs-operator.dev/deregistered-revisions"] == "1-2"
    assert ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE"
    left = ecs.describe_clusters(clusters=[cluster])
    assert [c["status"] for c in left["clusters"]] in ([], ["INACTIVE"])


def test_a_service_keeps_the_default_strategy_its_cluster_had_at_its_creation(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """CreateService without a launch type or strategy takes the cluster's default strategy,
    shows it at once, and keeps it when the cluster's default changes, as in ECS."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    pools = ["general", "compute"]
    first, then = ({"capacityProvider": p, "weight": 1, "base": 0} for p in pools)
    ecs.create_cluster(
        clusterName="pools", capacityProviders=pools, defaultCapacityProviderStrategy=[first]
    )
    ecs.register_task_definition(**WEB)
    created = ecs.create_service(
        cluster="pools", serviceName="web", taskDefinition="web", desiredCount=0
    )
    assert created["service"]["capacityProviderStrategy"] == [first]
    assert created["service"]["deployments"][0]["capacityProviderStrategy"] == [first]
    ecs.put_cluster_capacity_providers(
        cluster="pools", capacityProviders=pools, defaultCapacityProviderStrategy=[then]
    )
    described = ecs.describe_services(cluster="pools", services=["web"])["services"][0]
    assert described["capacityProviderStrategy"] == [first]


def test_a_family_deleted_and_registered_again_at_once_gets_its_revision_1(
    crds: Path, api: ApiProcess, namespace: str
) -> None:
    """A deleted TaskDefinition's revisions go a moment later (the garbage collector's);
    a registration under the same name meanwhile waits for the name of its revision 1 to be
    free rather than failing (moto's suite registers the previous test's family at once)."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    going = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": "web-1",
            "labels": {"app.kubernetes.io/managed-by": "ecs-operator"},
            "finalizers": ["ecs-operator.dev/test-hold"],  # on its way out until released
            "ownerReferences": [
                {
                    "apiVersion": "ecs-operator.dev/v1alpha1",
                    "kind": "TaskDefinition",
                    "name": "web",
                    "uid": "00000000-0000-0000-0000-00000000dead",  # deleted
                    "controller": True,
                }
            ],
        },
        "revision": 1,
        "data": {"spec": {}},
    }
    kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(going))
    kubectl("delete", "controllerrevision", "web-1", "-n", namespace, "--wait=false")
    release = ["patch", "controllerrevision", "web-1", "-n", namespace, "--type=merge", "-p"]
    releasing = threading.Timer(2.0, kubectl, [*release, '{"metadata":{"finalizers":null}}'])
    releasing.start()
    try:
        registered = ecs.register_task_definition(
            family="web", containerDefinitions=[{"name": "a", "image": "x", "memory": 8}]
        )["taskDefinition"]
    finally:
        releasing.join()
    assert registered["revision"] == 1


def test_parallel_pipelines_registering_one_family_each_get_a_revision(
    crds: Path, api: ApiProcess, namespace: str
) -> None:
    """Eight pipelines register a new image of the same family at once, the family's first
    registration among them: each gets a revision of its own, as ECS numbers them, or ECS's
    own refusal of concurrent registrations (which the API answers only when every retry of
    the request lost), never another error."""
    key = access_key(namespace, "deployer", "AKIADEPLOYER")
    clients = [_client(api, key) for _ in range(8)]

    def register(i: int) -> int | tuple[str, str]:
        container = {"name": "a", "image": f"nginx:1.{i}", "memory": 8}
        try:
            found = clients[i].register_task_definition(
                family="shared", containerDefinitions=[container]
            )
        except ClientError as error:
            return error.response["Error"]["Code"], error.response["Error"]["Message"]
        return int(found["taskDefinition"]["revision"])

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(register, range(len(clients))))

    revisions = sorted(a for a in answers if isinstance(a, int))
    refused = [a for a in answers if not isinstance(a, int)]
    assert revisions == list(range(1, len(revisions) + 1)) and revisions, answers
    too_many = "Too many concurrent attempts to create a new revision of the specified family."
    assert all(r == ("ClientException", too_many) for r in refused), refused
    listed = clients[0].list_task_definitions(familyPrefix="shared")["taskDefinitionArns"]
    assert len(listed) == len(revisions)


def _objects(kind: str, namespace: str) -> list[str]:
    listed = kubectl("get", kind, "-n", namespace, "-o", "name").stdout
    return sorted(listed.split())


def test_a_run_task_retried_with_its_client_token_starts_no_second_task(
    crds: Path, api: ApiProcess, namespace: str
) -> None:
    """The SDKs draw a client token for every RunTask and send it again when they retry a call
    whose answer they lost: the retry answers the tasks the first call started and starts no
    more. The same token with other parameters is ECS's ConflictException; another token (in
    effect, another call) runs tasks of its own."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**WEB)
    first = ecs.run_task(taskDefinition="web", count=2, clientToken="nightly-0001")["tasks"]

    again = ecs.run_task(taskDefinition="web", count=2, clientToken="nightly-0001")["tasks"]

    assert sorted(t["taskArn"] for t in again) == sorted(t["taskArn"] for t in first)
    assert len(_objects("tasks.ecs-operator.dev", namespace)) == 1
    with pytest.raises(ClientError) as conflict:
        ecs.run_task(taskDefinition="web", count=1, clientToken="nightly-0001")
    assert conflict.value.response["Error"]["Code"] == "ConflictException"
    assert sorted(conflict.value.response["resourceIds"]) == sorted(t["taskArn"] for t in first)
    ecs.run_task(taskDefinition="web", count=2, clientToken="nightly-0002")
    assert len(_objects("tasks.ecs-operator.dev", namespace)) == 2


def test_a_create_service_retried_with_its_client_token_answers_the_service_it_created(
    crds: Path, api: ApiProcess, namespace: str
) -> None:
    """Terraform sends CreateService with a client token and sends it again on a retry: the
    retry answers the service the first call created. The same name with another token, or
    the same token with other parameters, is ECS's "not idempotent" refusal."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**WEB)
    request = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 0}
    first = ecs.create_service(**request, clientToken="terraform-0001")["service"]

    again = ecs.create_service(**request, clientToken="terraform-0001")["service"]

    assert (again["serviceArn"], again["createdAt"]) == (first["serviceArn"], first["createdAt"])
    refusal = ("InvalidParameterException", 400)
    assert _code(lambda: ecs.create_service(**request, clientToken="terraform-0002")) == refusal
    changed = {**request, "desiredCount": 1}
    assert _code(lambda: ecs.create_service(**changed, clientToken="terraform-0001")) == refusal
    assert _code(lambda: ecs.create_service(**request)) == refusal
    assert len(_objects("services.ecs-operator.dev", namespace)) == 1


def test_a_service_task_stopped_with_a_reason_is_recorded_as_its_users_stop(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """StopTask of a service's task, with a reason: the service starts another, and the
    stopped one reads UserInitiated with the reason, as on ECS (not as its scheduler's)."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**WEB)
    ecs.create_service(serviceName="web", taskDefinition="web", desiredCount=1)
    wait_for(lambda: ecs.list_tasks(serviceName="web")["taskArns"], 60, "the service's task")
    task = ecs.list_tasks(serviceName="web")["taskArns"][0]

    ecs.stop_task(task=task, reason="debugging a leak")

    def stopped() -> list[str] | None:
        found = ecs.describe_tasks(tasks=[task])["tasks"]
        shown = found[0] if found else {}
        if shown.get("lastStatus") != "STOPPED":
            return None
        return [shown["stopCode"], shown["stoppedReason"]]

    assert wait_for(stopped, 60, "the task STOPPED") == ["UserInitiated", "debugging a leak"]
    wait_for(
        lambda: [t for t in ecs.list_tasks(serviceName="web")["taskArns"] if t != task],
        60,
        "the service's new task",
    )


def test_a_script_finds_an_awsvpc_tasks_address_where_ecs_shows_it(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """Scripts reach an awsvpc task at the private address of its network interface
    (`describe-tasks`: the attachment's `privateIPv4Address`, or the container's network
    interface): here its pod's IP. They see what it runs as well (image, digest, runtime id),
    and the Availability Zone it runs in: its node's."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**{**WEB, "family": "api", "networkMode": "awsvpc"})
    network = {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"]}}
    task = ecs.run_task(taskDefinition="api", networkConfiguration=network)["tasks"][0]["taskArn"]

    def running() -> dict | None:  # type: ignore[type-arg]
        [shown] = ecs.describe_tasks(tasks=[task])["tasks"]
        return shown if shown["lastStatus"] == "RUNNING" and shown.get("attachments") else None

    shown = wait_for(running, 60, "the task RUNNING with its interface")
    [attachment] = shown["attachments"]
    address = {d["name"]: d["value"] for d in attachment["details"]}["privateIPv4Address"]
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
    [pod] = [pod for pod in pods if pod["status"].get("podIP") == address]
    node = json.loads(kubectl("get", "node", pod["spec"]["nodeName"], "-o", "json").stdout)
    assert shown["availabilityZone"] == node["metadata"]["labels"]["topology.kubernetes.io/zone"]
    [container] = shown["containers"]
    assert container["networkInterfaces"][0]["privateIpv4Address"] == address
    assert container["image"] == "nginx:1.27"


def test_a_task_the_admin_does_not_allow_stops_and_the_waiter_returns_with_why(
    operator: OperatorProcess, api: ApiProcess, namespace: str
) -> None:
    """RunTask of a privileged task where the namespace's Pod Security ceiling is baseline:
    the operator refuses to start it, and the task reads STOPPED, TaskFailedToStart with the
    refusal, as ECS stops a task that cannot start; the tasks-stopped waiter returns on it
    (it waited out its 10 minutes on a PROVISIONING task before)."""
    kubectl("annotate", "namespace", namespace, f"{ANNOTATION_POD_SECURITY_CEILING}=baseline")
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    [container] = WEB["containerDefinitions"]
    ecs.register_task_definition(
        **{**WEB, "containerDefinitions": [{**container, "privileged": True}]}
    )
    [task] = ecs.run_task(taskDefinition="web")["tasks"]

    ecs.get_waiter("tasks_stopped").wait(
        tasks=[task["taskArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )

    [stopped] = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"]
    assert (stopped["stopCode"], stopped["desiredStatus"]) == ("TaskFailedToStart", "STOPPED")
    assert "privileged" in stopped["stoppedReason"], stopped["stoppedReason"]
    assert [c["lastStatus"] for c in stopped["containers"]] == ["STOPPED"]
