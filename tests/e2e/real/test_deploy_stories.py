"""Service deployments on a real kubelet, as `aws ecs describe-services` shows them: a
non-essential container that crashes fails no deployment, a revision whose essential check
never passes is rolled back and its task says why, a second update pushed while the first
fails keeps the deployment that serves, and the rollback's deployment names what it rolls
back to. Every status the operator writes is watched (a watch on the Service), so a state
that lasts one write is seen as well as the last one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from kubernetes import watch
from tests.support.ecs import GROUP, VERSION, apply, events, status, wait_steady
from tests.support.kube import Kube, wait_for
from tests.support.stories import (
    CLUSTER,
    FAST_CHECK,
    container,
    describe_task,
    ecs_service,
    kubectl_ecs,
    story_namespace,
    task_definition,
)

pytestmark = pytest.mark.real

#: the pod annotation naming the revision a task runs
TASK_DEFINITION = "ecs-operator.dev/task-definition"

T = TypeVar("T")
FOREVER = "trap 'exit 0' TERM; while true; do sleep 0.2; done"


@pytest.fixture(scope="module")
def ns(ecs_operator: object, kube: Kube) -> Iterator[str]:
    yield from story_namespace(kube, "real-deploys")


class Writes:
    """Every status of one Service the API server sent a watch, in order (with the seconds
    since the watch began), from a thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def statuses(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s for _, s in self.seen]

    def timeline(self) -> str:
        """One line per status write: when, what runs, and each deployment in short."""
        lines = []
        with self.lock:
            for at, s in self.seen:
                shown = [
                    f"{d.get('taskDefinition', '?').rsplit('/', 1)[-1]} {d.get('status')} "
                    f"{d.get('rolloutState')} run={d.get('runningCount')} "
                    f"failed={d.get('failedTasks')} ({d.get('rolloutStateReason', '')[:70]})"
                    for d in s.get("deployments") or []
                ]
                lines.append(f"{at:6.1f}s {'; '.join(shown)}")
        return "\n".join(lines)


@contextmanager
def watching(kube: Kube, namespace: str, name: str) -> Iterator[Writes]:
    writes = Writes()
    stop = threading.Event()
    began = time.monotonic()

    def run() -> None:
        while not stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    kube.custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    namespace,
                    "services",
                    field_selector=f"metadata.name={name}",
                    timeout_seconds=5,
                ):
                    current = (event["object"] or {}).get("status") or {}
                    with writes.lock:
                        if not writes.seen or writes.seen[-1][1] != current:
                            writes.seen.append((time.monotonic() - began, current))
                    if stop.is_set():
                        break
            except Exception:  # a dropped watch is taken up again
                time.sleep(0.2)
            finally:
                stream.stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield writes
    finally:
        stop.set()
        thread.join(10)


def _wait(writes: Writes, check: Callable[[], T], timeout: float, what: str) -> T:
    """``wait_for``, failing with the timeline of the Service's status writes."""
    try:
        return wait_for(check, timeout, what)
    except AssertionError as failed:
        raise AssertionError(f"{failed}\n{writes.timeline()}") from None


def _task_ids(namespace: str, service: str, *flags: str) -> list[str]:
    listed = kubectl_ecs(namespace, "list-tasks", "--cluster", CLUSTER, "--service-name", service,
                         *flags, "-o", "json")  # fmt: skip
    return [arn.rsplit("/", 1)[-1] for arn in json.loads(listed)["taskArns"]]


def _revision(arn: str | None) -> str:
    """``web:2`` of a task definition ARN."""
    return str(arn or "").rsplit("/", 1)[-1]


def _steady_with_breaker(
    kube: Kube, ns: str, name: str, revision: dict[str, Any], count: int = 1, **config: Any
) -> dict[str, Any]:
    """A service ``name`` of ``revision``, steady; a new revision's tasks start beside the old
    ones (maximumPercent 200, minimumHealthyPercent 100)."""
    settings = {"maximumPercent": 200, "minimumHealthyPercent": 100, **config}
    apply(ns, revision, ecs_service(name, name, desiredCount=count,
                                    deploymentConfiguration=settings))  # fmt: skip
    return wait_steady(kube, ns, name, count)


