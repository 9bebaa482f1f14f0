"""The ECS task metadata endpoint: each container is given its address
(render/task_metadata.py), and what the operator answers there (handlers/task_metadata.py over
status/task_metadata.py) is the task as ECS's agent describes it, read off the pod the Task
reconciler created and the revision it runs. Against the fake API server, through the store."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.sdk.extension.aws.resource.ecs import AwsEcsResourceDetector

from ecs_operator.api.identifiers import task_id
from ecs_operator.ecsapi import tasks as ecs_tasks
from ecs_operator.handlers import service, task, taskdefinition
from ecs_operator.handlers.context import Context, Settings
from ecs_operator.handlers.task_metadata import Throttle, metadata_app
from ecs_operator.kube.resources import POD
from ecs_operator.policy import PRIVILEGED, Policy

from .fakes import Clock, FakeApi, context, deployer
from .test_reconcile_service import DEFAULT_CLUSTER, ecs, web

Json = dict[str, Any]
URL = "http://task-metadata.ecs-operator-system.svc"
IMAGE_ID = "docker.io/library/busybox@sha256:" + "ab" * 32

REPORTS = ecs(
    "TaskDefinition",
    "reports",
    {
        "family": "reports",
        "cpu": "512",
        "memory": "1024",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [
            {
                "name": "app_main",
                "image": "busybox:1.36",
                "cpu": 256,
                "memory": 512,
                "dockerLabels": {"team": "data"},
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/reports"},
                },
                "healthCheck": {"command": ["CMD-SHELL", "true"]},
                # a variable of the task's own is left as it is
                "environment": [{"name": "ECS_CONTAINER_METADATA_URI", "value": "mine"}],
            },
            {"name": "side", "image": "busybox:1.36", "essential": False},
        ],
    },
)
NIGHTLY = ecs("Task", "nightly", {"taskDefinition": "reports", "launchType": "FARGATE"})


def _running(pod: Json) -> None:
    pod["status"] = {
        "phase": "Running",
        "startTime": "2026-12-05T06:00:01Z",
        "podIPs": [{"ip": "10.244.0.7"}],
        "containerStatuses": [
            {
                "name": "app-main",
                "ready": True,
                "containerID": "containerd://0123abcd",
                "imageID": IMAGE_ID,
                "state": {"running": {"startedAt": "2026-12-05T06:00:02Z"}},
            },
            {
                "name": "side",
                "containerID": "containerd://4567ef",
                "state": {
                    "terminated": {
                        "exitCode": 3,
                        "startedAt": "2026-12-05T06:00:02Z",
                        "finishedAt": "2026-12-05T06:00:09Z",
                    }
                },
            },
        ],
    }


async def _started(
    settings: Settings, run: Json = NIGHTLY, revision: Json = REPORTS
) -> tuple[FakeApi, Context]:
    """The Task ``nightly`` (``run``) reconciled into its pod, which then runs."""
    api = FakeApi(DEFAULT_CLUSTER, revision, run)
    ctx = context(api, settings)
    await taskdefinition.reconcile(ctx, "shop", "reports")
    await task.reconcile(ctx, "shop", "nightly")
    pod = copy.deepcopy(api.objects["pods", "shop", "nightly-0"])
    _running(pod)
    ctx.store.put(POD, api.replace(pod))
    return api, ctx


def _env(api: FakeApi, container: str) -> dict[str, Json]:
    pod = api.objects["pods", "shop", "nightly-0"]
    spec = next(c for c in pod["spec"]["containers"] if c["name"] == container)
    return {e["name"]: e for e in spec.get("env") or []}


def _path(api: FakeApi, container: str, variable: str) -> str:
    """The path a container's variable leads to, as the kubelet expands it."""
    pod = api.objects["pods", "shop", "nightly-0"]
    values = {"ECS_OPERATOR_POD_NAMESPACE": "shop", "ECS_OPERATOR_POD_UID": pod["metadata"]["uid"]}
    value = _env(api, container)[variable]["value"]
    assert value.startswith(URL + "/")
    return re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], value[len(URL) :])


