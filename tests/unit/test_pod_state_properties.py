"""Whatever a kubelet reports of a task's pod, the operator reports a task ECS could: the pods
of a Task and of a Service are given statuses drawn from what the API server takes (every
phase, each container waiting, running or terminated with any exit code, restarts, a
deletion under way, an eviction, a node's zone, an address), and their object is reconciled.
No reconcile raises (a raise is retried on the backoff forever and nothing is reported), a
settled pass writes nothing, and what the ECS API then answers about the tasks and the
service is one ECS could send (``tests/support/ecs_answers.py``, botocore's model)."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import ecs_answers

from ecs_operator.ecsapi import services, tasks, wire
from ecs_operator.handlers import service, task
from ecs_operator.handlers.context import Settings, Timers
from ecs_operator.kube.events import EventRecorder
from ecs_operator.kube.resources import DEPLOYMENT, POD, resource_of
from ecs_operator.nodes import LABEL_ZONE
from ecs_operator.render.keys import ANNOTATION_STOPPED_TASKS

from .fakes import NOW, FakeApi, context, deployer, reconciled, stamp
from .render.strategies import DETERMINISTIC
from .test_reconcile_service import DEFAULT_CLUSTER, ecs

Json = dict[str, Any]
#: a task definition with an essential container, a non-essential one (a native sidecar) and
#: a health check, so that a pod's containers take every part ECS gives them
DEFINITION = {
    "family": "web",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "nginx:1.27",
            "memory": 128,
            "healthCheck": {"command": ["CMD-SHELL", "true"]},
            "portMappings": [{"containerPort": 80}],
        },
        {"name": "log", "image": "fluent/fluent-bit:3", "memory": 64, "essential": False},
    ],
}
TIMES = st.sampled_from([stamp(NOW - 60), stamp(NOW - 5), stamp(NOW)])
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
WAITING = st.fixed_dictionaries(
    {},
    optional={
        "reason": st.sampled_from(
            [
                "ContainerCreating",
                "PodInitializing",
                "ErrImagePull",
                "ImagePullBackOff",
                "CrashLoopBackOff",
                "CreateContainerConfigError",
                "RunContainerError",
            ]
        ),
        "message": TEXT,
    },
)
TERMINATED = st.fixed_dictionaries(
    {"exitCode": st.integers(-1, 255)},
    optional={
        "reason": st.sampled_from(["Completed", "Error", "OOMKilled", "StartError", "Unknown"]),
        "signal": st.integers(0, 15),
        "message": TEXT,
        "startedAt": TIMES,
        "finishedAt": TIMES,
        "containerID": st.just("containerd://9f1c"),
    },
)
STATE = st.one_of(
    st.just({}),
    WAITING.map(lambda s: {"waiting": s}),
    st.fixed_dictionaries({}, optional={"startedAt": TIMES}).map(lambda s: {"running": s}),
    TERMINATED.map(lambda s: {"terminated": s}),
)
CONDITION = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Ready", "PodScheduled", "DisruptionTarget", "Initialized"]),
        "status": st.sampled_from(["True", "False", "Unknown"]),
    },
    optional={"reason": TEXT, "message": TEXT, "lastTransitionTime": TIMES},
)


COUNT = st.integers(0, 3)
#: a Deployment's status as its controller writes it, rollouts and failures included
DEPLOYMENT_STATUS = st.fixed_dictionaries(
    {},
    optional={
        "observedGeneration": st.integers(0, 2),
        "replicas": COUNT,
        "updatedReplicas": COUNT,
        "readyReplicas": COUNT,
        "availableReplicas": COUNT,
        "unavailableReplicas": COUNT,
        "conditions": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["Progressing", "Available", "ReplicaFailure"]),
                    "status": st.sampled_from(["True", "False"]),
                },
                optional={
                    "reason": st.sampled_from(
                        [
                            "NewReplicaSetAvailable",
                            "ReplicaSetUpdated",
                            "ProgressDeadlineExceeded",
                            "MinimumReplicasAvailable",
                            "FailedCreate",
                        ]
                    ),
                    "message": TEXT,
                },
            ),
            max_size=3,
        ),
    },
)


def _container_status(name: str) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"name": st.just(name), "state": STATE},
        optional={
            "lastState": STATE,
            "ready": st.booleans(),
            "started": st.booleans(),
            "restartCount": st.integers(0, 5),
            "image": st.just("docker.io/library/nginx:1.27"),
            "imageID": st.sampled_from(["", "docker.io/library/nginx@sha256:" + "a" * 64]),
            "containerID": st.just("containerd://4b2e"),
        },
    )


def _statuses(names: list[str]) -> st.SearchStrategy[list[Json]]:
    """Statuses of some of ``names`` (a kubelet reports them all, or none yet)."""
    picked = (
        st.lists(st.sampled_from(names), unique=True, max_size=len(names)) if names else st.just([])
    )
    return picked.flatmap(
        lambda chosen: st.tuples(*(_container_status(n) for n in chosen)).map(list)
    )


def pod_changes(pod: Json) -> st.SearchStrategy[Json]:
    """``pod`` as a kubelet, the scheduler and the API server may have changed it."""
    spec = pod["spec"]
    containers = [c["name"] for c in spec.get("containers", [])]
    sidecars = [c["name"] for c in spec.get("initContainers", [])]
    status = st.fixed_dictionaries(
        {},
        optional={
            "phase": st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown"]),
            "startTime": TIMES,
            "reason": st.sampled_from(["Evicted", "DeadlineExceeded", "NodeLost", "Terminated"]),
            "message": TEXT,
            "podIP": st.just("10.244.1.7"),
            "podIPs": st.just([{"ip": "10.244.1.7"}]),
            "hostIP": st.just("172.18.0.3"),
            "conditions": st.lists(CONDITION, max_size=3),
            "containerStatuses": _statuses(containers),
            "initContainerStatuses": _statuses(sidecars),
        },
    )
    return st.fixed_dictionaries(
        {"status": status},
        optional={
            "nodeName": st.sampled_from(["node-1", "fargate-1"]),
            "zone": st.sampled_from(["us-east-1a", ""]),
            "deleting": TIMES,
        },
    ).map(lambda change: _changed(pod, change))


def _changed(pod: Json, change: Json) -> Json:
    changed = copy.deepcopy(pod)
    changed["status"] = change["status"]
    if "nodeName" in change:
        changed["spec"]["nodeName"] = change["nodeName"]
    if change.get("zone"):
        changed["metadata"].setdefault("labels", {})[LABEL_ZONE] = change["zone"]
    if "deleting" in change:
        changed["metadata"]["deletionTimestamp"] = change["deleting"]
    return changed


def _answers_ecs_could_send(api: FakeApi) -> None:
    """What the ECS API answers about the namespace's tasks (running and stopped) and its
    service ``web``."""
    caller = deployer(api)
    answers = {}
    for desired in ("RUNNING", "STOPPED"):
        listed = asyncio.run(tasks.list_cluster_tasks(caller, {"desiredStatus": desired}))
        answers[f"ListTasks {desired}"] = listed
        if listed["taskArns"]:
            described = asyncio.run(tasks.describe(caller, {"tasks": listed["taskArns"]}))
            answers[f"DescribeTasks {desired}"] = described
    answers["DescribeServices"] = asyncio.run(services.describe(caller, {"services": ["web"]}))
    for asked, answer in answers.items():
        sent = json.loads(json.dumps(wire.to_wire(answer, "eu-west-1", "123456789012")))
        operation = asked.split()[0]
        assert not ecs_answers.problems(operation, sent), (asked, sent)


#: statuses written as soon as decided (the operator waits to coalesce them, kube/writer.py)
IMMEDIATE = Settings(timers=Timers(status_settle=0.0, status_settle_in_progress=0.0))


def _settled(api: FakeApi, kind: str, name: str, changed: list[Json]) -> None:
    """``changed`` objects as the watch brings them, then the object reconciled until settled:
    a third pass writes nothing."""

    async def run() -> None:
        ctx = context(api, IMMEDIATE)
        for body in changed:
            ctx.store.put(resource_of(body), api.replace(body))
        reconcile = {"Service": service.reconcile, "Task": task.reconcile}[kind]
        for _ in range(2):
            await reconcile(ctx, "shop", name)
            await cast(EventRecorder, ctx.events).drain()
        api.forget_requests()
        await reconcile(ctx, "shop", name)
        assert api.written == [], (kind, changed)

    asyncio.run(run())


def _started(*objects: Json) -> FakeApi:
    """A namespace with its default Cluster, the family ``web`` and ``objects``, reconciled (a
    Task's pods created, a Service's Deployment)."""
    api = FakeApi(DEFAULT_CLUSTER, ecs("TaskDefinition", "web", DEFINITION), *objects)
    asyncio.run(reconciled(api))
    return api


TASK = _started(ecs("Task", "job", {"taskDefinition": "web", "count": 2}))
SERVICE = _started(
    ecs("Service", "web", {"serviceName": "web", "taskDefinition": "web", "desiredCount": 2})
)


def _service_pod(deployment: Json, index: int) -> Json:
    """A pod of the service's Deployment, as its ReplicaSet makes one."""
    template = deployment["spec"]["template"]
    metadata = copy.deepcopy(template["metadata"])
    metadata.update(name=f"web-7c9d8-{index}", namespace="shop", creationTimestamp=stamp(NOW - 60))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template["spec"]),
    }


