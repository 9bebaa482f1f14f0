"""The Service reconciler, one pass at a time, against a fake API server: what it writes, what
it reports and what it asks of the queue, case by case (cert-manager's TestProcessItem)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import pytest

from ecs_operator.handlers import cluster, service, taskdefinition
from ecs_operator.handlers.context import Settings, Timers
from ecs_operator.handlers.queue import Key, Kind, Result
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.resources import DEPLOYMENT, ECS_SERVICE, NAMESPACE
from ecs_operator.kube.writer import Writer
from ecs_operator.policy import (
    ANNOTATION_POD_SECURITY_CEILING,
    BASELINE,
    PRIVILEGE_NOT_ALLOWED,
    PRIVILEGED,
    Policy,
)
from ecs_operator.render import keys
from ecs_operator.render.identity import NO_ROLE_SERVICE_ACCOUNT
from ecs_operator.status.service_tasks import STOPPED_TASKS, stopped_task

from .fakes import NOW, FakeApi, World, context

Json = dict[str, Any]
API_VERSION = "ecs-operator.dev/v1alpha1"


def ecs(kind: str, name: str, spec: Json, **metadata: Any) -> Json:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop", **metadata},
        "spec": spec,
    }


def task_definition(family: str = "web", image: str = "nginx:1.27") -> Json:
    container = {"name": "app", "image": image, "memory": 512}
    return ecs("TaskDefinition", family, {"family": family, "containerDefinitions": [container]})


def web(**spec: Any) -> Json:
    members = {"serviceName": "web", "taskDefinition": "web", "desiredCount": 2}
    return ecs("Service", "web", {**members, "launchType": "EC2", **spec})


DEFAULT_CLUSTER = ecs("Cluster", "default", {"clusterName": "default"})


def admin_deployment(name: str) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 1},
    }


async def world(*objects: Json, settings: Settings | None = None) -> World:
    """A namespace with its default Cluster and the task definition ``web`` registered, and
    ``objects``; nothing recorded yet."""
    api = FakeApi(DEFAULT_CLUSTER, task_definition(), *objects)
    ctx = context(api, settings)
    await taskdefinition.reconcile(ctx, "shop", "web")
    api.forget_requests()
    return World(api, ctx, service.reconcile, ECS_SERVICE, "web")


@dataclass(frozen=True)
class Case:
    name: str
    objects: tuple[Json, ...] = (web(),)
    #: what happens between a first reconcile (None: none) and the one under test
    then: Callable[[World], None] | None = None
    result: Result = Result.OK
    #: (verb, plural, name) of the writes, in any order (some go out together)
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    #: (type, status, reason) of conditions the status must have
    conditions: tuple[tuple[str, str, str], ...] = ()
    #: reasons of the Events the reconcile must post
    events: tuple[str, ...] = ()
    settings: Settings | None = None
    first: bool = False


def _scaled(w: World) -> None:
    body = copy.deepcopy(w.api.objects[("services", "shop", "web")])
    body["spec"]["desiredCount"] = 5
    w.put(body)


def _edited_by_hand(w: World) -> None:
    body = copy.deepcopy(w.api.objects[("deployments", "shop", "web")])
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:latest"
    w.put(body)


def _deleting(w: World) -> None:
    body = copy.deepcopy(w.api.objects[("services", "shop", "web")])
    body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    w.put(body)


def _redundant_workload(w: World) -> None:
    owner = w.api.objects[("services", "shop", "web")]
    ref = {"apiVersion": API_VERSION, "kind": "Service", "name": "web",
           "uid": owner["metadata"]["uid"], "controller": True}  # fmt: skip
    stale = admin_deployment("web-old")
    stale["metadata"]["ownerReferences"] = [ref]
    w.put(stale)


def _foreign_child(w: World) -> None:
    """Someone in another namespace names the service as their Deployment's controller (the
    uid is readable wherever the Service is; Kubernetes allows no owner in another
    namespace)."""
    owner = w.api.objects[("services", "shop", "web")]
    ref = {"apiVersion": API_VERSION, "kind": "Service", "name": "web",
           "uid": owner["metadata"]["uid"], "controller": True}  # fmt: skip
    theirs = admin_deployment("web-old")
    theirs["metadata"] |= {"namespace": "theirs", "ownerReferences": [ref]}
    w.put(theirs)


def _later(seconds: float) -> Callable[[World], None]:
    def move(w: World) -> None:
        w.ctx.clock.now = NOW + seconds  # type: ignore[attr-defined]

    return move


def _pod_gone(w: World) -> None:
    """The watch saw a pod of the service go (handlers/watch.py records it so)."""
    pod = {"metadata": {"name": "web-abc12", "annotations": {}}, "status": {"phase": "Running"}}
    w.ctx.stops.add(Key(Kind.SERVICE, "shop", "web"), stopped_task(pod, [], NOW))


SA, DEPLOY, PDB, SERVICES = "serviceaccounts", "deployments", "poddisruptionbudgets", "services"
CREATED = [
    ("apply", SA, NO_ROLE_SERVICE_ACCOUNT),
    ("apply", DEPLOY, "web"),
    ("apply", PDB, "web"),
    ("patch/status", SERVICES, "web"),
]
CASES = [
    Case(
        "a new service creates its account, Deployment and budget, then reports",
        writes=CREATED,
        conditions=(("Ready", "False", "NotSteady"), ("FullyMapped", "True", "AllFieldsMapped")),
        first=True,
    ),
    Case("a converged service writes nothing", then=lambda w: None),
    Case(
        "a new desired count is applied",
        then=_scaled,
        writes=[("apply", DEPLOY, "web"), ("apply", PDB, "web"), ("patch/status", SERVICES, "web")],
    ),
    Case(
        "drift: a hand edit of the Deployment is undone",
        then=_edited_by_hand,
        writes=[("apply", DEPLOY, "web")],
    ),
    Case(
        "a task whose pod went is kept in the status as a stopped task",
        then=_pod_gone,
        writes=[("patch/status", SERVICES, "web")],
    ),
    Case("a service being deleted is left to the garbage collector", then=_deleting),
    Case(
        "a workload the service no longer renders is deleted",
        then=_redundant_workload,
        writes=[("delete", DEPLOY, "web-old")],
    ),
    Case(
        "a Deployment of another namespace naming the service as its controller is left alone",
        then=_foreign_child,
    ),
    Case(
        "a missing task definition goes unreported during the reference grace",
        objects=(web(taskDefinition="absent"),),
        result=Result.WAITING,
        first=True,
    ),
    Case(
        "a missing task definition is reported once the grace is over",
        objects=(web(taskDefinition="absent"),),
        then=_later(Timers().reference_grace + 1),
        result=Result.WAITING,
        writes=[("patch/status", SERVICES, "web")],
        conditions=(("Ready", "False", "TaskDefinitionNotFound"),),
        events=("TaskDefinitionNotFound",),
    ),
    Case(
        "the grace is a setting",
        objects=(web(taskDefinition="absent"),),
        settings=Settings(timers=Timers(reference_grace=0.0)),
        result=Result.WAITING,
        writes=[("patch/status", SERVICES, "web")],
        events=("TaskDefinitionNotFound",),
        first=True,
    ),
    Case(
        "a Deployment of the service's name that is not ours is left alone and reported",
        objects=(admin_deployment("web"), web()),
        result=Result.CONFLICT,
        writes=[CREATED[0], CREATED[2], ("patch/status", SERVICES, "web")],
        conditions=(("Ready", "False", "NameConflict"), ("Degraded", "True", "NameConflict")),
        events=("NameConflict",),
        first=True,
    ),
    Case(
        "a spec that breaks ECS rules is reported, not retried",
        objects=(web(schedulingStrategy="DAEMON"),),
        result=Result.INVALID,
        writes=[("patch/status", SERVICES, "web")],
        conditions=(("Valid", "False", "InvalidSpec"),),
        events=("InvalidSpec",),
        first=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_service_reconcile(case: Case) -> None:
    async def run() -> World:
        w = await world(*case.objects, settings=case.settings)
        if not case.first:
            await w.reconcile()
            w.api.forget_requests()
            if case.then is not None:
                case.then(w)
        assert await w.reconcile() == case.result
        return w

    w = asyncio.run(run())
    assert sorted(w.api.written) == sorted(case.writes)
    for kind, status, reason in case.conditions:
        found = w.condition(kind)
        assert (found.get("status"), found.get("reason")) == (status, reason), found
    assert [reason for reason, _ in w.api.posted if reason != "ServiceEvent"] == list(case.events)


def test_the_store_holds_what_the_api_server_answered() -> None:
    """Write-through: the next pass sees the reconcile's own writes without the watch."""

    async def run() -> World:
        w = await world(web())
        await w.reconcile()
        return w

    w = asyncio.run(run())
    for plural, resource in (("deployments", DEPLOYMENT), ("services", ECS_SERVICE)):
        live = w.api.objects[(plural, "shop", "web")]
        stored = w.ctx.store.get(resource, "shop", "web")
        assert stored is not None
        assert stored["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]


GENERAL = {"capacityProvider": "general", "weight": 1}
POOLS = ecs("Cluster", "pools", {"clusterName": "pools", "capacityProviders": ["general"]})


def test_the_status_names_the_capacity_in_force_and_only_that() -> None:
    """describe-services shows a service's launchType or capacityProviderStrategy from the
    status where the spec names neither; a change of kind leaves no stale member behind."""

    async def run() -> tuple[Json, Json]:
        bare = web(cluster="pools")
        del bare["spec"]["launchType"]
        w = await world(POOLS, bare)
        await w.reconcile()
        first = copy.deepcopy(w.api.objects[("services", "shop", "web")]["status"])
        body = copy.deepcopy(w.api.objects[("services", "shop", "web")])
        body["spec"]["capacityProviderStrategy"] = [GENERAL]
        body["metadata"]["generation"] = 2
        w.put(body)
        await w.reconcile()
        return first, w.api.objects[("services", "shop", "web")]["status"]

    first, then = asyncio.run(run())
    assert first["launchType"] == "EC2"
    assert then["capacityProviderStrategy"] == [GENERAL]
    assert "launchType" not in then


def test_a_stopped_task_is_written_once_and_kept() -> None:
    """The stop goes into the status once; the next pass, with nothing new, writes nothing
    and keeps it."""

    async def run() -> tuple[World, list[Json]]:
        w = await world(web())
        await w.reconcile()
        _pod_gone(w)
        await w.reconcile()
        written = list(w.api.written)
        w.api.forget_requests()
        await w.reconcile()
        assert w.api.written == [], "nothing new: nothing written"
        return w, written

    w, written = asyncio.run(run())
    assert written.count(("patch/status", "services", "web")) == 2
    status = w.api.objects[("services", "shop", "web")]["status"]
    (stopped,) = status[STOPPED_TASKS]
    assert (stopped["taskId"], stopped["stopCode"]) == ("web-abc12", "ServiceSchedulerInitiated")
    said = [e["message"] for e in status["events"]]
    assert said.count("(service web) has stopped 1 running tasks.") == 1, said


def test_a_service_deleted_through_the_ecs_api_drains_then_reads_inactive_everywhere() -> None:
    """DeleteService (the ECS API) keeps the Service as a tombstone, scaled to 0: its status
    reads DRAINING while tasks run and INACTIVE once none do, as ECS shows it, so `kubectl
    get`, `kubectl ecs` and the Cluster's active services count agree with the ECS API."""

    async def run() -> tuple[Json, Json]:
        w = await world(web(desiredCount=1))
        await w.reconcile()
        w.change(
            "services",
            "web",
            lambda b: (
                b["metadata"]
                .setdefault("annotations", {})
                .update({keys.ANNOTATION_DELETED_AT: "2026-01-01T00:00:00+00:00"}),
                b["spec"].update(desiredCount=0),
            ),
        )
        await w.reconcile()
        await cluster.reconcile(w.ctx, "shop", "default")
        return w.api.objects["services", "shop", "web"], w.api.objects[
            "clusters", "shop", "default"
        ]

    svc, default = asyncio.run(run())
    assert svc["status"]["status"] == "INACTIVE"
    assert default["status"]["activeServicesCount"] == 0


@pytest.mark.parametrize("asked", [True, False], ids=["StopTask", "the scheduler's"])
def test_a_stop_the_user_asked_for_is_in_the_status_at_once(asked: bool) -> None:
    """A status that adds only stopped tasks waits out the writer's settle window (a rollout's
    replacements stop in bursts), but one StopTask asked for (or any stop but the
    scheduler's) is written at once: a script that stops a task and describes it must not
    find it MISSING meanwhile."""

    async def run() -> list[tuple[str, str, str]]:
        base = await world(web())
        writer = Writer(cast(Any, base.api), base.ctx.store, settle=10.0, settle_in_progress=30.0)
        w = World(base.api, replace(base.ctx, writer=writer), service.reconcile, ECS_SERVICE, "web")
        await w.reconcile()
        w.api.forget_requests()
        annotations = {keys.ANNOTATION_STOP_REASON: "cancelled by the pipeline"} if asked else {}
        pod = {"metadata": {"name": "web-abc12", "annotations": annotations}, "status": {}}
        w.ctx.stops.add(Key(Kind.SERVICE, "shop", "web"), stopped_task(pod, [], NOW))
        await w.reconcile()
        written = list(w.api.written)
        await writer.flush()
        return written

    written = asyncio.run(run())
    assert (("patch/status", SERVICES, "web") in written) is asked


LOCKED_SHOP = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "shop", "annotations": {ANNOTATION_POD_SECURITY_CEILING: BASELINE}},
}


