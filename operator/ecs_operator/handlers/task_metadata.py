"""The ECS task metadata endpoint, served from the operator's store: what a task's container
reads at ``${ECS_CONTAINER_METADATA_URI_V4}`` (itself) and ``…/task`` (its task), version 3 at
the same paths (render/task_metadata.py gives each container its address).

The path names the pod by namespace and uid, the container by its ECS name; the answer is
``status/task_metadata.py``'s, from the pod and the revision it runs, as the store holds them
(so an answer costs no API call, and is as fresh as the operator's view of the task). A pod
the operator did not start, or a container it does not have, is 404. The statistics paths
(``/stats``, ``/task/stats``: Docker's counters) are not served. As the ECS agent does, each
task may ask 40 times a second, in bursts of 60 (:class:`Throttle`): an application that
polls the endpoint in a loop gets 429, not the operator's time.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ecs_operator.api.identifiers import DEFAULT_CLUSTER, task_id
from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.kube.client import Resource
from ecs_operator.kube.owners import controlled_by
from ecs_operator.kube.resources import DAEMON_SET, DEPLOYMENT, ECS_SERVICE, ECS_TASK, POD
from ecs_operator.kube.store import Store
from ecs_operator.render import keys
from ecs_operator.status.task_metadata import (
    TaskIdentity,
    container_metadata,
    task_metadata,
    with_overrides,
)
from ecs_operator.status.taskdefinition import DEFAULT_ACCOUNT, Arns

from .context import Settings
from .indexes import POD_UID, revision_data
from .references import recorded, registering_account, task_definition_named

#: the container's path; ``/task`` after it is its task's
CONTAINER_PATH = "/{version:v3|v4}/{namespace}/{uid}/{container}"


@dataclass
class Throttle:
    """The ECS agent's limit on its task metadata endpoint (``ECS_TASK_METADATA_RPS_LIMIT``,
    40 a second, bursts of 60), a token bucket per task; the buckets of the
    :attr:`tasks` tasks that asked last are kept."""

    rate: float = 40.0
    burst: float = 60.0
    tasks: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def allow(self, task: str) -> bool:
        """Whether ``task`` may ask now (and, if so, a token spent)."""
        now = self.clock()
        tokens, at = self._buckets.pop(task, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        allowed = tokens >= 1
        self._buckets[task] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.tasks:
            self._buckets.popitem(last=False)
        return allowed


def metadata_app(
    store: Store, settings: Settings, throttle: Throttle | None = None
) -> web.Application:
    """The endpoint's routes over ``store``; ``settings`` give the account of the ARNs."""
    limit = throttle or Throttle()

    def found(request: web.Request) -> tuple[dict[str, Any], dict[str, Any], TaskIdentity]:
        info = request.match_info
        pods = store.indexed(POD, POD_UID, info["namespace"], info["uid"])
        task = _task(store, settings, pods[0]) if pods else None
        if task is None:
            raise _not_found(f"no task of the operator's runs in pod {info['uid']}")
        if not limit.allow(info["uid"]):
            raise web.HTTPTooManyRequests(
                text=json.dumps({"error": f"over {limit.rate:g} requests a second from a task"}),
                content_type="application/json",
            )
        return task

    async def container(request: web.Request) -> web.Response:
        pod, spec, who = found(request)
        name = request.match_info["container"]
        answer = container_metadata(pod, spec, who, name)
        if answer is None:
            raise _not_found(f"task {who.task_arn} has no container {name}")
        return web.json_response(answer)

    async def task(request: web.Request) -> web.Response:
        pod, spec, who = found(request)
        return web.json_response(task_metadata(pod, spec, who))

    app = web.Application()
    app.router.add_get(CONTAINER_PATH, container)
    app.router.add_get(CONTAINER_PATH + "/task", task)
    return app


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": message}), content_type="application/json")


