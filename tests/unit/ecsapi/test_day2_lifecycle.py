"""Day-2 edges of a service's and a task's lifecycle through the ECS API, on a fake API server
(the reconcilers run over it with ``reconciled``): what a pipeline scripts against once the
first migration is done. Each test states what ECS answers, from botocore's ECS model
(the operation's or member's documentation) or /work/shared/reference/ecs-api.md."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.unit.fakes import FakeApi, deployer, reconciled

from ecs_operator.ecsapi import clusters, services, taskdefinitions, tasks
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.errors import EcsApiError

Body = dict[str, Any]
WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}


def _deployer() -> tuple[FakeApi, Caller]:
    api = FakeApi(now=time.time())
    return api, deployer(api)


def _stop_record(task: Body) -> tuple[Any, ...]:
    return (task["lastStatus"], task.get("stopCode"), task.get("stoppedReason"))


def _exited(api: FakeApi, code: int) -> None:
    """Every pod's one container ran and ended with ``code`` (the kubelet's report)."""
    for key in [k for k in api.objects if k[0] == "pods"]:
        api.objects[key]["status"] = {
            "phase": "Failed" if code else "Succeeded",
            "startTime": "2026-12-05T10:00:00Z",
            "containerStatuses": [
                {
                    "name": "a",
                    "state": {
                        "terminated": {
                            "exitCode": code,
                            "reason": "Error" if code else "Completed",
                            "startedAt": "2026-12-05T10:00:01Z",
                            "finishedAt": "2026-12-05T10:01:00Z",
                        }
                    },
                }
            ],
        }


# StopTask of a task that has stopped already ------------------------------------------------


def test_stop_task_of_a_task_that_exited_keeps_why_it_stopped() -> None:
    """A batch job's essential container exited 3 (EssentialContainerExited); the pipeline's
    cleanup step then sends StopTask for every task it started. ECS's StopTask "Stops a running
    task": of one STOPPED already it changes nothing and answers the task as it is, so the
    job's describe-tasks still says why it stopped. Here the answer, and every describe after
    it, read ``UserInitiated`` with the cleanup's reason: the job's failure is rewritten as a
    user's stop."""
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    arn = ran["taskArn"]
    asyncio.run(reconciled(api))
    _exited(api, 3)
    asyncio.run(reconciled(api))
    [before] = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))["tasks"]
    assert _stop_record(before) == (
        "STOPPED",
        "EssentialContainerExited",
        "Essential container in task exited",
    )

    answer = asyncio.run(tasks.stop(caller, {"task": arn, "reason": "pipeline cleanup"}))["task"]
    asyncio.run(reconciled(api))
    [after] = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))["tasks"]

    assert _stop_record(answer) == _stop_record(before)
    assert _stop_record(after) == _stop_record(before)


def test_stop_task_of_a_task_that_failed_to_start_keeps_why_and_when() -> None:
    """A task the operator refused to start is STOPPED, ``TaskFailedToStart`` with why, and has
    its ``stoppedAt``. A StopTask sent after it (a script stopping what it ran, a timeout
    handler) must leave that record as it is, as ECS does; here it turns it into
    ``UserInitiated`` and the task loses its ``stoppedAt``."""
    api, caller = _deployer()
    role = "arn:aws:iam::123456789012:role/reports"
    asyncio.run(taskdefinitions.register(caller, {**WEB, "taskRoleArn": role}))
    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    arn = ran["taskArn"]
    asyncio.run(reconciled(api))
    [before] = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))["tasks"]
    assert before.get("stopCode") == "TaskFailedToStart" and "stoppedAt" in before

    asyncio.run(tasks.stop(caller, {"task": arn, "reason": "timeout"}))
    asyncio.run(reconciled(api))
    [after] = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))["tasks"]

    assert _stop_record(after) == _stop_record(before)
    assert after.get("stoppedAt") == before["stoppedAt"]


def test_a_second_stop_task_answers_the_reason_the_task_keeps() -> None:
    """StopTask sent twice (a retried cleanup): the first reason is the task's for good (the
    describe after it shows it), so the second call's answer must show it too, as ECS answers
    the task as it is; here it answers the second reason, which no describe ever shows."""
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    arn = ran["taskArn"]
    asyncio.run(reconciled(api))
    asyncio.run(tasks.stop(caller, {"task": arn, "reason": "first"}))
    asyncio.run(reconciled(api))

    answer = asyncio.run(tasks.stop(caller, {"task": arn, "reason": "second"}))["task"]
    asyncio.run(reconciled(api))
    [after] = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))["tasks"]

    assert after["stoppedReason"] == "first"
    assert answer["stoppedReason"] == after["stoppedReason"]


# INACTIVE revisions --------------------------------------------------------------------------


def _with_inactive_revision() -> tuple[FakeApi, Caller]:
    """Family ``web`` with revision 1 deregistered (INACTIVE) and revision 2 ACTIVE."""
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    asyncio.run(taskdefinitions.deregister(caller, {"taskDefinition": "web:1"}))
    return api, caller


def _refused(call: Any) -> EcsApiError:
    with pytest.raises(EcsApiError) as refused:
        asyncio.run(call)
    return refused.value


INACTIVE_USES = {
    "run-task": lambda caller: tasks.run(caller, {"taskDefinition": "web:1"}),
    "create-service": lambda caller: services.create(
        caller, {"serviceName": "api", "taskDefinition": "web:1", "desiredCount": 1}
    ),
    "update-service": lambda caller: services.update(
        caller, {"service": "live", "taskDefinition": "web:1"}
    ),
}