def _completed_id(current: dict[str, Any]) -> str:
    [completed] = [d for d in current["deployments"] if d.get("rolloutState") == "COMPLETED"]
    return str(completed["id"])


def test_a_crashing_non_essential_container_fails_no_deployment(ns: str, kube: Kube) -> None:
    """A release adds a log shipper (non-essential) that exits 1 at once. On ECS its task runs
    on and the deployment is not failed for it; here too: the breaker (with rollback) neither
    fails nor rolls back the deployment and counts no failed task. Kubernetes counts the task
    not ready while the shipper is down (docs/mapping.md), so the deployment may not complete,
    or complete in a moment the shipper runs: what is promised is that it is not FAILED, over a
    minute of the shipper crash-looping, and that once COMPLETED it stays so (it flipped back
    to IN_PROGRESS with each restart)."""

    def revision(*extra: dict[str, Any]) -> dict[str, Any]:
        app = container(
            "app", FOREVER, healthCheck={"command": ["CMD-SHELL", "true"], **FAST_CHECK},
            stopTimeout=2,
        )  # fmt: skip
        return task_definition("shipper", app, *extra)

    breaker = {"enable": True, "rollback": True}
    _steady_with_breaker(kube, ns, "shipper", revision(), deploymentCircuitBreaker=breaker)
    [serving] = _task_ids(ns, "shipper")
    with watching(kube, ns, "shipper") as writes:
        apply(ns, revision(container("logs", "echo shipping; exit 1", essential=False)))

        def crashed() -> bool:
            """shipper:2's task is up and its shipper has exited (at least once)."""
            for pod in kube.pods(ns, "ecs-operator.dev/service=shipper"):
                for s in pod.status.container_statuses or []:
                    ended = s.last_state.terminated or s.state.terminated
                    if s.name == "logs" and ended is not None and ended.exit_code == 1:
                        return True
            return False

        _wait(writes, crashed, 60, "the shipper to exit 1")
        time.sleep(60)  # the breaker looks on while the shipper crash-loops
        last = status(kube, ns, "Service", "shipper")
    timeline = writes.timeline()
    print(timeline, *events(ns, "shipper"), sep="\n")
    seen = [*writes.statuses(), last]
    assert any(_revision(s.get("taskDefinition")) == "shipper:2" for s in seen), timeline
    for current in seen:
        assert not current.get("failedDeployment"), timeline
        for deployment in current.get("deployments") or []:
            assert deployment.get("rolloutState") != "FAILED", timeline
            if deployment.get("status") == "PRIMARY":
                assert deployment.get("failedTasks", 0) == 0, timeline
    rollout = [
        d.get("rolloutState")
        for current in seen
        for d in current.get("deployments") or []
        if d.get("status") == "PRIMARY" and _revision(d.get("taskDefinition")) == "shipper:2"
    ]
    completed = rollout.index("COMPLETED") if "COMPLETED" in rollout else len(rollout)
    assert set(rollout[completed:]) <= {"COMPLETED"}, timeline
    assert _revision(last["taskDefinition"]) == "shipper:2"  # no rollback
    assert not any("deployment failed" in m or "rolling back" in m for m in events(ns, "shipper"))
    # the shipper really crash-looped all along; shipper:2's task runs, its app RUNNING (the
    # task of revision one may have gone: the pod is ready for the moments the shipper runs)
    pods = kube.pods(ns, "ecs-operator.dev/service=shipper")
    restarts = [s.restart_count for p in pods for s in p.status.container_statuses or []
                if s.name == "logs"]  # fmt: skip
    assert restarts and max(restarts) >= 2, restarts
    tasks = [describe_task(ns, task_id) for task_id in _task_ids(ns, "shipper")]
    print(serving, [(t["taskId"], _revision(t["taskDefinitionArn"])) for t in tasks])
    [new] = [t for t in tasks if _revision(t["taskDefinitionArn"]) == "shipper:2"]
    assert new["lastStatus"] == "RUNNING", new
    assert {c["name"]: c["lastStatus"] for c in new["containers"]}["app"] == "RUNNING", new


