"""Third-party deploy tools against `ecs-operator api`: the calls they make and the answers
they read, as they make and read them (fabfuel's ecs-deploy 1.17.0, boto3; the findings of the
deploy-tools audit, 2026-12-05)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.integration.test_ecs_api import WEB, _client
from tests.support.ecsapi import ApiProcess, access_key
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

CLUSTER = "prod"


@pytest.fixture
def ecs(api: ApiProcess, namespace: str, operator: OperatorProcess) -> Any:
    key = access_key(namespace, "deployer", "AKIADEPLOYTOOLS")
    client = _client(api, key)
    client.create_cluster(clusterName=CLUSTER)
    return client


def _stable(ecs: Any, service: str) -> None:
    ecs.get_waiter("services_stable").wait(
        cluster=CLUSTER, services=[service], WaiterConfig={"Delay": 1, "MaxAttempts": 90}
    )


def _primary(ecs: Any, service: str) -> dict[str, Any]:
    found = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]
    return next(d for d in found["deployments"] if d["status"] == "PRIMARY")


def _unable_events(ecs: Any, service: str) -> list[dict[str, Any]]:
    found = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]
    return [e for e in found["events"] if "unable" in e["message"]]


def _unplaceable(ecs: Any) -> str:
    """A revision of WEB whose task no node can hold (more memory than any node has): ECS's
    "(service web) was unable to place a task" within seconds of the deployment."""
    definition = {
        **WEB,
        "containerDefinitions": [{**WEB["containerDefinitions"][0], "memory": 200000}],
    }
    return str(ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"])


def test_fabfuels_ecs_run_starts_its_one_off_task(ecs: Any) -> None:
    """`ecs run CLUSTER TASK` sends RunTask with ``startedBy="ECS Deploy"`` (cli.py, since
    2016): ECS runs it (ECS's own Step Functions integration starts tasks with
    ``startedBy: "AWS Step Functions"``); the API refused it, ClientException "startedBy:
    String should match pattern '^[a-zA-Z0-9_/-]*$'", so every `ecs run` failed."""
    arn = ecs.register_task_definition(**WEB)["taskDefinition"]["taskDefinitionArn"]
    overrides = {
        "containerOverrides": [{"name": "app", "command": ["python", "manage.py", "migrate"]}]
    }
    started = ecs.run_task(
        cluster=CLUSTER, taskDefinition=arn, count=1, startedBy="ECS Deploy", overrides=overrides
    )
    assert started["failures"] == []
    task = started["tasks"][0]
    assert task["startedBy"] == "ECS Deploy"
    listed = ecs.list_tasks(cluster=CLUSTER, startedBy="ECS Deploy")["taskArns"]
    assert listed == [task["taskArn"]]


def test_a_placement_failure_is_reported_after_the_deployment_it_fails(ecs: Any) -> None:
    """fabfuel's wait loop fails a deployment on an event with 'unable' created strictly after
    the PRIMARY deployment's ``createdAt`` (ecs.py ``get_warnings``: ``since < createdAt``).
    ECS's times have milliseconds; the operator's are whole seconds, so the event of a
    placement failure found within the second the deployment began carries the deployment's
    very ``createdAt``, and `ecs deploy --rollback` waits out its whole --timeout instead of
    failing at once with the event's message."""
    ecs.register_task_definition(**WEB)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="web", desiredCount=1)
    _stable(ecs, "web")
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=_unplaceable(ecs))
    deadline = time.monotonic() + 60
    while not (events := _unable_events(ecs, "web")):
        assert time.monotonic() < deadline, "no 'unable to place' event"
        time.sleep(0.5)
    assert events[0]["createdAt"] > _primary(ecs, "web")["createdAt"]


def test_the_same_placement_failure_is_reported_again_once_resolved(ecs: Any) -> None:
    """ECS omits a duplicate service event "until either the cause is resolved or six hours
    passes" (Developer Guide, service event messages). The operator omitted a message while
    it was among the service's newest 100 events, resolved or not: the second deployment that
    cannot be placed, after a rollback and a steady state, got no event at all."""
    good = ecs.register_task_definition(**WEB)["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=good, desiredCount=1)
    _stable(ecs, "web")
    for attempt in (1, 2):
        ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=_unplaceable(ecs))
        began = _primary(ecs, "web")["createdAt"]
        deadline = time.monotonic() + 30
        while not [
            e for e in _unable_events(ecs, "web") if e["createdAt"] >= began.replace(microsecond=0)
        ]:
            assert time.monotonic() < deadline, f"no 'unable to place' event for failure {attempt}"
            time.sleep(0.5)
        # the rollback the tool makes; the cause is resolved once the service is steady again
        ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=good)
        _stable(ecs, "web")
        deadline = time.monotonic() + 30
        while (
            "steady state"
            not in ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0][
                "events"
            ][0]["message"]
        ):
            assert time.monotonic() < deadline, "no steady state event after the rollback"
            time.sleep(0.5)


def test_a_task_definition_arn_without_its_revision_is_the_latest_active_one(ecs: Any) -> None:
    """ECS: "If a revision isn't specified, the latest ACTIVE revision is used", for a full ARN
    too: Terraform's ``aws_ecs_task_definition.arn_without_revision`` (and Pulumi's
    ``arnWithoutRevision``) is written into CreateService/UpdateService so, and ecs-tool's
    ``task run`` strips the revision off ListTaskDefinitions' newest ARN before RunTask. The
    API refused it: "... is not a task definition reference"."""
    ecs.register_task_definition(**WEB)
    second = ecs.register_task_definition(**WEB)["taskDefinition"]["taskDefinitionArn"]
    family = second.rsplit(":", 1)[0]
    described = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert described["taskDefinitionArn"] == second
    created = ecs.create_service(
        cluster=CLUSTER, serviceName="web", taskDefinition=family, desiredCount=0
    )
    assert created["service"]["taskDefinition"] == second
    third = ecs.register_task_definition(**WEB)["taskDefinition"]["taskDefinitionArn"]
    updated = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=family)
    assert updated["service"]["taskDefinition"] == third
    ran = ecs.run_task(cluster=CLUSTER, taskDefinition=family)
    assert ran["tasks"][0]["taskDefinitionArn"] == third