def _task(
    store: Store, settings: Settings, pod: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], TaskIdentity] | None:
    """The pod, the spec of the revision it runs and who its task is; None for a pod that runs
    no task of the operator's."""
    metadata = pod["metadata"]
    annotations: Mapping[str, str] = metadata.get("annotations") or {}
    starter = _starter(store, pod)
    if starter is None:
        return None
    try:
        ref = TaskDefinitionRef.parse(annotations.get(keys.ANNOTATION_TASK_DEFINITION) or "")
    except InvalidTaskDefinitionRef:
        return None
    namespace = metadata["namespace"]
    body = task_definition_named(store, namespace, ref.family)
    stored = recorded(store, body, ref.revision) if body and ref.revision else None
    spec = (revision_data(stored).get("spec") if stored else None) or {}
    if starter["kind"] == ECS_TASK.kind:  # a RunTask's: its overrides of the task's sizes
        spec = with_overrides(spec, (starter.get("spec") or {}).get("overrides"))
    registered = registering_account(body) if body else None
    arns = Arns(settings.account_id or registered or DEFAULT_ACCOUNT)
    cluster = annotations.get(keys.ANNOTATION_CLUSTER) or DEFAULT_CLUSTER
    who = TaskIdentity(
        cluster=cluster,
        cluster_arn=arns.cluster(cluster),
        task_arn=arns.task(cluster, task_id(namespace, metadata["name"])),
        family=ref.family,
        revision=str(ref.revision or ""),
        service=annotations.get(keys.ANNOTATION_SERVICE),
    )
    return pod, spec, who


#: the label the Deployment controller gives a ReplicaSet's pods: the hash its name ends with
TEMPLATE_HASH_LABEL = "pod-template-hash"


def _starter(store: Store, pod: dict[str, Any]) -> dict[str, Any] | None:
    """The ECS object whose task runs in ``pod``: the Task that controls it, or the Service
    whose DaemonSet controls it, or whose Deployment's ReplicaSet does (the Deployment
    controller names a ReplicaSet after its Deployment and the pod's template hash). None for
    any other pod: anyone who may create pods may label one as the operator's and name a
    revision in its annotations, and must not read that revision here."""
    task = _controller(store, pod, ECS_TASK)
    if task is not None:
        return task
    workload = _controller(store, pod, DAEMON_SET) or _replica_sets_deployment(store, pod)
    return _controller(store, workload, ECS_SERVICE) if workload is not None else None


def _controller(store: Store, body: dict[str, Any], resource: Resource) -> dict[str, Any] | None:
    """The stored object of ``resource`` that controls ``body``: its controller reference
    names it, and its uid is the one the reference holds."""
    reference = _controller_reference(body)
    if reference.get("kind") != resource.kind:
        return None
    owner = store.get(resource, body["metadata"]["namespace"], reference.get("name", ""))
    return owner if owner is not None and controlled_by(body, owner["metadata"]["uid"]) else None


def _replica_sets_deployment(store: Store, pod: dict[str, Any]) -> dict[str, Any] | None:
    """The stored Deployment whose ReplicaSet controls ``pod``, by the ReplicaSet's name (the
    operator keeps no ReplicaSets to check a uid against)."""
    reference = _controller_reference(pod)
    name = reference.get("name", "")
    template_hash = (pod["metadata"].get("labels") or {}).get(TEMPLATE_HASH_LABEL, "")
    suffix = f"-{template_hash}"
    if reference.get("kind") != "ReplicaSet" or not template_hash or not name.endswith(suffix):
        return None
    return store.get(DEPLOYMENT, pod["metadata"]["namespace"], name.removesuffix(suffix))


def _controller_reference(body: dict[str, Any]) -> dict[str, Any]:
    """``body``'s controller reference (Kubernetes allows one), or ``{}``."""
    references: list[dict[str, Any]] = body["metadata"].get("ownerReferences") or []
    return next((r for r in references if r.get("controller")), {})