def _privileged_service_world(api: FakeApi) -> World:
    """A privileged service in namespace ``shop``, which its annotation keeps at ``baseline``
    under an operator whose cluster-wide ceiling is ``privileged``; the Namespace's watch event
    has not come yet (a namespace created with its ECS objects, by GitOps)."""
    container = {"name": "app", "image": "nginx:1.27", "memory": 512, "privileged": True}
    td = ecs("TaskDefinition", "web", {"family": "web", "containerDefinitions": [container]})
    for body in (DEFAULT_CLUSTER, td, web()):
        api.add(body)
    settings = Settings(policy=Policy(pod_security_ceiling=PRIVILEGED))
    ctx = context(api, settings)
    ctx.store.forget(NAMESPACE, "", "shop")
    return World(api, ctx, service.reconcile, ECS_SERVICE, "web")


def test_a_namespace_not_seen_yet_is_read_before_its_policy_is_applied() -> None:
    """The namespace's own ceiling holds before its watch event comes. Before, a namespace not
    yet in the store got the cluster-wide ceiling: a privileged Deployment was created in a
    namespace its admin had kept at baseline, and stayed (a refusal leaves what runs)."""

    async def run() -> World:
        w = _privileged_service_world(FakeApi(LOCKED_SHOP))
        await taskdefinition.reconcile(w.ctx, "shop", "web")
        await w.reconcile()
        return w

    w = asyncio.run(run())
    assert ("deployments", "shop", "web") not in w.api.objects
    assert w.condition("Degraded").get("reason") == PRIVILEGE_NOT_ALLOWED