def _task_pods(api: FakeApi) -> list[Json]:
    return [b for (plural, _, _), b in api.objects.items() if plural == POD.plural]


@settings(DETERMINISTIC, max_examples=60)
@given(data=st.data())
def test_a_tasks_pods_in_any_state_make_a_task_ecs_could_describe(data: st.DataObject) -> None:
    """A Task's pods in any state, StopTask of one of its tasks asked or not (the annotation
    the ECS API writes, or one a tenant wrote)."""
    api = copy.deepcopy(TASK)
    pods = [data.draw(pod_changes(pod)) for pod in _task_pods(api)]
    [job] = [b for (plural, _, _), b in api.objects.items() if plural == "tasks"]
    asked = data.draw(st.sampled_from([None, '{"job-1": "hung"}', '{"job-0": ""}', "[1]", "{"]))
    if asked is not None:
        job = copy.deepcopy(job)
        job["metadata"]["annotations"] = {ANNOTATION_STOPPED_TASKS: asked}
    _settled(api, "Task", "job", [job, *pods])
    _answers_ecs_could_send(api)


@settings(DETERMINISTIC, max_examples=60)
@given(data=st.data())
def test_a_services_pods_in_any_state_make_a_service_ecs_could_describe(
    data: st.DataObject,
) -> None:
    api = copy.deepcopy(SERVICE)
    [deployment] = [b for (plural, _, _), b in api.objects.items() if plural == DEPLOYMENT.plural]
    pods = [data.draw(pod_changes(_service_pod(deployment, i))) for i in range(2)]
    rolled = {**deployment, "status": data.draw(DEPLOYMENT_STATUS)}
    _settled(api, "Service", "web", [rolled, *pods])
    _answers_ecs_could_send(api)
