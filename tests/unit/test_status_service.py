"""A Service's ECS-shaped status: pods summarized (failures, placement), the deployment
circuit breaker and its rollback, and status members cleared once they no longer apply."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

from ecs_operator.api.shapes import DeploymentCircuitBreaker
from ecs_operator.status.deployments import BREAKER_REASON
from ecs_operator.status.rollout import (
    CircuitBreaker,
    Rollout,
    deployment_id,
    failure_threshold,
    running_task_definition,
    spec_hash,
)
from ecs_operator.status.service import service_status, with_problem_event
from ecs_operator.status.workloads import (
    TaskSummary,
    WorkloadState,
    deployment_state,
    pod_failures,
    task_summary,
    unschedulable,
)

STEADY = WorkloadState(2, 2, 2, 2, 2, current=True, failed=False)
STEADY_ONE = WorkloadState(1, 1, 1, 1, 1, current=True, failed=False)
ROLLING = WorkloadState(2, 4, 2, 2, 2, current=True, failed=False)  # 2 new, not ready
DEADLINE = WorkloadState(2, 4, 2, 2, 2, current=True, failed=True)
CRASHING = TaskSummary(failed=4, failed_unhealthy=4)
BREAKER = CircuitBreaker(rollback=True, threshold=3)
NOW = 1767225600.0  # 2026-01-01T00:00:00Z
GRACE = 60.0


def pod(
    revision: str = "web:2",
    restarts: int = 0,
    ready: bool = True,
    terminated: int | None = None,
    **status: Any,
) -> dict[str, Any]:
    state = {"terminated": {"exitCode": terminated}} if terminated is not None else {"running": {}}
    return {
        "metadata": {"annotations": {"ecs-operator.dev/task-definition": revision}},
        "spec": {"nodeName": "node-1"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "app", "restartCount": restarts, "state": state}],
            **status,
        },
    }


@pytest.mark.parametrize(
    ("desired", "kind", "value", "expected"),
    [
        (2, None, None, 3),
        (10, None, None, 5),
        (1000, None, None, 200),
        (10, "BOUNDED_PERCENT", 20, 3),
        (10, "UNBOUNDED_PERCENT", 20, 2),
        (1000, "UNBOUNDED_PERCENT", 50, 500),
        (10, "COUNT", 7, 7),
    ],
)
def test_failure_threshold_follows_ecs(
    desired: int, kind: str | None, value: int | None, expected: int
) -> None:
    assert failure_threshold(desired, kind, value) == expected


def test_a_breaker_only_when_enabled() -> None:
    off = DeploymentCircuitBreaker(enable=False, rollback=True)
    assert CircuitBreaker.of(off, 4) is None and CircuitBreaker.of(None, 4) is None
    on = DeploymentCircuitBreaker.model_validate(
        {"enable": True, "rollback": False, "resetOnHealthyTask": False}
    )
    assert CircuitBreaker.of(on, 4) == CircuitBreaker(False, 3, reset_on_healthy=False)


def test_only_containers_whose_failure_fails_the_task_count() -> None:
    """A non-essential container's exits do not touch its task on ECS, so they fail no
    deployment: a release that adds a log shipper that crashes is not rolled back for it. The
    essential ones count, and so do the run-to-completion steps they wait for."""

    def ended(name: str, restarts: int) -> dict[str, Any]:
        terminated = {"exitCode": 1}
        return {"name": name, "restartCount": restarts, "state": {"terminated": terminated}}

    running = {"name": "app", "restartCount": 0, "state": {"running": {}}}
    shipper = {
        "metadata": {"annotations": {"ecs-operator.dev/essential-containers": '["app"]'}},
        "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}]},
        "status": {
            "initContainerStatuses": [ended("migrate", 2), ended("proxy", 5)],
            "containerStatuses": [running, ended("log", 3)],
        },
    }
    assert pod_failures(shipper) == 3  # the migration step's 2 restarts and its exit
    essential_proxy = json.dumps(["app", "proxy"])
    shipper["metadata"]["annotations"]["ecs-operator.dev/essential-containers"] = essential_proxy
    assert pod_failures(shipper) == 3 + 6


def test_pod_failures_count_restarts_errors_and_failed_pods() -> None:
    assert pod_failures(pod(restarts=2)) == 2
    assert pod_failures(pod(terminated=1)) == 1
    assert pod_failures(pod(restarts=1, terminated=0)) == 1
    assert pod_failures({"metadata": {}, "status": {"phase": "Failed"}}) == 1


def test_task_summary_counts_the_revision_and_the_unplaced() -> None:
    unscheduled = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available",
            }
        ],
    }
    pods = [
        pod(restarts=3, ready=False),
        pod(restarts=2, ready=True),
        pod("web:1", restarts=5),
        {"metadata": {}, "status": unscheduled},
        {**pod("web:2"), "spec": {}, "status": unscheduled},
        {**pod(restarts=9), "metadata": {"deletionTimestamp": "now", "annotations": {}}},
    ]
    summary = task_summary(pods, "web:2", NOW, GRACE)
    assert summary == TaskSummary(
        5,
        3,
        2,
        "0/3 nodes are available",
        unbound=2,
        unbound_revision=1,
        ready_revision=1,
        revisions={"web:2": 1, "web:1": 1},
    )


def test_a_pod_failing_to_start_counts_as_the_tasks_ecs_would_have_started_meanwhile() -> None:
    """ECS stops a task that cannot start and starts another, and its breaker counts each; the
    kubelet retries one pod for good: it counts once, and once more each grace period."""
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x:2"'}
    pulling = {
        **pod(ready=False),
        "status": {
            "startTime": "2026-01-01T00:00:00Z",
            "containerStatuses": [{"name": "app", "state": {"waiting": waiting}}],
        },
    }
    assert task_summary([pulling, pod()], "web:2", NOW + 10, GRACE) == TaskSummary(
        1, 1, ready_revision=1, recount_after=50.0, revisions={"web:2": 1}
    )
    assert task_summary([pulling], "web:2", NOW + 130, GRACE).failed_unhealthy == 3
    # looked at again only while a breaker may still trip
    counting = TaskSummary(1, 1, recount_after=50.0)
    rolling = service_status("web", 2, "web:2", [ROLLING], {}, 1, tasks=counting)
    assert rolling.recount_after is None  # no breaker
    rollout = Rollout("web:2", "h", BREAKER)
    view = service_status("web", 2, "web:2", [ROLLING], {}, 1, rollout=rollout, tasks=counting)
    assert view.recount_after == 50.0
    failed = service_status("web", 2, "web:2", [DEADLINE], {}, 1, rollout=rollout, tasks=counting)
    assert failed.recount_after is None
    assert unschedulable(pod()) is None


SELECTOR_MISMATCH = (
    "0/9 nodes are available: 3 node(s) had untolerated taint {virtual-kubelet.io/provider: "
    "fargate}, 6 node(s) didn't match Pod's node affinity/selector."
)


def test_a_selector_that_matches_no_node_is_named_in_the_placement_reason() -> None:
    scheduled = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
    pending = {
        "metadata": {},
        "spec": {
            "nodeSelector": {"ecs-operator.dev/node-pool": "prod-asg", "kubernetes.io/os": "linux"}
        },
        "status": {"conditions": [{**scheduled, "message": SELECTOR_MISMATCH}]},
    }
    assert unschedulable(pending) == (
        f"{SELECTOR_MISMATCH} The task's nodeSelector: "
        "ecs-operator.dev/node-pool=prod-asg, kubernetes.io/os=linux"
    )
    full = {
        **pending,
        "status": {"conditions": [{**scheduled, "message": "0/9: Insufficient cpu"}]},
    }
    assert unschedulable(full) == "0/9: Insufficient cpu"  # the selector is not the problem


def test_spec_hash_ignores_what_scaling_changes() -> None:
    spec = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 2}
    assert spec_hash(spec) == spec_hash({**spec, "desiredCount": 5, "autoScaling": {"x": 1}})
    assert spec_hash(spec) != spec_hash({**spec, "placementStrategy": [{"type": "random"}]})


def converge(
    previous: dict[str, Any],
    running: str,
    workloads: list[WorkloadState],
    rollout: Rollout,
    tasks: TaskSummary | None = None,
) -> tuple[dict[str, Any], list[str]]:
    view = service_status("web", 2, running, workloads, previous, 1, rollout=rollout, tasks=tasks)
    applied = {k: v for k, v in view.status.items() if v is not None}  # what a merge patch leaves
    return applied, view.events


def completed_on(task_definition: str, rollout: Rollout) -> dict[str, Any]:
    status, _ = converge({}, task_definition, [STEADY], rollout)
    return status


def test_crashing_tasks_fail_the_deployment_and_roll_back() -> None:
    rollout = Rollout("web:2", "h", BREAKER)
    before = completed_on("web:1", Rollout("web:1", "h", BREAKER))
    assert before["lastCompletedTaskDefinition"] == "web:1"

    rolling, _ = converge(before, "web:2", [ROLLING], rollout, TaskSummary(1, 1))
    assert rolling["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert "failedDeployment" not in rolling

    failed, events = converge(rolling, "web:2", [ROLLING], rollout, CRASHING)
    primary = failed["deployments"][0]
    assert (primary["rolloutState"], primary["failedTasks"]) == ("FAILED", 4)
    assert primary["rolloutStateReason"] == BREAKER_REASON
    marker = failed["failedDeployment"]
    assert marker == {"id": primary["id"], "taskDefinition": "web:2", "specHash": "h"} | {
        "rolledBackTo": "web:1",
        "rolledBackToDeployment": before["deployments"][0]["id"],
    }
    assert events == [
        f"(service web) deployment {primary['id']} deployment failed: tasks failed to start."
    ]
    assert running_task_definition(failed, rollout) == "web:1"

    back, events = converge(failed, "web:1", [ROLLING], rollout)
    new, old = back["deployments"]
    assert (new["taskDefinition"], new["rolloutState"]) == ("web:1", "IN_PROGRESS")
    assert new["rolloutStateReason"] == (
        "ECS deployment circuit breaker: rolling back to deploymentId "
        f"{before['deployments'][0]['id']}."
    )
    assert (old["id"], old["status"], old["rolloutState"]) == (primary["id"], "ACTIVE", "FAILED")
    assert events == [f"(service web) rolling back to deployment {new['id']}."]
    degraded = next(c for c in back["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "RolledBack")
    assert back["taskDefinition"] == "web:1"

    done, events = converge(back, "web:1", [STEADY], rollout)
    assert [d["taskDefinition"] for d in done["deployments"]] == ["web:1"]
    assert done["failedDeployment"] == marker
    assert events == ["(service web) has reached a steady state."]
    assert running_task_definition(done, rollout) == "web:1"
    again, _ = converge(done, "web:1", [STEADY], rollout)
    assert again == done  # converged: nothing changes, nothing is written


def test_a_later_spec_change_is_a_new_deployment() -> None:
    rollout = Rollout("web:2", "h", BREAKER)
    before = completed_on("web:1", Rollout("web:1", "h", BREAKER))
    failed, _ = converge(before, "web:2", [ROLLING], rollout, CRASHING)
    changed = Rollout("web:2", "h2", BREAKER)
    assert running_task_definition(failed, changed) == "web:2"
    retried, _ = converge(failed, "web:2", [ROLLING], changed)
    assert "failedDeployment" not in retried
    assert retried["deployments"][0]["id"] != failed["deployments"][0]["id"]
    assert retried["deployments"][0]["rolloutState"] == "IN_PROGRESS"


def test_without_rollback_the_failure_stays_on_the_primary() -> None:
    rollout = Rollout("web:2", "h", CircuitBreaker(rollback=False, threshold=3))
    before = completed_on("web:1", Rollout("web:1", "h"))
    failed, _ = converge(before, "web:2", [ROLLING], rollout, CRASHING)
    assert "rolledBackTo" not in failed["failedDeployment"]
    assert running_task_definition(failed, rollout) == "web:2"
    later, events = converge(failed, "web:2", [STEADY], rollout)
    assert later["deployments"][0]["rolloutState"] == "FAILED" and not events
    degraded = next(c for c in later["conditions"] if c["type"] == "Degraded")
    assert degraded["reason"] == "DeploymentFailed"


def test_the_progress_deadline_trips_the_breaker_and_healthy_tasks_reset_it() -> None:
    rollout = Rollout("web:2", "h", BREAKER)
    before = completed_on("web:1", Rollout("web:1", "h"))
    healthy = TaskSummary(failed=5, failed_unhealthy=0)
    rolling, _ = converge(before, "web:2", [ROLLING], rollout, healthy)
    assert rolling["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    failed, _ = converge(rolling, "web:2", [DEADLINE], rollout)
    assert failed["failedDeployment"]["rolledBackTo"] == "web:1"


def test_without_a_breaker_a_stuck_deployment_stays_in_progress() -> None:
    """ECS fails a deployment by its circuit breaker alone: without one it keeps trying, and a
    Deployment past its progress deadline only says the rollout is stuck."""
    before = completed_on("web:1", Rollout("web:1"))
    stuck, events = converge(before, "web:2", [DEADLINE], Rollout("web:2"))

    primary = stuck["deployments"][0]
    assert (primary["rolloutState"], primary["rolloutStateReason"]) == (
        "IN_PROGRESS",
        f"ECS deployment {primary['id']} in progress.",
    )
    assert "failedDeployment" not in stuck
    assert not any("deployment failed" in e for e in events)


def test_a_breaker_does_not_fail_a_deployment_whose_tasks_wait_for_a_node() -> None:
    """ECS does not count a task it cannot place as failed: a rollout waiting for capacity past
    the progress deadline stays IN_PROGRESS, breaker or not."""
    rollout = Rollout("web:2", "h", BREAKER)
    before = completed_on("web:1", Rollout("web:1", "h", BREAKER))
    waiting, _ = converge(before, "web:2", [DEADLINE], rollout, UNPLACED)

    assert waiting["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert "failedDeployment" not in waiting


def test_no_breaker_no_rollback_and_a_first_deployment_has_nothing_to_roll_back_to() -> None:
    plain, _ = converge({}, "web:1", [ROLLING], Rollout("web:1"), CRASHING)
    assert plain["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    first, _ = converge({}, "web:1", [ROLLING], Rollout("web:1", "h", BREAKER), CRASHING)
    assert first["failedDeployment"]["taskDefinition"] == "web:1"
    assert "rolledBackTo" not in first["failedDeployment"]


def test_unplaced_tasks_are_said_once_and_neither_started_nor_pending() -> None:
    """ECS creates no task it cannot place: it is not in the service's or the deployment's
    pendingCount, nor among the tasks it "has started"; once placed, it is."""
    unplaced = TaskSummary(
        unplaced=2,
        placement_reason="0/9 nodes are available: anti-affinity",
        unbound=2,
        unbound_revision=2,
    )
    stuck = WorkloadState(5, 5, 5, 3, 3, current=True, failed=False)
    view = service_status("web", 5, "web:1", [stuck], {}, 1, tasks=unplaced)
    ready = next(c for c in view.status["conditions"] if c["type"] == "Ready")
    assert (
        ready["message"]
        == "3/5 tasks running; 2 cannot be placed: 0/9 nodes are available: anti-affinity"
    )
    assert view.status["pendingCount"] == view.status["deployments"][0]["pendingCount"] == 0
    assert view.events[0] == "(service web) has started 3 tasks."
    placement = [m for m in view.events if "unable to place" in m]
    assert placement == [
        "(service web) was unable to place a task because no container instance met all of its "
        "requirements. Reason: 0/9 nodes are available: anti-affinity"
    ]
    assert view.warnings == frozenset(placement), "a placement failure is a Warning Event"
    assert "(service web) has started 5 tasks." not in view.warnings
    again = service_status("web", 5, "web:1", [stuck], view.status, 1, tasks=unplaced)
    assert not [m for m in again.events if "unable to place" in m]
    placed = service_status("web", 5, "web:1", [stuck], again.status, 1)
    assert placed.events == ["(service web) has started 2 tasks."]
    assert placed.status["pendingCount"] == placed.status["deployments"][0]["pendingCount"] == 2


def test_a_placement_failure_is_said_again_once_resolved_or_six_hours_later() -> None:
    """ECS omits a duplicate service event "until either the cause is resolved or six hours
    passes": the same failure after a steady state, or after six hours, is said again (a
    deploy tool waiting for it, fabfuel's ecs-deploy, sees the second failed deployment)."""
    unplaced = TaskSummary(unplaced=1, placement_reason="Insufficient memory", unbound=1)
    stuck = WorkloadState(1, 2, 1, 1, 1, current=False, failed=False)
    first = service_status("web", 1, "web:2", [stuck], {}, 1, tasks=unplaced)
    assert [m for m in first.events if "unable to place" in m]
    steady = service_status("web", 1, "web:1", [STEADY_ONE], first.status, 2)
    assert "(service web) has reached a steady state." in steady.events
    again = service_status("web", 1, "web:3", [stuck], steady.status, 3, tasks=unplaced)
    assert [m for m in again.events if "unable to place" in m]
    old = {
        **first.status,
        "events": [{**e, "createdAt": "2026-01-01T00:00:00Z"} for e in first.status["events"]],
    }
    later = service_status("web", 1, "web:2", [stuck], old, 1, tasks=unplaced)
    assert [m for m in later.events if "unable to place" in m]