async def _get(ctx: Context, path: str) -> tuple[int, Any]:
    [(status, answer)] = await _gets(ctx, [path])
    return status, answer


async def _gets(
    ctx: Context, paths: list[str], throttle: Throttle | None = None
) -> list[tuple[int, Any]]:
    """Each path's status and answer, in turn, from one endpoint."""
    app = metadata_app(ctx.store, ctx.settings, throttle)
    answers = []
    async with TestClient(TestServer(app)) as client:
        for path in paths:
            response = await client.get(path)
            json = response.content_type == "application/json"
            answer = await response.json() if json else await response.text()
            answers.append((response.status, answer))
    return answers


def test_each_container_is_given_the_endpoint_unless_it_sets_the_variable_itself() -> None:
    api, _ = asyncio.run(_started(Settings(task_metadata_url=URL)))
    main, side = _env(api, "app-main"), _env(api, "side")
    assert main["ECS_CONTAINER_METADATA_URI"]["value"] == "mine"
    assert main["ECS_CONTAINER_METADATA_URI_V4"]["value"].endswith("/app_main")
    assert side["ECS_CONTAINER_METADATA_URI"]["value"].startswith(URL + "/v3/")
    assert side["ECS_OPERATOR_POD_UID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.uid"}}


def test_without_an_endpoint_no_container_is_given_one() -> None:
    api, _ = asyncio.run(_started(Settings()))
    assert "ECS_CONTAINER_METADATA_URI_V4" not in _env(api, "side")
    assert list(_env(api, "app-main")) == ["AWS_EXECUTION_ENV", "ECS_CONTAINER_METADATA_URI"]


def test_the_task_as_its_containers_read_it() -> None:
    async def run() -> tuple[int, Any]:
        api, ctx = await _started(Settings(task_metadata_url=URL, account_id="111122223333"))
        return await _get(ctx, _path(api, "side", "ECS_CONTAINER_METADATA_URI_V4") + "/task")

    status, answer = asyncio.run(run())
    assert status == 200
    arn = f"arn:aws:ecs:local:111122223333:task/default/{task_id('shop', 'nightly-0')}"
    main, side = answer.pop("Containers")
    assert answer == {
        "Cluster": "arn:aws:ecs:local:111122223333:cluster/default",  # on Fargate, an ARN
        "TaskARN": arn,  # the ECS API's id of the same task
        "Family": "reports",
        "Revision": "1",
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 0.5, "Memory": 1024},
        "LaunchType": "FARGATE",
    }
    assert main.pop("ContainerARN").startswith(
        f"arn:aws:ecs:local:111122223333:container/default/{task_id('shop', 'nightly-0')}/"
    )
    assert main == {
        "DockerId": "0123abcd",
        "Name": "app_main",
        "DockerName": "app-main",
        "Image": "busybox:1.36",
        "ImageID": "sha256:" + "ab" * 32,
        "Labels": {
            "com.amazonaws.ecs.cluster": "default",
            "com.amazonaws.ecs.container-name": "app_main",
            "com.amazonaws.ecs.task-arn": arn,
            "com.amazonaws.ecs.task-definition-family": "reports",
            "com.amazonaws.ecs.task-definition-version": "1",
            "team": "data",
        },
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 256, "Memory": 512},
        "CreatedAt": main["CreatedAt"],
        "StartedAt": "2026-12-05T06:00:02Z",
        "Type": "NORMAL",
        "LogDriver": "awslogs",
        "LogOptions": {"awslogs-group": "/ecs/reports"},
        "Health": {"status": "HEALTHY"},
        "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.244.0.7"]}],
    }
    assert (side["Name"], side["KnownStatus"], side["ExitCode"]) == ("side", "STOPPED", 3)
    assert side["FinishedAt"] == "2026-12-05T06:00:09Z"
    assert side["Limits"] == {"CPU": 0} and "Health" not in side