def test_a_namespace_the_operator_may_not_read_runs_nothing_and_says_why() -> None:
    """The admin's RBAC leaves out Namespaces: their annotations (the admin's policy) cannot be
    read, so nothing is decided on a guess; the object says why and is tried again."""

    class NoNamespaces(FakeApi):
        async def get(self, resource: Any, namespace: str | None, name: str) -> Json | None:
            if resource.plural == "namespaces":
                raise ApiError(403, 'namespaces "shop" is forbidden', "Forbidden")
            return await super().get(resource, namespace, name)

    async def run() -> tuple[World, Result]:
        w = _privileged_service_world(NoNamespaces(LOCKED_SHOP))
        await taskdefinition.reconcile(w.ctx, "shop", "web")
        return w, await w.reconcile()

    w, result = asyncio.run(run())
    assert ("deployments", "shop", "web") not in w.api.objects
    ready = w.condition("Ready")
    assert ready.get("reason") == "NamespaceUnreadable", ready
    assert 'namespaces "shop" is forbidden' in ready["message"]
    assert result == Result.WAITING


def test_a_restart_does_not_report_the_same_findings_again() -> None:
    """The UnsupportedFields Event says what the status's findings already say: an operator
    that starts again (its memory of posted Events gone) posts it only when they change.
    Before, every restart posted one Event per object with a finding: a write each."""
    no_port = {"targetGroupArn": "arn:tg", "containerName": "app"}

    async def run() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        w = await world(web(loadBalancers=[no_port]))
        await w.reconcile()
        first = list(w.api.posted)
        w.api.forget_requests()
        restarted = World(w.api, context(w.api), service.reconcile, ECS_SERVICE, "web")
        await restarted.reconcile()
        return first, list(w.api.posted)

    first, after_restart = asyncio.run(run())
    assert [reason for reason, _ in first].count("UnsupportedFields") == 1
    assert [reason for reason, _ in after_restart].count("UnsupportedFields") == 0