@pytest.mark.parametrize("use", list(INACTIVE_USES))
def test_an_inactive_revision_is_refused_for_new_use(use: str) -> None:
    """DeregisterTaskDefinition (botocore's model): "You can't use an INACTIVE task definition
    to run new tasks or create new services, and you can't update an existing service to
    reference an INACTIVE task definition." ECS refuses the call (``ClientException``,
    "TaskDefinition is inactive"), so a pipeline that deregistered a bad revision cannot
    deploy it by mistake. Here the call succeeds (RunTask answers PROVISIONING, the services
    a PRIMARY IN_PROGRESS deployment), and the operator then refuses the revision: the task
    is STOPPED ``TaskFailedToStart``, and the service's deployment stays IN_PROGRESS with no
    task, so the deploy's ``services-stable`` waiter runs to its timeout."""
    _, caller = _with_inactive_revision()
    asyncio.run(
        services.create(
            caller, {"serviceName": "live", "taskDefinition": "web:2", "desiredCount": 1}
        )
    )

    refused = _refused(INACTIVE_USES[use](caller))

    assert refused.code == "ClientException"
    assert "inactive" in refused.message.lower()


def test_list_task_definition_families_lists_inactive_families_by_default() -> None:
    """ListTaskDefinitionFamilies' ``status`` (botocore's model): "By default, both ACTIVE and
    INACTIVE task definition families are listed." A family whose every revision was
    deregistered (what a cleanup script looks for, to delete its revisions) is left out here
    unless ``status: INACTIVE`` is asked for."""
    _, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    asyncio.run(taskdefinitions.register(caller, {**WEB, "family": "retired"}))
    asyncio.run(taskdefinitions.deregister(caller, {"taskDefinition": "retired:1"}))

    listed = asyncio.run(taskdefinitions.list_families(caller, {}))["families"]

    assert sorted(listed) == ["retired", "web"]


# UpdateService: from a launch type to a capacity provider strategy ---------------------------

BOTH = {
    **WEB,
    "family": "api",
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "requiresCompatibilities": ["EC2", "FARGATE"],
}
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


def test_update_service_moves_a_launch_type_service_to_a_capacity_provider_strategy() -> None:
    """UpdateServiceRequest.capacityProviderStrategy (botocore's model) lists the valid
    transitions, among them "Update the Amazon EC2 launch type to a Fargate capacity
    provider" (and back: "Pass an empty list"). Moving a service off its launch type is how
    a Fargate Spot migration is scripted. Here UpdateService refuses it: the request's
    strategy is merged into a spec that keeps the service's ``launchType``, and the two are
    "mutually exclusive"."""
    _, caller = _deployer()
    asyncio.run(
        clusters.create(
            caller, {"clusterName": "default", "capacityProviders": ["FARGATE", "FARGATE_SPOT"]}
        )
    )
    asyncio.run(taskdefinitions.register(caller, dict(BOTH)))
    asyncio.run(
        services.create(
            caller,
            {
                "serviceName": "api",
                "taskDefinition": "api",
                "desiredCount": 1,
                "launchType": "EC2",
                "networkConfiguration": AWSVPC,
            },
        )
    )
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]

    updated = asyncio.run(
        services.update(
            caller,
            {"service": "api", "capacityProviderStrategy": strategy, "forceNewDeployment": True},
        )
    )["service"]

    assert updated["capacityProviderStrategy"] == strategy
    assert "launchType" not in updated


# CreateService of a DRAINING service's name -------------------------------------------------


def test_create_service_of_a_draining_services_name_is_refused() -> None:
    """DeleteService (botocore's model): "If you attempt to create a new service with the same
    name as an existing service in either ACTIVE or DRAINING status, you receive an error."
    Here a CreateService of the name of a service still DRAINING (its tasks still running)
    deletes the old Service object, whose Deployment and pods go with it at once, and
    succeeds: a "delete --force, create" script that must wait for INACTIVE on ECS does not
    here, and the draining tasks are cut off rather than drained."""
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    asyncio.run(
        services.create(caller, {"serviceName": "web", "taskDefinition": "web", "desiredCount": 2})
    )
    asyncio.run(reconciled(api))
    [key] = [k for k in api.objects if k[0] == "services"]
    api.objects[key].setdefault("status", {})["runningCount"] = 2  # its tasks still run
    asyncio.run(services.delete(caller, {"service": "web", "force": True}))
    [draining] = asyncio.run(services.describe(caller, {"services": ["web"]}))["services"]
    assert draining["status"] == "DRAINING"

    refused = _refused(
        services.create(caller, {"serviceName": "web", "taskDefinition": "web", "desiredCount": 1})
    )

    assert refused.code == "InvalidParameterException"


# Service events ----------------------------------------------------------------------------


def test_describe_services_keeps_up_to_100_events_newest_first() -> None:
    """``Service.events`` (reference/ecs-api.md, the model's doc): "At most the 100 latest are
    returned", newest first. On-call reads a failed deploy's story there ("deployment ...
    deployment failed", "rolling back to deployment ...", "was unable to place a task"), and
    scripts grep it after a rollback. Here a service keeps 10 (status/service.py's
    ``MAX_EVENTS``, not a documented deviation): the rollback's events are gone after ten
    routine ones (a scale-out and steady state or two, a few placements)."""
    from ecs_operator.status.service import add_events

    story = [
        "(service web) deployment ecs-svc/1 deployment failed: tasks failed to start.",
        "(service web) rolling back to deployment ecs-svc/0.",
    ]
    routine = [f"(service web) has started {n} tasks." for n in range(1, 11)]

    events = add_events(add_events([], story), routine)

    assert [e["message"] for e in events] == list(reversed(story + routine))