def test_a_container_reads_itself_at_its_own_variable() -> None:
    """Version 4's variable, and version 3's (``side`` keeps the task definition's own value of
    that one), which answers the same."""

    async def run() -> list[tuple[int, Any]]:
        api, ctx = await _started(Settings(task_metadata_url=URL))
        v4 = _path(api, "app-main", "ECS_CONTAINER_METADATA_URI_V4")
        v3 = _path(api, "side", "ECS_CONTAINER_METADATA_URI")
        return await _gets(ctx, [v4, v3, v3.replace("/side", "/app_main")])

    (status, answer), (v3_status, side), (_, v3_answer) = asyncio.run(run())
    assert status == v3_status == 200
    assert v3_answer == answer and side["Name"] == "side"
    assert (answer["Name"], answer["DockerId"]) == ("app_main", "0123abcd")
    assert answer["Labels"]["com.amazonaws.ecs.task-arn"].startswith(
        "arn:aws:ecs:local:000000000000:task/default/"
    )


def test_a_pod_or_container_it_does_not_know_is_not_found() -> None:
    async def run() -> list[int]:
        api, ctx = await _started(Settings(task_metadata_url=URL))
        mine = _path(api, "side", "ECS_CONTAINER_METADATA_URI_V4")
        other_namespace = mine.replace("/shop/", "/other/")
        elsewhere = ecs("Pod", "admin", {}, uid="uid-admin")  # a pod the operator did not start
        ctx.store.put(POD, {**elsewhere, "apiVersion": "v1"})
        paths = [
            mine.rsplit("/", 1)[0] + "/nothing",
            other_namespace,
            "/v4/shop/uid-admin/x/task",
            mine + "/stats",
        ]
        return [(await _get(ctx, path))[0] for path in paths]

    assert asyncio.run(run()) == [404, 404, 404, 404]


def test_a_run_tasks_overrides_are_the_sizes_it_shows() -> None:
    overridden = ecs(
        "Task",
        "nightly",
        {
            **NIGHTLY["spec"],
            "overrides": {
                "cpu": "1024",
                "memory": "2048",
                "containerOverrides": [{"name": "app_main", "cpu": 512, "memory": 768}],
            },
        },
    )

    async def run() -> tuple[int, Any]:
        api, ctx = await _started(Settings(task_metadata_url=URL), overridden)
        return await _get(ctx, _path(api, "side", "ECS_CONTAINER_METADATA_URI_V4") + "/task")

    status, answer = asyncio.run(run())
    assert status == 200
    assert answer["Limits"] == {"CPU": 1.0, "Memory": 2048}
    main, side = answer["Containers"]
    assert (main["Limits"], side["Limits"]) == ({"CPU": 512, "Memory": 768}, {"CPU": 0})


