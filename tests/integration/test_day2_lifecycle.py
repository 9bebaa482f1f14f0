"""Day-2 edges of a task's and a service's lifecycle through `ecs-operator api` on the
devcluster, with the operator running (tests/unit/ecsapi/test_day2_lifecycle.py has the same
edges on a fake API server)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.integration.test_ecs_api import WEB, _client, _exit_3
from tests.support.ecsapi import ApiProcess, access_key
from tests.support.kube import wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration


def _stop_record(ecs: Any, arn: str) -> tuple[Any, ...] | None:
    [task] = ecs.describe_tasks(tasks=[arn])["tasks"]
    if task["lastStatus"] != "STOPPED":
        return None
    return (task.get("stopCode"), task.get("stoppedReason"), task["containers"][0].get("exitCode"))


def test_stop_task_after_the_task_exited_keeps_why_it_stopped(
    operator: OperatorProcess,
    api: ApiProcess,
    namespace: str,
) -> None:
    """A batch job exits 3; the pipeline's cleanup then stops every task it ran. ECS's StopTask
    "Stops a running task": one STOPPED already keeps its stopCode and stoppedReason. Here
    the task's record becomes the user's stop (UserInitiated, the cleanup's reason)."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**WEB)
    [ran] = ecs.run_task(taskDefinition="web")["tasks"]
    _exit_3(namespace)
    exited = wait_for(lambda: _stop_record(ecs, ran["taskArn"]), 90, "the task STOPPED")
    assert exited == ("EssentialContainerExited", "Essential container in task exited", 3)

    answer = ecs.stop_task(task=ran["taskArn"], reason="pipeline cleanup")["task"]

    time.sleep(10)  # the operator's passes over the Task the stop changed
    assert _stop_record(ecs, ran["taskArn"]) == exited
    assert (answer.get("stopCode"), answer.get("stoppedReason")) == exited[:2]


def test_create_service_of_a_deregistered_revision_is_refused(
    crds: Path,
    api: ApiProcess,
    namespace: str,
) -> None:
    """DeregisterTaskDefinition (botocore's model): "You can't use an INACTIVE task definition
    to ... create new services". ECS refuses (ClientException); here the service is created,
    and its deployment never leaves IN_PROGRESS."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**WEB)
    ecs.register_task_definition(**WEB)
    ecs.deregister_task_definition(taskDefinition="web:1")

    with pytest.raises(ClientError) as refused:
        ecs.create_service(serviceName="web", taskDefinition="web:1", desiredCount=1)

    assert refused.value.response["Error"]["Code"] == "ClientException"


def test_a_service_deleted_then_created_again_under_its_name_runs(
    operator: OperatorProcess,
    api: ApiProcess,
    namespace: str,
) -> None:
    """ECS lets a name be used again once its service is INACTIVE: a pipeline's "delete,
    wait services-inactive, create" (a service's launch type, role or tags can only change
    so). The new service must show the desiredCount asked for and be stable only once its
    task runs. Here, for the half minute until the garbage collector removes the old
    Service's Deployment (kept, scaled to 0, with the tombstone until the name is reused),
    the new Service is a NameConflict showing desiredCount 0 and runningCount 0, one
    deployment: the services-stable waiter returns at once and no task runs."""
    ecs = _client(api, access_key(namespace, "deployer", "AKIADEPLOYER"))
    ecs.register_task_definition(**WEB)
    ecs.create_service(serviceName="web", taskDefinition="web", desiredCount=1)
    wait_for(
        lambda: ecs.describe_services(services=["web"])["services"][0]["runningCount"] == 1,
        90,
        "the first service's task",
    )
    ecs.delete_service(service="web", force=True)
    ecs.get_waiter("services_inactive").wait(
        services=["web"], WaiterConfig={"Delay": 1, "MaxAttempts": 90}
    )

    created = ecs.create_service(serviceName="web", taskDefinition="web", desiredCount=1)

    assert created["service"]["status"] == "ACTIVE"
    time.sleep(5)  # the operator's first passes over the new Service
    shown = ecs.describe_services(services=["web"])["services"][0]
    # ECS's desiredCount is the count asked for; here the old Deployment (scaled to 0, not
    # yet garbage-collected) is a NameConflict and the service shows desiredCount 0, which the
    # services-stable waiter takes for a steady state
    assert (shown["desiredCount"], shown["events"][:1]) == (1, shown["events"][:1])
    ecs.get_waiter("services_stable").wait(
        services=["web"], WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    assert ecs.describe_services(services=["web"])["services"][0]["runningCount"] == 1
    assert len(ecs.list_services()["serviceArns"]) == 1
