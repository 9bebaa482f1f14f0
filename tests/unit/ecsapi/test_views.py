"""What the API adds to the views of kubectl ecs: a new deployment shown at once, tombstones,
access keys read from Secrets, ECS's defaults, spec replacement, service deployments."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ecs_operator.api.identifiers import task_id
from ecs_operator.ecsapi import wire
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.credentials import Credential, from_secret
from ecs_operator.ecsapi.deployments import deployment_summary
from ecs_operator.ecsapi.errors import EcsApiError
from ecs_operator.ecsapi.families import with_ecs_defaults
from ecs_operator.ecsapi.recorded_deployments import DEPLOYMENT, restarted
from ecs_operator.ecsapi.services import services_in, view
from ecs_operator.ecsapi.taskdefinitions import replacement
from ecs_operator.ecsapi.tasks import stop, tasks_in
from ecs_operator.kube.client import ApiError
from ecs_operator.render import keys
from ecs_operator.render.keys import ANNOTATION_SERVICE as SERVICE
from ecs_operator.render.keys import ANNOTATION_TASK_DEFINITION as TASK_DEFINITION
from ecs_operator.status.rollout import deployment_id
from ecs_operator.status.service_tasks import STOPPED_TASKS, stopped_task

CALLER = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", None)  # type: ignore[arg-type]
RECORDED = {"id": "ecs-svc/1234", "taskDefinition": "web:2", "at": "2026-12-03T12:00:00+00:00"}


def _service(status: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "uid": "u1",
            "annotations": annotations,
            "creationTimestamp": "2026-12-03T11:00:00Z",
        },
        "spec": {"serviceName": "web", "taskDefinition": "web:2", "desiredCount": 2},
        "status": status,
    }


OLD = {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "web:1", "runningCount": 2}


def _on_the_wire(answer: dict[str, Any]) -> Any:
    """``answer`` as the caller receives it: ARNs in the region its request was signed for."""
    return wire.to_wire(answer, CALLER.region, CALLER.credential.account)


def test_a_recorded_deployment_is_primary_in_progress_until_the_operator_runs_it() -> None:
    shown = view(CALLER, _service({"deployments": [OLD]}, **{DEPLOYMENT: json.dumps(RECORDED)}))
    primary, older = shown["deployments"]
    assert (primary["id"], primary["status"], primary["rolloutState"]) == (
        "ecs-svc/1234",
        "PRIMARY",
        "IN_PROGRESS",
    )
    assert primary["taskDefinition"].endswith(":task-definition/web:2")
    assert (older["id"], older["status"]) == ("ecs-svc/1", "ACTIVE")
    assert shown["taskDefinition"] == primary["taskDefinition"]


def test_a_service_names_its_current_deployment_and_the_revisions_it_runs() -> None:
    """What a deploy script polls DescribeServiceDeployments with after UpdateService: the
    PRIMARY deployment's service deployment, and each deployment's revision with its counts."""
    shown = _on_the_wire(
        view(CALLER, _service({"deployments": [OLD]}, **{DEPLOYMENT: json.dumps(RECORDED)}))
    )

    arn = "arn:aws:ecs:eu-west-1:123456789012"
    assert shown["currentServiceDeployment"] == f"{arn}:service-deployment/default/web/1234"
    assert shown["currentServiceRevisions"] == [
        {
            "arn": f"{arn}:service-revision/default/web/1234",
            "requestedTaskCount": 2,
            "runningTaskCount": 0,
            "pendingTaskCount": 0,
        },
        {
            "arn": f"{arn}:service-revision/default/web/1",
            "requestedTaskCount": 2,
            "runningTaskCount": 2,
            "pendingTaskCount": 0,
        },
    ]
    summary = _on_the_wire(deployment_summary(CALLER, "default", shown, shown["deployments"][0]))
    assert summary["serviceDeploymentArn"] == shown["currentServiceDeployment"]


def test_once_the_operator_runs_the_target_its_deployment_keeps_the_id_given() -> None:
    running = {**OLD, "id": "ecs-svc/9", "taskDefinition": "web:2", "rolloutState": "COMPLETED"}
    shown = view(CALLER, _service({"deployments": [running]}, **{DEPLOYMENT: json.dumps(RECORDED)}))
    assert [(d["id"], d["rolloutState"]) for d in shown["deployments"]] == [
        ("ecs-svc/1234", "COMPLETED")
    ]


RESTART = {**RECORDED, "restart": "t2"}
ROLLED = {**OLD, "id": "ecs-svc/9", "taskDefinition": "web:2", "rolloutState": "COMPLETED"}


def _pod(stamp: str, service: str = "web") -> dict[str, Any]:
    labels = {"ecs-operator.dev/service": service}
    annotations = {"ecs-operator.dev/force-new-deployment": stamp}
    return {"metadata": {"labels": labels, "annotations": annotations}}


@pytest.mark.parametrize(
    ("pods", "shown"),
    [
        # forceNewDeployment of the revision already running: new deployment until replaced
        ([_pod("t1"), _pod("t2")], [("ecs-svc/1234", "IN_PROGRESS"), ("ecs-svc/9", "COMPLETED")]),
        # every pod of the service runs the new value: the operator's deployment, the id given
        ([_pod("t2"), _pod("t1", service="api")], [("ecs-svc/1234", "COMPLETED")]),
    ],
)
def test_a_forced_deployment_is_in_progress_until_the_tasks_are_replaced(
    pods: list[dict[str, Any]], shown: list[tuple[str, str]]
) -> None:
    body = _service({"deployments": [ROLLED]}, **{DEPLOYMENT: json.dumps(RESTART)})
    deployments = view(CALLER, restarted(body, pods))["deployments"]
    assert [(d["id"], d["rolloutState"]) for d in deployments] == shown


@pytest.mark.parametrize(("running", "status"), [(1, "DRAINING"), (0, "INACTIVE")])
def test_a_deleted_service_drains_then_is_inactive(running: int, status: str) -> None:
    body = _service({"runningCount": running}, **{"ecs-operator.dev/deleted-at": "x"})
    assert view(CALLER, body)["status"] == status


def _secret(**data: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": {"name": "k"}, "data": encoded}


def test_a_secret_names_the_key_its_namespace_and_account() -> None:
    found = from_secret(
        _secret(
            accessKeyId="AKIA1",
            secretAccessKey="s",
            namespace="team",
            serviceAccount="ci",
            region="eu-west-1",
        )
    )
    assert found == Credential("AKIA1", "s", "team", "ci", "123456789012", "eu-west-1")
    assert found.user == "system:serviceaccount:team:ci"


def test_a_secret_without_its_service_account_is_no_key() -> None:
    assert from_secret(_secret(accessKeyId="AKIA1", secretAccessKey="s", namespace="t")) is None


def test_a_described_definition_carries_the_defaults_ecs_fills_in() -> None:
    registered = {
        "family": "web",
        "containerDefinitions": [{"name": "app", "image": "nginx", "portMappings": [{"x": 1}]}],
        "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs"}}],
    }
    described = with_ecs_defaults(registered)
    assert described["networkMode"] == "bridge"
    assert described["placementConstraints"] == []
    assert described["containerDefinitions"] == [
        {
            "name": "app",
            "image": "nginx",
            "cpu": 0,
            "essential": True,
            "portMappings": [{"x": 1}],
            "environment": [],
            "mountPoints": [],
            "volumesFrom": [],
        }
    ]
    assert described["volumes"][0]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs",
        "rootDirectory": "/",
    }


def test_a_replacing_merge_patch_removes_what_the_new_spec_lacks() -> None:
    old = {"family": "web", "cpu": "256", "runtimePlatform": {"os": "LINUX", "arch": "X86_64"}}
    new = {"family": "web", "runtimePlatform": {"os": "LINUX"}}
    assert replacement(old, new) == {
        "cpu": None,
        "family": "web",
        "runtimePlatform": {"arch": None, "os": "LINUX"},
    }


def test_service_deployments_name_their_status_as_ecs_does() -> None:
    shown = {"serviceName": "web", "serviceArn": "arn:aws:ecs:r:1:service/default/web"}
    primary = {"id": "ecs-svc/42", "status": "PRIMARY", "rolloutState": "COMPLETED"}
    summary = _on_the_wire(deployment_summary(CALLER, "default", shown, primary))
    assert summary["serviceDeploymentArn"] == (
        "arn:aws:ecs:eu-west-1:123456789012:service-deployment/default/web/42"
    )
    assert summary["status"] == "SUCCESSFUL"
    in_progress = deployment_summary(
        CALLER, "default", shown, {**primary, "rolloutState": "IN_PROGRESS"}
    )
    assert in_progress["status"] == "IN_PROGRESS"
    assert "finishedAt" not in in_progress


def test_an_update_shows_the_id_the_operator_will_give_its_deployment() -> None:
    """Recorded without an id, the pending deployment is named from the Service's uid, its
    task definition and the deployment it replaces: the operator's id for it, so kubectl ecs
    and the API agree before and after the operator starts it."""
    recorded = {"taskDefinition": "web:2", "at": RECORDED["at"], "replaces": "ecs-svc/1"}
    body = _service({"deployments": [OLD]}, **{DEPLOYMENT: json.dumps(recorded)})
    pending = view(CALLER, body)["deployments"][0]
    assert pending["id"] == deployment_id("u1", "web:2", "ecs-svc/1")
    started = {**OLD, "id": pending["id"], "taskDefinition": "web:2", "rolloutState": "COMPLETED"}
    body = _service({"deployments": [started]}, **{DEPLOYMENT: json.dumps(recorded)})
    assert view(CALLER, body)["deployments"][0]["id"] == pending["id"]


class ServicePods:
    """A KubeClient holding one service with a forced restart pending and its pods; it counts
    the reads of pods."""

    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.service = _service({"deployments": [ROLLED]}, **{DEPLOYMENT: json.dumps(RESTART)})
        self.pods = pods
        self.pod_lists = 0

    async def list(
        self, resource: Any, namespace: str, label_selector: str, fields: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        if resource.plural == "pods":
            self.pod_lists += 1
            yield self.pods
        elif resource.plural == "services":
            yield [self.service]
        else:
            yield []


def _service_pod(name: str, stamp: str) -> dict[str, Any]:
    """A running pod of web:2, created before the restart (at 12:00) or after it."""
    created = "2026-12-03T11:30:00Z" if stamp == "t1" else "2026-12-03T12:30:00Z"
    pod = _pod(stamp)
    pod["metadata"] |= {"name": name, "creationTimestamp": created}
    pod["metadata"]["annotations"][TASK_DEFINITION] = "web:2"
    pod["metadata"]["annotations"][SERVICE] = "web"
    return {**pod, "spec": {"nodeName": "fargate-1"}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("stamps", "started_by"),
    [
        (["t1", "t2"], {"ecs-svc/1234", "ecs-svc/9"}),  # the restart under way
        (["t2", "t2"], {"ecs-svc/1234"}),  # done: the operator's deployment, the id given
    ],
)
def test_the_tasks_of_a_service_being_restarted_cost_one_read_of_its_pods(
    stamps: list[str], started_by: set[str]
) -> None:
    kube = ServicePods([_service_pod(f"web-{i}", s) for i, s in enumerate(stamps)])
    caller = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", kube)  # type: ignore[arg-type]

    found = asyncio.run(tasks_in(caller, "default"))

    assert {f.shown["startedBy"] for f in found} == started_by
    assert kube.pod_lists == 1


def test_a_service_task_whose_pod_went_is_described_stopped_from_its_service() -> None:
    kube = ServicePods([])
    record = stopped_task(_service_pod("web-0", "t2"), [ROLLED], 1796385600.0)
    kube.service["status"][STOPPED_TASKS] = [record]
    caller = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", kube)  # type: ignore[arg-type]

    (found,) = asyncio.run(tasks_in(caller, "default"))

    assert found.gone and found.id == task_id("team", "web-0")
    assert found.shown["taskArn"].endswith(f":task/default/{found.id}")
    assert (found.shown["lastStatus"], found.shown["group"]) == ("STOPPED", "service:web")
    assert found.shown["taskDefinitionArn"].endswith(":task-definition/web:2")
    assert asyncio.run(tasks_in(caller, "default", with_services=False)) == []


class StoppablePods(ServicePods):
    """ServicePods with the default Cluster, whose pod patches are answered ``patch_status``
    (200, or a refusal), and whose deletes are recorded."""

    def __init__(self, pods: list[dict[str, Any]], patch_status: int) -> None:
        super().__init__(pods)
        self.patch_status = patch_status
        self.deleted: list[str] = []

    async def get(self, resource: Any, namespace: str, name: str) -> dict[str, Any] | None:
        return {"metadata": {"name": name}, "spec": {"clusterName": name}}

    async def merge_patch(
        self, resource: Any, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        if self.patch_status != 200:
            raise ApiError(self.patch_status, f"pods {name}: refused", "Refused")
        return {}

    async def delete(
        self, resource: Any, namespace: str, name: str, **_: Any
    ) -> dict[str, Any] | None:
        self.deleted.append(name)
        return None


@pytest.mark.parametrize(
    "patch_status",
    [
        200,
        403,  # a key whose role may delete pods but not patch them (the role before 05138a9)
        404,  # the pod went between StopTask's read of it and its patch
    ],
)
def test_a_service_task_is_stopped_whether_or_not_its_reason_could_be_written(
    patch_status: int,
) -> None:
    kube = StoppablePods([_service_pod("web-0", "t2")], patch_status)
    caller = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", kube)  # type: ignore[arg-type]
    arn = f"arn:aws:ecs:eu-west-1:000000000000:task/default/{task_id('team', 'web-0')}"

    stopped = asyncio.run(stop(caller, {"task": arn, "reason": "debugging a leak"}))["task"]

    assert kube.deleted == ["web-0"]
    assert (stopped["desiredStatus"], stopped["stoppedReason"]) == ("STOPPED", "debugging a leak")


def test_a_service_task_whose_pod_cannot_be_patched_for_another_reason_is_not_stopped() -> None:
    kube = StoppablePods([_service_pod("web-0", "t2")], 500)
    caller = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", kube)  # type: ignore[arg-type]
    arn = f"arn:aws:ecs:eu-west-1:000000000000:task/default/{task_id('team', 'web-0')}"

    with pytest.raises(EcsApiError) as refused:
        asyncio.run(stop(caller, {"task": arn, "reason": "debugging a leak"}))

    assert refused.value.code == "ServerException" and kube.deleted == []


@pytest.mark.parametrize(
    "written",
    ["not json", "[]", json.dumps({"taskDefinition": "web:2"}), json.dumps({**RECORDED, "at": 1})],
)
def test_a_recorded_deployment_written_otherwise_with_kubectl_reads_as_none(written: str) -> None:
    """The API's annotations are the tenant's to write too: one that holds no deployment is no
    deployment, rather than a 500 for every call that reads the service."""
    shown = view(CALLER, _service({"deployments": [OLD]}, **{DEPLOYMENT: written}))

    assert [d["id"] for d in shown["deployments"]] == ["ecs-svc/1"]


def test_a_deleted_service_whose_deletion_time_is_not_a_time_stays_a_tombstone() -> None:
    service = _service(
        {"deployments": [{**OLD, "runningCount": 0}]}, **{keys.ANNOTATION_DELETED_AT: "yesterday"}
    )
    kube = ServicePods([])
    kube.service = {**service, "spec": {**service["spec"], "desiredCount": 0}}
    caller = Caller(Credential("AKIA", "s", "team", "deployer"), "eu-west-1", kube)  # type: ignore[arg-type]

    found = asyncio.run(services_in(caller, "default"))

    assert view(caller, found["web"])["status"] == "INACTIVE"