def test_a_host_tasks_ports_are_its_hosts() -> None:
    host = ecs(
        "TaskDefinition",
        "reports",
        {
            "family": "reports",
            "networkMode": "host",
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [
                {
                    "name": "app_main",
                    "image": "busybox:1.36",
                    "memory": 64,
                    "portMappings": [{"containerPort": 8080}],
                },
                {"name": "side", "image": "busybox:1.36", "memory": 64, "essential": False},
            ],
        },
    )
    ec2 = ecs("Task", "nightly", {"taskDefinition": "reports", "launchType": "EC2"})

    async def run() -> tuple[int, Any]:
        privileged = Policy(pod_security_ceiling=PRIVILEGED)  # host ports: the admin allows
        api, ctx = await _started(Settings(task_metadata_url=URL, policy=privileged), ec2, host)
        return await _get(ctx, _path(api, "app-main", "ECS_CONTAINER_METADATA_URI_V4") + "/task")

    status, answer = asyncio.run(run())
    assert status == 200
    assert answer["Cluster"] == "default"  # on EC2, the cluster's name
    main, side = answer["Containers"]
    assert main["Ports"] == [
        {"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 8080, "HostIp": "0.0.0.0"}
    ]
    assert "Ports" not in side
    assert main["Networks"] == [{"NetworkMode": "host", "IPv4Addresses": ["10.244.0.7"]}]


def _deployment(api: FakeApi) -> Json:
    [deployment] = [b for (plural, _, _), b in api.objects.items() if plural == "deployments"]
    return deployment


def _replica(api: FakeApi, name: str, template_hash: str = "5d8f") -> Json:
    """A pod of the service's Deployment, as its ReplicaSet makes it from the template: named
    and labelled after the ReplicaSet, which the Deployment controller names after the
    Deployment and the template's hash."""
    deployment = _deployment(api)
    template = copy.deepcopy(deployment["spec"]["template"])
    replica_set = f"{deployment['metadata']['name']}-{template_hash}"
    labels = {**template["metadata"]["labels"], "pod-template-hash": template_hash}
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": replica_set,
             "uid": f"uid-{replica_set}", "controller": True}  # fmt: skip
    metadata = {**template["metadata"], "labels": labels, "ownerReferences": [owner]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**metadata, "name": name, "namespace": "shop"},
        "spec": template["spec"],
    }


def test_a_pod_the_operator_did_not_start_is_not_answered_for_whatever_it_claims() -> None:
    """Anyone who may create pods may label one as the operator's and name a revision in its
    annotations: it must not read that revision (its images, Docker labels, log options)
    through the endpoint. Only a Task's pod, or a pod of a ReplicaSet of a service's own
    Deployment, is a task."""

    async def run() -> list[int]:
        api = FakeApi(DEFAULT_CLUSTER, REPORTS, web(taskDefinition="reports", launchType="FARGATE"))
        ctx = context(api, Settings(task_metadata_url=URL))
        await taskdefinition.reconcile(ctx, "shop", "reports")
        await service.reconcile(ctx, "shop", "web")
        forged = _replica(api, "forged")
        forged["metadata"]["ownerReferences"] = []  # a pod of its own
        elsewhere = _replica(api, "elsewhere")  # a ReplicaSet of another Deployment
        elsewhere["metadata"]["ownerReferences"][0]["name"] = "theirs-5d8f"
        unhashed = _replica(api, "unhashed")  # a ReplicaSet not named after its template
        unhashed["metadata"]["labels"]["pod-template-hash"] = "other"
        real = _replica(api, "real")
        statuses = []
        for pod in (forged, elsewhere, unhashed, real):
            _running(pod)
            uid = api.replace(pod)["metadata"]["uid"]
            ctx.store.put(POD, api.objects["pods", "shop", pod["metadata"]["name"]])
            statuses.append((await _get(ctx, f"/v4/shop/{uid}/side/task"))[0])
        return statuses

    assert asyncio.run(run()) == [404, 404, 404, 200]


def test_a_services_task_names_its_service() -> None:
    """A service's pod, as its ReplicaSet makes it from the Deployment's template."""

    async def run() -> tuple[int, Any]:
        api = FakeApi(DEFAULT_CLUSTER, REPORTS, web(taskDefinition="reports", launchType="FARGATE"))
        ctx = context(api, Settings(task_metadata_url=URL))
        await taskdefinition.reconcile(ctx, "shop", "reports")
        await service.reconcile(ctx, "shop", "web")
        template = _deployment(api)["spec"]["template"]
        pod = _replica(api, "web-5d8f-x2k9q")
        _running(pod)
        ctx.store.put(POD, api.replace(pod))
        container = next(c for c in template["spec"]["containers"] if c["name"] == "side")
        value = next(e["value"] for e in container["env"] if e["name"].endswith("URI_V4"))
        path = value[len(URL) :].replace("$(ECS_OPERATOR_POD_NAMESPACE)", "shop")
        uid = api.objects["pods", "shop", "web-5d8f-x2k9q"]["metadata"]["uid"]
        return await _get(ctx, path.replace("$(ECS_OPERATOR_POD_UID)", uid) + "/task")

    status, answer = asyncio.run(run())
    assert status == 200
    assert answer["ServiceName"] == "web"
    assert answer["TaskARN"].endswith(f"/default/{task_id('shop', 'web-5d8f-x2k9q')}")
    assert (answer["Family"], answer["Revision"]) == ("reports", "1")
    assert answer["KnownStatus"] == "RUNNING"