def test_a_service_event_has_milliseconds_as_ecs_times_do() -> None:
    """An event found within the second its deployment began is still newer than it."""
    unplaced = TaskSummary(unplaced=1, placement_reason="Insufficient memory", unbound=1)
    stuck = WorkloadState(1, 2, 1, 1, 1, current=False, failed=False)
    view = service_status("web", 1, "web:2", [stuck], {}, 1, tasks=unplaced)
    began = view.status["deployments"][0]["createdAt"]
    for event in view.status["events"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["createdAt"])
        assert datetime.fromisoformat(event["createdAt"]) >= datetime.fromisoformat(began)


def test_tasks_the_scheduler_has_not_placed_yet_are_started_once_placed() -> None:
    """A Deployment counts its pods as it creates them; the scheduler binds them a moment
    later. ECS has a task once it placed it: "has started 3 tasks" is said then, and pending
    counts them from then (both were at their creation, so a task the scheduler then could not
    place was said to have started twice)."""
    created = WorkloadState(3, 3, 3, 0, 0, current=True, failed=False)
    unbound = TaskSummary(unbound=3, unbound_revision=3)
    first = service_status("web", 3, "web:1", [created], {}, 1, tasks=unbound)
    assert not [m for m in first.events if "has started" in m]
    assert first.status["pendingCount"] == first.status["deployments"][0]["pendingCount"] == 0
    placed = service_status("web", 3, "web:1", [created], first.status, 1, tasks=TaskSummary())
    assert placed.events == ["(service web) has started 3 tasks."]
    assert placed.status["pendingCount"] == placed.status["deployments"][0]["pendingCount"] == 3