def test_a_task_removed_for_its_failing_check_says_so(ns: str, kube: Kube) -> None:
    """A revision whose essential ``db`` never passes its health check, ``app`` waiting for it
    HEALTHY: the breaker fails the deployment and rolls back. The failed revision's task, as
    describe-tasks shows it once stopped, reads ECS's "Task failed container health checks",
    its ``db`` UNHEALTHY (the kubelet restarting the container for its check leaves it UNKNOWN
    once stopped; ECS keeps its last health)."""

    def revision(check: str) -> dict[str, Any]:
        db = container(
            "db", FOREVER, healthCheck={"command": ["CMD-SHELL", check], **FAST_CHECK},
            stopTimeout=2,
        )  # fmt: skip
        app = container(
            "app", FOREVER, stopTimeout=2,
            dependsOn=[{"containerName": "db", "condition": "HEALTHY"}],
        )  # fmt: skip
        return task_definition("store", db, app)

    # two failed tasks fail the deployment (ECS's COUNT threshold), to keep the story short
    breaker = {"enable": True, "rollback": True,
               "thresholdConfiguration": {"type": "COUNT", "value": 2}}  # fmt: skip
    _steady_with_breaker(kube, ns, "store", revision("true"), deploymentCircuitBreaker=breaker)
    with watching(kube, ns, "store") as writes:
        apply(ns, revision("false"))

        def stopped() -> list[str]:
            current = status(kube, ns, "Service", "store")
            if not (current.get("failedDeployment") or {}).get("rolledBackTo"):
                return []
            return _task_ids(ns, "store", "--desired-status", "STOPPED")

        [task_id] = _wait(writes, stopped, 90, "the rollback to stop store:2's task")
    print(writes.timeline())
    described = describe_task(ns, task_id)
    print(json.dumps(described, indent=1))
    assert _revision(described["taskDefinitionArn"]) == "store:2"
    assert described["stopCode"] == "ServiceSchedulerInitiated", described
    assert described["stoppedReason"] == "Task failed container health checks", described
    by_name = {c["name"]: c for c in described["containers"]}
    assert by_name["db"]["healthStatus"] == "UNHEALTHY", by_name
    assert by_name["db"]["lastStatus"] == "STOPPED"
    # the Service's own record of it reads the same
    [record] = [t for t in status(kube, ns, "Service", "store").get("stoppedTasks") or []
                if _revision(t.get("taskDefinition")) == "store:2"]  # fmt: skip
    assert record["stoppedReason"] == "Task failed container health checks", record


def test_a_second_update_while_the_first_fails_lists_the_deployment_that_serves(
    ns: str, kube: Kube
) -> None:
    """web:1 serves 2 tasks; web:2 crash-loops (no circuit breaker: ECS keeps trying); web:3 is
    pushed and takes a while to turn healthy. Meanwhile describe-services lists web:1's ACTIVE
    deployment with its 2 running tasks, as ECS lists every deployment that has tasks left,
    each with its own; web:3's completes in the end and only it is left."""

    def revision(script: str, check: dict[str, Any]) -> dict[str, Any]:
        app = container("app", script, healthCheck=check, stopTimeout=2)
        return task_definition("web", app)

    passing = {"command": ["CMD-SHELL", "true"], **FAST_CHECK}
    _steady_with_breaker(kube, ns, "web", revision(FOREVER, passing), count=2)
    served = sorted(_task_ids(ns, "web"))
    assert len(served) == 2
    with watching(kube, ns, "web") as writes:
        apply(ns, revision("echo crashing; exit 1", passing))

        def crash_looping() -> dict[str, Any] | None:
            """web:2's tasks have crashed, and the Service says so on web:2's deployment."""
            pods = kube.pods(ns, "ecs-operator.dev/service=web")
            restarted = [
                s.restart_count
                for p in pods
                if _revision((p.metadata.annotations or {}).get(TASK_DEFINITION)) == "web:2"
                for s in p.status.container_statuses or []
            ]
            current = status(kube, ns, "Service", "web")
            [primary, *_] = current.get("deployments") or [{}]
            failing = (
                _revision(primary.get("taskDefinition")) == "web:2"
                and primary.get("failedTasks", 0) >= 2
            )
            return current if failing and sum(restarted) >= 2 else None

        failing = _wait(writes, crash_looping, 60, "web:2's tasks to crash-loop")
        shown = {_revision(d["taskDefinition"]): d for d in failing["deployments"]}
        assert (shown["web:1"]["status"], shown["web:1"]["runningCount"]) == ("ACTIVE", 2)
        # web:3 turns healthy 20 s after it starts (its startPeriod lets the check fail so long)
        slow = {"command": ["CMD-SHELL", "test -f /tmp/ready"], **FAST_CHECK, "startPeriod": 40}
        apply(ns, revision(f"sleep 20; touch /tmp/ready; {FOREVER}", slow))

        def web3_with_web1_serving() -> dict[str, Any] | None:
            current = status(kube, ns, "Service", "web")
            shown = {
                _revision(d.get("taskDefinition")): d for d in current.get("deployments") or []
            }
            primary = shown.get("web:3", {})
            return current if primary.get("status") == "PRIMARY" and "web:1" in shown else None

        during = _wait(writes, web3_with_web1_serving, 30, "web:3's deployment beside web:1's")
        time.sleep(4)  # a few more passes while web:3 starts
        during = status(kube, ns, "Service", "web")
        steady = wait_steady(kube, ns, "web", 2, timeout=60)
    timeline = writes.timeline()
    print(timeline)
    shown = {_revision(d["taskDefinition"]): d for d in during["deployments"]}
    assert shown["web:3"]["status"] == "PRIMARY", timeline
    assert (shown["web:1"]["status"], shown["web:1"]["runningCount"]) == ("ACTIVE", 2), timeline
    assert shown.get("web:2", {}).get("runningCount", 0) == 0, timeline
    # in no status written did web:1's 2 tasks show on the crash-looping web:2's deployment
    for current in writes.statuses():
        for d in current.get("deployments") or []:
            if _revision(d.get("taskDefinition")) == "web:2":
                assert d.get("runningCount", 0) == 0, timeline
    assert [_revision(d["taskDefinition"]) for d in steady["deployments"]] == ["web:3"]
    assert not set(_task_ids(ns, "web")) & set(served)


