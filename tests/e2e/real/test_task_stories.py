"""RunTask on a real kubelet: what ECS users see when containers really run, exit, ignore
signals, run out of memory and wait for each other. Every task runs on the real node pool of
the module's Cluster; what is asserted is what `aws ecs describe-tasks` would show (the Task's
status, `kubectl ecs describe-tasks`) and what the containers themselves printed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from tests.support.ecs import apply, events, status
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.stories import (
    FAST_CHECK,
    IMAGE,
    container,
    containers_of,
    describe_task,
    kubectl_ecs,
    run_task,
    story_namespace,
    task_definition,
    task_record,
    wait_task,
)

from ecs_operator.api.identifiers import task_id
from ecs_operator.render.secrets import parse_value_from

pytestmark = pytest.mark.real


def _stamp(name: str, event: str) -> str:
    """A shell line appending ``name event uptime`` to the task's shared volume: the node's
    uptime (1/100 s) is one clock for every container of the task."""
    return f"echo \"{name} {event} $(cut -d' ' -f1 /proc/uptime)\" >> /shared/order"


@pytest.fixture(scope="module")
def ns(ecs_operator: object, kube: Kube) -> Iterator[str]:
    yield from story_namespace(kube, "real-tasks")


def test_an_essential_exit_stops_the_task_a_non_essential_one_does_not(ns: str, kube: Kube) -> None:
    apply(
        ns,
        task_definition(
            "exit-three",
            # the essential container waits for the test's go, then fails with 3
            container(
                "main",
                "echo report started; until [ -f /tmp/go ]; do sleep 0.2; done; "
                "echo failing with 3 >&2; exit 3",
            ),
            container("helper", "echo helper done", essential=False),
        ),
        run_task("exit-three", "exit-three"),
    )

    def helper_done() -> dict[str, object] | None:
        record = task_record(kube, ns, "exit-three")
        helper = containers_of(record).get("helper", {})
        return record if helper.get("lastStatus") == "STOPPED" else None

    record = wait_for(helper_done, 90, "the non-essential helper to exit")
    # the helper's exit did not stop the task: it runs on, its main container too
    assert record["lastStatus"] == "RUNNING"
    assert containers_of(record)["helper"]["exitCode"] == 0
    assert containers_of(record)["main"]["lastStatus"] == "RUNNING"
    assert describe_task(ns, "exit-three-0")["lastStatus"] == "RUNNING"
    # what it runs, as ECS shows it: the image as written, the id containerd runs it under
    pod = json.loads(kubectl("get", "pod", "exit-three-0", "-n", ns, "-o", "json").stdout)
    [main] = [s for s in pod["status"]["containerStatuses"] if s["name"] == "main"]
    shown = containers_of(describe_task(ns, "exit-three-0"))["main"]
    assert (shown["image"], shown["runtimeId"]) == (IMAGE, main["containerID"].split("://")[1])

    kubectl_ecs(
        ns, "execute-command", "--cluster", "real", "--task", "exit-three-0",
        "--container", "main", "--command", "touch /tmp/go",
    )  # fmt: skip
    stopped = wait_task(kube, ns, "exit-three", "STOPPED")
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert containers_of(stopped)["main"]["exitCode"] == 3
    assert status(kube, ns, "Task", "exit-three")["lastStatus"] == "STOPPED"
    # the logs outlive the task for the operator's retention: both streams, in order
    logs = kubectl_ecs(
        ns, "logs", "--cluster", "real", "--task", "exit-three-0", "--container", "main"
    )
    assert logs.splitlines() == ["report started", "failing with 3"]
    assert any("(exit code 3)" in m for m in events(ns, "exit-three"))


def test_stop_task_sends_sigterm_and_kills_what_ignores_it_after_stop_timeout(
    ns: str, kube: Kube
) -> None:
    """StopTask (desiredStatus STOPPED): each container gets SIGTERM; one that traps it exits
    cleanly, one that ignores it is killed (137) once stopTimeout has passed."""
    loop = "while true; do sleep 0.2; done"
    apply(
        ns,
        task_definition(
            "stoppable",
            container(
                "polite",
                f"trap 'echo got SIGTERM; exit 0' TERM; echo polite up; {loop}",
                stopTimeout=3,
            ),
            container("stubborn", f"trap '' TERM; echo stubborn up; {loop}", stopTimeout=3),
        ),
        run_task("stoppable", "stoppable"),
    )
    wait_task(kube, ns, "stoppable", "RUNNING")
    kubectl("patch", "task", "stoppable", "-n", ns, "--type=merge",
            "-p", '{"spec": {"desiredStatus": "STOPPED"}}')  # fmt: skip

    stopped = wait_task(kube, ns, "stoppable", "STOPPED")
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "Task stopped by user"
    exits = {name: c.get("exitCode") for name, c in containers_of(stopped).items()}
    assert exits == {"polite": 0, "stubborn": 137}
    logs = kubectl_ecs(
        ns, "logs", "--cluster", "real", "--task", "stoppable-0", "--container", "polite"
    )
    assert logs.splitlines() == ["polite up", "got SIGTERM"]


def test_a_container_over_its_memory_limit_is_reported_as_ecs_reports_an_oom_kill(
    ns: str, kube: Kube
) -> None:
    apply(
        ns,
        # dd's 64 MiB block is one buffer in memory: far over the 24 MiB hard limit
        task_definition(
            "hungry",
            container("hog", "dd if=/dev/zero of=/dev/null bs=64M count=1", memory=24),
        ),
        run_task("hungry", "hungry"),
    )
    stopped = wait_task(kube, ns, "hungry", "STOPPED")
    hog = containers_of(stopped)["hog"]
    assert hog["exitCode"] == 137
    assert hog["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert describe_task(ns, "hungry-0")["containers"][0]["reason"] == hog["reason"]


def test_secrets_environment_and_the_process_settings_reach_the_process(
    ns: str, kube: Kube
) -> None:
    """``secrets`` from a Kubernetes Secret (named as docs/mapping.md says), ``environment`` and
    a RunTask override of it, ``entryPoint`` + ``command`` as Docker's ENTRYPOINT + CMD,
    ``workingDirectory`` and ``user`` uid:gid, as the process sees them."""
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/stories/api-token"
    source = parse_value_from(arn)
    kubectl("create", "secret", "generic", source.k8s_name, "-n", ns,
            f"--from-literal={source.k8s_key}=s3cr3t")  # fmt: skip
    script = (
        'echo "user=$(id -u):$(id -g) dir=$(pwd) args=$0,$1 '
        'greeting=$GREETING place=$PLACE token=$API_TOKEN"'
    )
    apply(
        ns,
        task_definition(
            "settings",
            {
                **container("show", script),
                "command": [script, "zero", "one"],
                "workingDirectory": "/tmp",
                "user": "1234:2345",
                "environment": [
                    {"name": "GREETING", "value": "hello"},
                    {"name": "PLACE", "value": "task definition"},
                ],
                "secrets": [{"name": "API_TOKEN", "valueFrom": arn}],
            },
        ),
        run_task(
            "settings",
            "settings",
            overrides={
                "containerOverrides": [
                    {"name": "show", "environment": [{"name": "PLACE", "value": "override"}]}
                ]
            },
        ),
    )
    stopped = wait_task(kube, ns, "settings", "STOPPED")
    assert containers_of(stopped)["show"]["exitCode"] == 0
    logs = kubectl_ecs(ns, "logs", "--cluster", "real", "--task", "settings-0")
    assert logs.strip() == (
        "user=1234:2345 dir=/tmp args=zero,one greeting=hello place=override token=s3cr3t"
    )


def _order(logs: str) -> dict[str, float]:
    """``{"name event": uptime}`` of the stamps the app printed."""
    return {m[1]: float(m[2]) for m in re.finditer(r"^(\S+ \S+) ([\d.]+)$", logs, re.M)}


def test_depends_on_start_complete_success_and_healthy_order_the_containers(
    ns: str, kube: Kube
) -> None:
    """Each container stamps the shared volume when it starts (and the run-to-completion ones
    when they end); the essential app prints the stamps once it runs: every dependency's
    condition held before it started."""
    # every container: the pod's grace period is the longest stopTimeout (ECS's default 30)
    shared = {
        "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}],
        "stopTimeout": 2,
    }
    forever = "while true; do sleep 1; done"
    ready = "touch /tmp/ready"
    apply(
        ns,
        task_definition(
            "ordered",
            container(
                "setup",
                f"{_stamp('setup', 'start')}; sleep 1; {_stamp('setup', 'end')}",
                essential=False,
                **shared,
            ),
            container(
                "migrate",
                f"{_stamp('migrate', 'start')}; sleep 1; {_stamp('migrate', 'end')}",
                essential=False,
                **shared,
            ),
            container(
                "proxy",
                f"{_stamp('proxy', 'start')}; {forever}",
                essential=False,
                **shared,
            ),
            container(
                "db",
                f"sleep 2; {ready}; {_stamp('db', 'ready')}; {forever}",
                essential=False,
                **shared,
                healthCheck={"command": ["CMD-SHELL", "test -f /tmp/ready"], **FAST_CHECK},
            ),
            container(
                "app",
                f"{_stamp('app', 'start')}; cat /shared/order",
                **shared,
                dependsOn=[
                    {"containerName": "setup", "condition": "COMPLETE"},
                    {"containerName": "migrate", "condition": "SUCCESS"},
                    {"containerName": "proxy", "condition": "START"},
                    {"containerName": "db", "condition": "HEALTHY"},
                ],
            ),
            volumes=[{"name": "shared"}],
        ),
        run_task("ordered", "ordered"),
    )
    stopped = wait_task(kube, ns, "ordered", "STOPPED", timeout=120)
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert containers_of(stopped)["app"]["exitCode"] == 0
    logs = kubectl_ecs(ns, "logs", "--cluster", "real", "--task", "ordered-0", "--container", "app")
    at = _order(logs)
    started = at["app start"]
    assert at["setup end"] <= started  # COMPLETE: it ran to its end first
    assert at["migrate end"] <= started  # SUCCESS: it ended (with 0) first
    assert at["proxy start"] <= started  # START: it was started first
    assert at["db ready"] <= started  # HEALTHY: its check passed first (it is only ready then)
    assert at["setup end"] <= at["migrate start"]  # the run-to-completion ones in ECS order


def test_a_success_dependency_that_fails_stops_the_task_before_its_dependent_starts(
    ns: str, kube: Kube
) -> None:
    apply(
        ns,
        task_definition(
            "bad-migration",
            container("migrate", "echo migration failed >&2; exit 1", essential=False),
            {
                **container("app", "echo app ran"),
                "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}],
            },
        ),
        run_task("bad-migration", "bad-migration"),
    )
    stopped = wait_task(kube, ns, "bad-migration", "STOPPED")
    by_name = containers_of(stopped)
    assert by_name["migrate"]["exitCode"] == 1
    assert "exitCode" not in by_name["app"]  # the app never ran
    assert stopped["stopCode"] == "TaskFailedToStart"
    degraded = next(c for c in status(kube, ns, "Task", "bad-migration")["conditions"]
                    if c["type"] == "Degraded")  # fmt: skip
    assert degraded["status"] == "True"


def test_a_task_whose_image_cannot_be_pulled_stops_as_failed_to_start(ns: str, kube: Kube) -> None:
    """The kubelet backs off pulling an image that does not exist for as long as the pod lives;
    ECS stops such a task (TaskFailedToStart, CannotPullContainerError), and so does the
    operator once the kubelet's retries had their time (the tests' operator: 3 s)."""
    image = "registry.invalid/nothing:1"
    apply(
        ns,
        task_definition("typo", {**container("app", "echo never"), "image": image}),
        run_task("typo", "typo"),
    )
    stopped = wait_task(kube, ns, "typo", "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    reason = stopped["stoppedReason"]
    assert reason.startswith("CannotPullContainerError: ") and image in reason, reason
    assert containers_of(stopped)["app"] == {
        "name": "app", "lastStatus": "STOPPED", "reason": reason, "healthStatus": "UNKNOWN",
        "image": image,  # as the task definition wrote it; never pulled, so no digest
    }  # fmt: skip
    # the kubelet stopped the pod (its deadline cut): the record keeps ECS's reason
    wait_for(
        lambda: kubectl(
            "get", "pod", "typo-0", "-n", ns, "-o", "jsonpath={.status.phase}"
        ).stdout == "Failed",
        60,
        "the kubelet to stop the pod",
    )  # fmt: skip
    assert task_record(kube, ns, "typo")["stoppedReason"] == reason


def test_a_task_whose_entry_point_does_not_exist_stops_as_failed_to_start(
    ns: str, kube: Kube
) -> None:
    """The runtime cannot start a container whose program does not exist: ECS says
    CannotStartContainerError, not that an essential container exited."""
    apply(
        ns,
        task_definition("no-program", {**container("app", ""), "entryPoint": ["/no/such/program"]}),
        run_task("no-program", "no-program"),
    )
    stopped = wait_task(kube, ns, "no-program", "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    reason = stopped["stoppedReason"]
    assert reason.startswith("CannotStartContainerError: ") and "/no/such/program" in reason
    assert containers_of(stopped)["app"]["reason"] == reason


def test_a_run_task_whose_health_check_fails_keeps_running_unhealthy(ns: str, kube: Kube) -> None:
    """ECS: a task run outside a service continues regardless of its health; its health is
    reported (task and container ``healthStatus``)."""
    apply(
        ns,
        task_definition(
            "unwell",
            {
                **container("app", "touch /tmp/ok; while true; do sleep 0.2; done"),
                "healthCheck": {"command": ["CMD-SHELL", "test -f /tmp/ok"], **FAST_CHECK},
                "stopTimeout": 2,
            },
        ),
        run_task("unwell", "unwell"),
    )
    wait_for(
        lambda: task_record(kube, ns, "unwell").get("healthStatus") == "HEALTHY",
        60,
        "the task's check to pass",
    )
    kubectl_ecs(ns, "execute-command", "--cluster", "real", "--task", "unwell-0",
                "--command", "rm /tmp/ok")  # fmt: skip
    record = wait_for(
        lambda: (r := task_record(kube, ns, "unwell")).get("healthStatus") == "UNHEALTHY" and r,
        60,
        "the task to turn UNHEALTHY",
    )
    assert record["lastStatus"] == "RUNNING"
    assert containers_of(record)["app"]["healthStatus"] == "UNHEALTHY"
    pod = kube.core.read_namespaced_pod("unwell-0", ns)
    assert pod.status.container_statuses[0].restart_count == 0  # never killed for it


def test_a_container_reads_its_task_from_the_task_metadata_endpoint(ns: str, kube: Kube) -> None:
    """``${ECS_CONTAINER_METADATA_URI_V4}`` and ``…/task``, as software written for ECS reads
    them (log routers, collectors, an application logging its task ARN): from inside the
    container, through the chart's Service in front of the operator."""
    # the task reads RUNNING once the kubelet's report of its pod has reached the operator
    read = (
        'n=0; until wget -qO /tmp/task "$ECS_CONTAINER_METADATA_URI_V4/task" '
        '&& grep -q \'"KnownStatus": "RUNNING"\' /tmp/task; '
        "do n=$((n+1)); [ $n -lt 30 ] || exit 7; sleep 1; done; "
        'cat /tmp/task; echo; wget -qO- "$ECS_CONTAINER_METADATA_URI_V4"; echo'
    )
    apply(
        ns,
        task_definition(
            "metadata",
            container("reader", read, dockerLabels={"team": "reports"}),
            cpu="256",
            memory="128",
        ),
        run_task("metadata", "metadata"),
    )
    stopped = wait_task(kube, ns, "metadata", "STOPPED")
    assert containers_of(stopped)["reader"]["exitCode"] == 0
    logs = kubectl_ecs(ns, "logs", "--cluster", "real", "--task", "metadata-0")
    task, itself = (json.loads(line) for line in logs.splitlines())
    assert task["TaskARN"].endswith(f":task/real/{task_id(ns, 'metadata-0')}")
    assert (task["Cluster"], task["Family"], task["Revision"]) == ("real", "metadata", "1")
    assert (task["KnownStatus"], task["Limits"]) == ("RUNNING", {"CPU": 0.25, "Memory": 128})
    [reader] = task["Containers"]
    assert itself["DockerId"] == reader["DockerId"] == stopped["containers"][0]["runtimeId"]
    assert (itself["Name"], itself["KnownStatus"]) == ("reader", "RUNNING")
    assert itself["Labels"]["team"] == "reports"
    assert itself["Labels"]["com.amazonaws.ecs.task-arn"] == task["TaskARN"]
    assert itself["Networks"][0]["IPv4Addresses"]