PSA_REFUSAL = (
    'pods "web-5d8f9c7b4-x2x9q" is forbidden: violates PodSecurity "baseline:latest": '
    'privileged (container "app" must not set securityContext.privileged=true)'
)


def test_a_deployment_that_cannot_create_pods_says_why() -> None:
    deployment = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "FailedCreate",
                    "message": PSA_REFUSAL,
                },
            ],
        },
    }
    assert deployment_state(deployment).failure == PSA_REFUSAL
    deployment["status"]["conditions"].pop()
    assert deployment_state(deployment).failure == ""


def test_tasks_that_cannot_be_created_degrade_the_service_and_are_said_once() -> None:
    refused = WorkloadState(2, 0, 0, 0, 0, current=True, failed=False, failure=PSA_REFUSAL)
    view = service_status("web", 2, "web:1", [refused], {}, 1)
    conditions = {c["type"]: c for c in view.status["conditions"]}
    assert conditions["Degraded"]["status"] == "True"
    assert conditions["Degraded"]["reason"] == "TaskLaunchFailed"
    assert conditions["Degraded"]["message"] == f"tasks cannot be created: {PSA_REFUSAL}"
    assert (
        conditions["Ready"]["message"]
        == f"0/2 tasks running; tasks cannot be created: {PSA_REFUSAL}"
    )
    assert view.events == [f"(service web) failed to launch a task with (error {PSA_REFUSAL})."]
    assert view.warnings == frozenset(view.events)
    again = service_status("web", 2, "web:1", [refused], view.status, 1)
    assert again.events == []

    allowed = service_status("web", 2, "web:1", [STEADY], again.status, 1)
    degraded = next(c for c in allowed.status["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "False"


def test_a_service_that_cannot_start_says_why_in_its_events_once() -> None:
    problem = "taskDefinition: no TaskDefinition registers family web"
    status = with_problem_event({"events": [{"id": "1", "message": "older"}]}, "web", problem)
    assert [e["message"] for e in status["events"]] == [
        f"(service web) failed to launch a task with (error {problem}).",
        "older",
    ]
    assert with_problem_event(status, "web", problem) is status  # no second write


def test_deployment_ids_derive_from_the_service_the_task_definition_and_the_one_replaced() -> None:
    """The operator names a new deployment as the ECS API does when it answers UpdateService
    (``rollout.deployment_id``): stable across reconciles, new for a return to an earlier
    task definition."""
    first = service_status("web", 2, "web:1", [STEADY], {}, 1, service_uid="u1").status
    first_id = first["deployments"][0]["id"]
    assert first_id == deployment_id("u1", "web:1", "")
    again = service_status("web", 2, "web:1", [STEADY], first, 1, service_uid="u1").status
    assert again["deployments"][0]["id"] == first_id
    second = service_status("web", 2, "web:2", [ROLLING], first, 2, service_uid="u1").status
    assert second["deployments"][0]["id"] == deployment_id("u1", "web:2", first_id)
    back = service_status("web", 2, "web:1", [ROLLING], second, 3, service_uid="u1").status
    assert back["deployments"][0]["id"] not in (first_id, second["deployments"][0]["id"])


def test_the_old_deployment_counts_its_running_tasks_while_the_new_ones_are_not_ready() -> None:
    """A rollout of 2 tasks whose new revision never turns healthy: both old tasks keep
    running (and serving). The Deployment's readyReplicas counts old and new pods alike, so
    taking the new revision's ready tasks as min(updated, ready) read the ACTIVE deployment
    ``runningCount 0`` and the PRIMARY ``2`` (seen on a real node, through the ECS API and
    kubectl ecs); the pods say which are ready."""
    first = service_status("web", 2, "web:1", [STEADY], {}, 1)
    pods = [pod("web:1"), pod("web:1"), pod(ready=False), pod(ready=False)]
    tasks = task_summary(pods, "web:2", NOW, GRACE)
    view = service_status("web", 2, "web:2", [ROLLING], first.status, 1, tasks=tasks)
    primary, active = view.status["deployments"]
    assert (primary["taskDefinition"], primary["runningCount"]) == ("web:2", 0)
    assert (active["taskDefinition"], active["runningCount"]) == ("web:1", 2)


REFUSED = WorkloadState(2, 2, 2, 0, 0, current=True, failed=False, failure="pods is forbidden")
UNPLACED = TaskSummary(unplaced=1, placement_reason="0/3 nodes are available")
FAILS = Rollout("web:2", "h", CircuitBreaker(rollback=False, threshold=3))
ROLLS_BACK = Rollout("web:2", "h", BREAKER)


@pytest.mark.parametrize(
    ("breaker", "workloads", "tasks", "reason", "stalled"),
    [
        pytest.param(None, [STEADY], None, "AsExpected", False, id="steady"),
        pytest.param(None, [ROLLING], UNPLACED, "AsExpected", False, id="unplaced"),
        pytest.param(None, [DEADLINE], None, "RolloutStuck", False, id="deadline"),
        pytest.param(None, [DEADLINE], UNPLACED, "RolloutStuck", False, id="deadline+unplaced"),
        pytest.param(None, [REFUSED], None, "TaskLaunchFailed", False, id="refused"),
        pytest.param(None, [DEADLINE, REFUSED], None, "TaskLaunchFailed", False, id="both"),
        pytest.param(FAILS, [ROLLING], CRASHING, "DeploymentFailed", True, id="breaker"),
        pytest.param(FAILS, [DEADLINE], None, "DeploymentFailed", True, id="breaker+deadline"),
        pytest.param(
            FAILS, [DEADLINE], UNPLACED, "DeploymentFailed", True, id="breaker-tripped+unplaced"
        ),
        pytest.param(FAILS, [REFUSED], CRASHING, "DeploymentFailed", True, id="breaker+refused"),
        pytest.param(ROLLS_BACK, [ROLLING], CRASHING, "RolledBack", True, id="rolled-back"),
    ],
)
def test_which_reason_a_degraded_service_gives(
    breaker: Rollout | None,
    workloads: list[WorkloadState],
    tasks: TaskSummary | None,
    reason: str,
    stalled: bool,
) -> None:
    """One reason at a time, in this order: the circuit breaker's verdict (``breaker``: the
    rollout of web:2 it failed), the API server's refusal of the tasks' pods, the rollout's
    deadline; an unplaced task only says so in Ready, since the cluster can still grow."""
    before: dict[str, Any] = {}
    if breaker is not None:
        completed = completed_on("web:1", Rollout("web:1", "h", breaker.breaker))
        before, _ = converge(completed, "web:2", [ROLLING], breaker, CRASHING)
    status, _ = converge(before, "web:2", workloads, breaker or Rollout("web:2"), tasks)
    conditions = {c["type"]: c for c in status["conditions"]}

    assert conditions["Degraded"]["reason"] == reason
    assert conditions["Degraded"]["status"] == ("False" if reason == "AsExpected" else "True")
    assert conditions["Stalled"]["status"] == ("True" if stalled else "False")


def test_a_second_update_while_the_first_fails_keeps_the_deployment_that_serves() -> None:
    """web:1 serves 2 tasks, web:2 crash-loops, then web:3 is pushed: ECS lists every
    deployment that has tasks left, each with its own, so web:1's 2 running tasks stay on
    web:1's deployment; one whose last task went is no longer listed."""
    before = completed_on("web:1", Rollout("web:1", "h"))
    crashing = WorkloadState(2, 4, 2, 2, 0, current=True, failed=False)
    serving = {"web:1": 2, "web:2": 0}
    failing, _ = converge(
        before, "web:2", [crashing], Rollout("web:2", "h"), TaskSummary(revisions=serving)
    )
    third, _ = converge(
        failing,
        "web:3",
        [WorkloadState(2, 6, 2, 2, 0, current=True, failed=False)],
        Rollout("web:3", "h"),
        TaskSummary(ready_revision=0, revisions={**serving, "web:3": 0}),
    )

    shown = [(d["taskDefinition"], d["status"], d["runningCount"]) for d in third["deployments"]]
    assert shown == [("web:3", "PRIMARY", 0), ("web:2", "ACTIVE", 0), ("web:1", "ACTIVE", 2)]
    gone, _ = converge(
        third,
        "web:3",
        [WorkloadState(2, 4, 2, 2, 0, current=True, failed=False)],
        Rollout("web:3", "h"),
        TaskSummary(ready_revision=0, revisions={"web:1": 2, "web:3": 0}),
    )
    assert [d["taskDefinition"] for d in gone["deployments"]] == ["web:3", "web:1"]


def test_a_completed_deployment_stays_completed() -> None:
    """ECS's deployment, once COMPLETED, stays so: scaling the service up, or a task whose
    non-essential container the kubelet keeps restarting (its pod ready, then not), read
    COMPLETED, then IN_PROGRESS again, then COMPLETED (seen on a real node). The service is
    not Ready while it runs fewer tasks than desired, and no rollout is said to progress."""
    completed = completed_on("web:1", Rollout("web:1", "h"))
    first = completed["deployments"][0]

    restarting = WorkloadState(2, 2, 2, 1, 1, current=True, failed=False)
    scaled, events = converge(completed, "web:1", [restarting], Rollout("web:1", "h"))

    (primary,) = scaled["deployments"]
    assert (primary["id"], primary["rolloutState"]) == (first["id"], "COMPLETED")
    conditions = {c["type"]: c for c in scaled["conditions"]}
    assert conditions["Progressing"]["status"] == "False"
    assert conditions["Ready"]["status"] == "False"
    assert not any("steady state" in e for e in events)