def test_the_rollback_deployment_names_the_deployment_it_rolls_back_to(ns: str, kube: Kube) -> None:
    """A revision whose essential container exits at once trips the breaker; while the rollback
    deployment is IN_PROGRESS it reads, as on ECS, "ECS deployment circuit breaker: rolling
    back to deploymentId <the last COMPLETED deployment>.", the id the Service records in
    status.failedDeployment.rolledBackToDeployment."""

    def revision(script: str) -> dict[str, Any]:
        app = container(
            "api", script, healthCheck={"command": ["CMD-SHELL", "true"], **FAST_CHECK},
            stopTimeout=2,
        )  # fmt: skip
        return task_definition("ledger", app)

    breaker = {"enable": True, "rollback": True,
               "thresholdConfiguration": {"type": "COUNT", "value": 2}}  # fmt: skip
    first = _steady_with_breaker(kube, ns, "ledger", revision(FOREVER),
                                 deploymentCircuitBreaker=breaker)  # fmt: skip
    completed = _completed_id(first)
    with watching(kube, ns, "ledger") as writes:
        apply(ns, revision("echo broken; exit 1"))

        def rolled_back() -> dict[str, Any] | None:
            current = status(kube, ns, "Service", "ledger")
            back = (current.get("failedDeployment") or {}).get("rolledBackTo")
            return current if back else None

        current = _wait(writes, rolled_back, 90, "the circuit breaker to roll ledger back")
        steady = wait_steady(kube, ns, "ledger", 1, timeout=60)
    timeline = writes.timeline()
    print(timeline)
    marker = current["failedDeployment"]
    assert _revision(marker["taskDefinition"]) == "ledger:2"
    assert marker.get("rolledBackToDeployment") == completed, (marker, timeline)
    expected = f"ECS deployment circuit breaker: rolling back to deploymentId {completed}."
    rollback_reasons = [
        d.get("rolloutStateReason")
        for s in writes.statuses()
        for d in s.get("deployments") or []
        if d.get("status") == "PRIMARY"
        and _revision(d.get("taskDefinition")) == "ledger:1"
        and d.get("rolloutState") == "IN_PROGRESS"
    ]
    assert rollback_reasons and set(rollback_reasons) == {expected}, timeline
    assert _revision(steady["deployments"][0]["taskDefinition"]) == "ledger:1"