def test_a_task_polling_in_a_loop_is_throttled_as_the_ecs_agent_throttles_it() -> None:
    """60 at once, then 40 a second, for each task alone."""
    clock = Clock()

    async def run() -> list[int]:
        api, ctx = await _started(Settings(task_metadata_url=URL))
        mine = _path(api, "side", "ECS_CONTAINER_METADATA_URI_V4")
        throttle = Throttle(clock=clock)
        burst = await _gets(ctx, [mine] * 61, throttle)
        clock.now += 0.125  # five more
        later = await _gets(ctx, [mine] * 6, throttle)
        return [status for status, _ in burst + later]

    statuses = asyncio.run(run())
    assert statuses == [200] * 60 + [429] + [200] * 5 + [429]


def test_a_containers_arn_is_the_one_describe_tasks_shows() -> None:
    """The ECS API's describe-tasks and the endpoint name each container alike: under the
    same task id, the same UUID (the ARNs' region and account are each one's own)."""

    async def run() -> tuple[Any, Json]:
        api, ctx = await _started(Settings(task_metadata_url=URL))
        _, answer = await _get(ctx, _path(api, "side", "ECS_CONTAINER_METADATA_URI_V4") + "/task")
        wanted = {"cluster": "default", "tasks": [task_id("shop", "nightly-0")]}
        return answer, await ecs_tasks.describe(deployer(api), wanted)

    answer, described = asyncio.run(run())
    [task] = described["tasks"]
    shown = {c["name"]: c["containerArn"].split(":container/")[1] for c in task["containers"]}
    read = {c["Name"]: c["ContainerARN"].split(":container/")[1] for c in answer["Containers"]}
    assert read == shown and len(read) == 2


def test_opentelemetrys_ecs_resource_detector_reads_the_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real consumer: the OpenTelemetry AWS extension's ``AwsEcsResourceDetector`` (what an
    instrumented Python application runs at startup) reads the container and its task from the
    variable, and needs ``ContainerARN`` and ``LaunchType`` (without either it gives nothing)."""
    detector = AwsEcsResourceDetector(raise_on_error=True)

    async def run() -> dict[str, Any]:
        api, ctx = await _started(Settings(task_metadata_url=URL, account_id="111122223333"))
        path = _path(api, "app-main", "ECS_CONTAINER_METADATA_URI_V4")
        async with TestServer(metadata_app(ctx.store, ctx.settings)) as server:
            monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", str(server.make_url(path)))
            resource = await asyncio.get_running_loop().run_in_executor(None, detector.detect)
        return dict(resource.attributes)

    found = asyncio.run(run())
    task = f"arn:aws:ecs:local:111122223333:task/default/{task_id('shop', 'nightly-0')}"
    assert found["cloud.platform"] == "aws_ecs"
    assert found["aws.ecs.task.arn"] == task
    assert found["aws.ecs.cluster.arn"] == "arn:aws:ecs:local:111122223333:cluster/default"
    assert (found["aws.ecs.task.family"], found["aws.ecs.task.revision"]) == ("reports", "1")
    assert found["aws.ecs.launchtype"] == "fargate"
    assert str(found["aws.ecs.container.arn"]).startswith(task.replace(":task/", ":container/"))
    assert list(found["aws.log.group.names"]) == ["/ecs/reports"]
