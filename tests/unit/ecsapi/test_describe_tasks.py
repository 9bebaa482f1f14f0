"""DescribeTasks and StopTask read what the tasks asked about need: a RunTask's waiter
(tasks-stopped) polls standalone tasks, and a pipeline cancels them, which their Task objects
tell alone."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from tests.unit.fakes import FakeApi, deployer, reconciled

from ecs_operator.ecsapi import clusters, taskdefinitions, tasks
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.handlers.context import Settings
from ecs_operator.policy import Policy
from ecs_operator.render.keys import ANNOTATION_STOPPED_TASKS

WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}


def _lists(api: FakeApi) -> list[str]:
    return [plural for verb, plural, _ in api.calls if verb == "list"]


def _deployer() -> tuple[FakeApi, Caller]:
    """An empty namespace ``shop`` and a deploying key's caller."""
    api = FakeApi(now=time.time())
    return api, deployer(api)


def _started_task() -> tuple[FakeApi, Caller, str]:
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    arn = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"][0]["taskArn"]
    api.forget_requests()
    return api, caller, arn


def test_a_standalone_task_is_described_from_the_task_objects_alone() -> None:
    api, caller, arn = _started_task()

    found = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))

    assert [t["taskArn"] for t in found["tasks"]] == [arn] and found["failures"] == []
    assert "pods" not in _lists(api) and "services" not in _lists(api)


def test_a_task_not_among_them_is_looked_for_among_the_services_tasks() -> None:
    api, caller, arn = _started_task()
    missing = arn[:-32] + "0" * 32

    found = asyncio.run(tasks.describe(caller, {"tasks": [arn, missing]}))

    assert [t["taskArn"] for t in found["tasks"]] == [arn]
    assert found["failures"] == [{"arn": missing, "reason": "MISSING"}]
    assert _lists(api).count("tasks") == 1 and "pods" in _lists(api)


def test_a_standalone_task_is_stopped_reading_the_task_objects_alone() -> None:
    api, caller, arn = _started_task()

    stopped = asyncio.run(tasks.stop(caller, {"task": arn, "reason": "cancelled"}))["task"]

    assert (stopped["taskArn"], stopped["desiredStatus"]) == (arn, "STOPPED")
    assert "pods" not in _lists(api) and "services" not in _lists(api)


def test_a_containers_arn_is_under_the_task_id_the_api_shows() -> None:
    """ECS's containerArn names the task's cluster and id (``container/<cluster>/<task>/<id>``):
    the API's 32-digit task id, not the pod's name, and its taskArn is the task's."""
    api, caller, arn = _started_task()
    asyncio.run(reconciled(api))

    [task] = asyncio.run(tasks.describe(caller, {"tasks": [arn]}))["tasks"]

    task_id = arn.rsplit("/", 1)[-1]
    assert task["containers"], task
    for container in task["containers"]:
        assert container["taskArn"] == arn
        assert container["containerArn"].split(":container/")[1].startswith(f"default/{task_id}/")


def test_stop_task_of_one_task_of_several_marks_it_alone_on_its_task() -> None:
    """StopTask names one task; of a RunTask with ``count`` 2 the other runs on (ECS stops
    each task alone): the Task's spec is left as it is (desiredStatus is all of them), and the
    stopped one is marked with its reason for the operator. A second stop adds to the mark."""
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    ran = asyncio.run(tasks.run(caller, {"taskDefinition": "web", "count": 2}))["tasks"]
    asyncio.run(reconciled(api))

    first, second = (t["taskArn"] for t in ran)
    stopped = asyncio.run(tasks.stop(caller, {"task": first, "reason": "hung"}))["task"]
    asyncio.run(tasks.stop(caller, {"task": second}))

    assert (stopped["taskArn"], stopped["desiredStatus"], stopped["stoppedReason"]) == (
        first,
        "STOPPED",
        "hung",
    )
    [body] = [b for (plural, _, _), b in api.objects.items() if plural == "tasks"]
    assert "desiredStatus" not in body["spec"]
    name = body["metadata"]["name"]
    marked = json.loads(body["metadata"]["annotations"][ANNOTATION_STOPPED_TASKS])
    assert set(marked) == {f"{name}-0", f"{name}-1"}
    assert sorted(marked.values()) == ["", "hung"]


def test_run_task_answers_the_containers_pending_as_describe_tasks_does() -> None:
    """ECS's RunTask answers each task with its containers, PENDING: so does the API before
    the operator has made the pods, and DescribeTasks says the same meanwhile."""
    _, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))

    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    [described] = asyncio.run(tasks.describe(caller, {"tasks": [ran["taskArn"]]}))["tasks"]

    for task in (ran, described):
        [container] = task["containers"]
        assert (container["name"], container["lastStatus"], container["taskArn"]) == (
            "a",
            "PENDING",
            ran["taskArn"],
        )
    assert ran["containers"] == described["containers"]


FARGATE_ONLY = {
    **WEB,
    "family": "api",
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "requiresCompatibilities": ["FARGATE"],
}
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
SPREAD = [
    {"capacityProvider": "FARGATE", "base": 1, "weight": 0},
    {"capacityProvider": "FARGATE_SPOT", "weight": 1},
]


