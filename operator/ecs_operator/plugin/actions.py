"""The ``kubectl ecs`` verbs that act or wait, in the aws CLI's words: ``logs`` and
``execute-command`` (kubectl logs / exec on the task's pod, with ECS task ids and container
names), ``wait services-stable | tasks-stopped`` (the aws CLI's waiters) and ``update-service
--force-new-deployment``.

Task ids are pod names (a service's task is its pod; RunTask's are ``<task>-<i>``), or the ECS
API's ids of the same tasks (``api.identifiers.task_id``), and a pod
records its ECS container names against the Kubernetes ones (the renderer's
``ecs-operator.dev/container-names`` annotation), so the translation needs no cluster.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ecs_operator.api.identifiers import short_name
from ecs_operator.render import keys
from ecs_operator.status.task import ecs_names

from . import views
from .task_views import plugin_task_id

Body = dict[str, Any]

#: The aws CLI's waiters: services-stable polls every 15 s, 40 times; tasks-stopped every 6 s,
#: 100 times. Here the poll is faster (a read of the API server costs little) with the same
#: deadlines.
SERVICES_STABLE_TIMEOUT = 600.0
TASKS_STOPPED_TIMEOUT = 600.0
POLL_SECONDS = 2.0


class ActionError(Exception):
    """What cannot be done, said in the aws CLI's terms."""


def _pod(pods: Iterable[Body], task: str) -> Body:
    """The pod of ``task``: its id (the pod's name) or the ECS API's id for it, or an ARN (the
    pods are one namespace's, the plugin's)."""
    by_name = {p["metadata"]["name"]: p for p in pods}
    namespace = next((p["metadata"]["namespace"] for p in by_name.values()), "")
    wanted = plugin_task_id(task, namespace, by_name)
    if wanted not in by_name:
        raise ActionError(
            f"no task {wanted} has a pod in this namespace (a stopped task's pod is removed after "
            "the operator's --task-retention)"
        )
    return by_name[wanted]


def _container(pod: Body, container: str | None) -> str | None:
    """The Kubernetes name of the pod's container with this ECS name (None: kubectl's default,
    when the task has one container)."""
    names = ecs_names(pod)
    if container is None:
        if len(names) > 1:
            listed = ", ".join(sorted(names.values()))
            raise ActionError(
                f"the task has several containers: name one with --container ({listed})"
            )
        return None
    k8s = next((k for k, ecs in names.items() if ecs == container), None)
    if k8s is None:
        raise ActionError(f"the task has no container named {container}")
    return k8s


def _kubectl(kubectl: Sequence[str], verb: str, pod: Body, container: str | None) -> list[str]:
    argv = [*kubectl, verb, "-n", pod["metadata"]["namespace"]]
    return argv + (["-c", container] if container else [])


def logs_argv(
    kubectl: Sequence[str], pods: Iterable[Body], task: str, container: str | None, follow: bool
) -> list[str]:
    """``kubectl logs`` of an ECS task's container."""
    pod = _pod(pods, task)
    argv = _kubectl(kubectl, "logs", pod, _container(pod, container))
    return [*argv, *(["-f"] if follow else []), pod["metadata"]["name"]]


def execute_command_argv(
    kubectl: Sequence[str],
    pods: Iterable[Body],
    task: str,
    container: str | None,
    command: str,
    interactive: bool,
) -> list[str]:
    """``kubectl exec`` for ``aws ecs execute-command``: the command line as ECS Exec runs it."""
    pod = _pod(pods, task)
    argv = _kubectl(kubectl, "exec", pod, _container(pod, container))
    flags = ["-i", "-t"] if interactive else []
    return [*argv, *flags, pod["metadata"]["name"], "--", *shlex.split(command)]


def stable(service: Body) -> bool:
    """The aws CLI's services-stable: one deployment, and as many running as desired."""
    return len(service["deployments"]) == 1 and service["runningCount"] == service["desiredCount"]


def wait_until(
    read: Callable[[], tuple[bool, str]],
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll ``read`` (done?, what is still awaited) until done, or fail as the aws CLI does."""
    deadline = clock() + timeout
    while True:
        done, waiting = read()
        if done:
            return
        if clock() >= deadline:
            raise ActionError(f"Waiter failed: max attempts exceeded ({waiting})")
        sleep(POLL_SECONDS)


def services_stable(described: Body, behind: Collection[str] = ()) -> tuple[bool, str]:
    """Whether every service of a describe-services answer is stable, and which are not;
    ``behind``: services whose status is older than their spec (views.behind_their_spec), not
    stable whatever it reads, since it reads what ran before the change."""
    if described["failures"]:
        return False, "MISSING: " + ", ".join(f["arn"] for f in described["failures"])
    unstable = [
        s["serviceName"]
        for s in described["services"]
        if not stable(s) or s["serviceName"] in behind
    ]
    return not unstable, "not stable: " + ", ".join(unstable)


def tasks_stopped(described: Body) -> tuple[bool, str]:
    """Whether every task of a describe-tasks answer is STOPPED, and which are not."""
    if described["failures"]:
        return False, "MISSING: " + ", ".join(f["arn"] for f in described["failures"])
    running = [t["taskId"] for t in described["tasks"] if t["lastStatus"] != "STOPPED"]
    return not running, "not stopped: " + ", ".join(running)


def force_new_deployment_patch(now: datetime | None = None) -> Body:
    """The merge patch of ``update-service --force-new-deployment``: a new value of the
    annotation that makes the operator replace the service's tasks."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"metadata": {"annotations": {keys.ANNOTATION_FORCE_NEW_DEPLOYMENT: stamp}}}


def service_object(bodies: Iterable[Body], cluster: str, service: str) -> Body:
    """The Service object of an ECS service name or ARN in a cluster."""
    name = short_name(service)
    found = next(
        (b for b in views.in_cluster(bodies, cluster) if views.service_name(b) == name), None
    )
    if found is None:
        raise ActionError(
            f"ServiceNotFoundException: service {name} not found in cluster {cluster}"
        )
    return found