def test_a_task_a_drain_evicts_is_stopped_by_kubernetes_not_by_its_container(
    ns: str, kube: Kube
) -> None:
    """A drain evicts a batch job that finishes its item on SIGTERM and exits 0. On the real
    node the kubelet stops the container before the pod goes, and that exit read as the
    essential container's: EssentialContainerExited, exit 0, the Task a success, for a job
    that did not finish. Kubernetes took it: TerminationNotice, in Kubernetes' words, the Task
    Degraded, and never started again. (The drain selects the task's pod only: the operator
    and the other stories run on the same node.)"""
    job = container("job", "trap 'exit 0' TERM; while true; do sleep 0.2; done", stopTimeout=2)
    apply(ns, task_definition("evicted", job), run_task("evicted", "evicted"))
    wait_task(kube, ns, "evicted", "RUNNING")
    try:
        kubectl(
            "drain", "real-0", "--ignore-daemonsets", "--delete-emptydir-data",
            "--pod-selector=ecs-operator.dev/family=evicted", "--timeout=60s",
        )  # fmt: skip
        stopped = wait_task(kube, ns, "evicted", "STOPPED")
    finally:
        kubectl("uncordon", "real-0")
    assert stopped["stopCode"] == "TerminationNotice", stopped
    assert stopped["stoppedReason"].startswith("Task stopped by Kubernetes"), stopped
    assert containers_of(stopped)["job"]["lastStatus"] == "STOPPED"
    current = status(kube, ns, "Task", "evicted")
    degraded = next(c for c in current["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True", degraded
    assert len(current["tasks"]) == 1