def _placed(found: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [(t.get("launchType"), t.get("capacityProviderName")) for t in found]


@pytest.mark.parametrize(
    ("default_strategy", "request_members", "expected"),
    [
        (None, {"taskDefinition": "web", "count": 2}, [("EC2", None)] * 2),
        (None, {"taskDefinition": "api", "networkConfiguration": AWSVPC}, [("FARGATE", "FARGATE")]),
        (
            SPREAD,
            {"taskDefinition": "api", "count": 3, "networkConfiguration": AWSVPC},
            [("FARGATE", "FARGATE"), ("FARGATE", "FARGATE_SPOT"), ("FARGATE", "FARGATE_SPOT")],
        ),
        (SPREAD, {"taskDefinition": "web", "launchType": "EC2"}, [("EC2", None)]),
    ],
    ids=["ec2-by-default", "fargate-only-definition", "cluster-default-strategy", "named"],
)
def test_run_task_answers_where_each_task_runs_as_the_operator_then_shows_it(
    default_strategy: list[dict[str, Any]] | None,
    request_members: dict[str, Any],
    expected: list[tuple[str | None, str | None]],
) -> None:
    """ECS decides a task's launch type and capacity provider as RunTask runs it (the
    request's, else the cluster's default strategy, else EC2) and its answer shows them: so
    does the API's, before the operator has made the pods, and describe-tasks shows the same
    once it has."""
    api, caller = _deployer()
    cluster: dict[str, Any] = {"clusterName": "default"}
    if default_strategy:
        cluster |= {
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "defaultCapacityProviderStrategy": default_strategy,
        }
    asyncio.run(clusters.create(caller, cluster))
    for definition in (WEB, FARGATE_ONLY):
        asyncio.run(taskdefinitions.register(caller, dict(definition)))

    ran = asyncio.run(tasks.run(caller, request_members))["tasks"]
    asyncio.run(reconciled(api))
    arns = [t["taskArn"] for t in ran]
    described = asyncio.run(tasks.describe(caller, {"tasks": arns}))["tasks"]

    assert _placed(ran) == expected
    assert _placed(sorted(described, key=lambda t: arns.index(t["taskArn"]))) == expected


def test_a_task_the_operator_refuses_to_start_reads_stopped_with_why() -> None:
    """ECS stops a task that cannot start (TaskFailedToStart, with why), so a script's
    ``aws ecs wait tasks-stopped`` returns and its describe-tasks says why. A Task whose task
    role the admin's policy refuses is refused by the operator after RunTask answered: it was
    PROVISIONING, and is STOPPED from then on, its containers with it."""
    api, caller = _deployer()
    role = "arn:aws:iam::123456789012:role/reports"
    asyncio.run(taskdefinitions.register(caller, {**WEB, "taskRoleArn": role}))
    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    asyncio.run(reconciled(api))

    [task] = asyncio.run(tasks.describe(caller, {"tasks": [ran["taskArn"]]}))["tasks"]

    assert ran["lastStatus"] == "PROVISIONING"
    assert (task["lastStatus"], task["desiredStatus"], task["stopCode"]) == (
        "STOPPED",
        "STOPPED",
        "TaskFailedToStart",
    )
    assert task["stoppedReason"].startswith("Task failed to start: taskRoleArn: " + role)
    assert [(c["name"], c["lastStatus"]) for c in task["containers"]] == [("a", "STOPPED")]
    assert "stoppedAt" in task


def test_a_task_stopped_before_it_started_reads_stopped_by_its_user() -> None:
    """StopTask of a task the operator has not started yet: ECS stops it, UserInitiated with
    the reason given; it read PROVISIONING for good."""
    api, caller = _deployer()
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    asyncio.run(tasks.stop(caller, {"task": ran["taskArn"], "reason": "cancelled"}))
    asyncio.run(reconciled(api))

    [task] = asyncio.run(tasks.describe(caller, {"tasks": [ran["taskArn"]]}))["tasks"]

    assert (task["lastStatus"], task["stopCode"], task["stoppedReason"]) == (
        "STOPPED",
        "UserInitiated",
        "cancelled",
    )


def _irsa_roles(api: FakeApi) -> list[str | None]:
    """The IAM roles the task-role ServiceAccounts the operator made stand for (IRSA)."""
    return [
        (body["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn")
        for (plural, _, _), body in api.objects.items()
        if plural == "serviceaccounts"
    ]


def test_a_role_registered_by_name_runs_as_the_role_of_the_keys_account() -> None:
    """ECS completes a role given by name with the caller's account. The operator, which needs
    the role's ARN for IRSA, completes it with the account of the key that registered the
    family, where it refused it without ``--account-id`` ("role name ... is not an ARN").
    The name is answered as registered (moto's tier A asserts it; ECS answers the ARN)."""
    api = FakeApi(now=time.time())
    caller = deployer(api, account="210987654321")
    registered = asyncio.run(taskdefinitions.register(caller, {**WEB, "taskRoleArn": "reports"}))
    [ran] = asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))["tasks"]
    allowed = Policy(task_roles=("arn:aws:iam::210987654321:role/*",))
    asyncio.run(reconciled(api, Settings(policy=allowed)))

    [task] = asyncio.run(tasks.describe(caller, {"tasks": [ran["taskArn"]]}))["tasks"]

    assert registered["taskDefinition"]["taskRoleArn"] == "reports"
    assert (task["lastStatus"], task.get("stopCode")) == ("PROVISIONING", None)
    assert _irsa_roles(api) == ["arn:aws:iam::210987654321:role/reports"]


def test_the_admins_account_id_comes_before_the_keys() -> None:
    """An access key's account is a placeholder (123456789012) unless the admin set one: where
    the operator runs with ``--account-id``, that is the account a role name completes to."""
    api = FakeApi(now=time.time())
    caller = deployer(api)
    asyncio.run(taskdefinitions.register(caller, {**WEB, "taskRoleArn": "reports"}))
    asyncio.run(tasks.run(caller, {"taskDefinition": "web"}))
    allowed = Policy(task_roles=("arn:aws:iam::*:role/reports",))
    asyncio.run(reconciled(api, Settings(account_id="111122223333", policy=allowed)))

    assert _irsa_roles(api) == ["arn:aws:iam::111122223333:role/reports"]
