"""Stand-ins for what a reconciler talks to, for table-driven tests of the reconcilers and the
queue without a cluster (cert-manager's TestProcessItem is the model).

:class:`FakeApi` answers as kube-apiserver does for the requests the operator makes (create,
get, server-side apply, merge patch, delete with preconditions) and records each one;
:func:`context` builds the reconcile context around it: the real store, writer and event
recorder, a queue that records what is enqueued, and a clock that stands still.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.credentials import DEFAULT_ACCOUNT, Credential
from ecs_operator.handlers import cluster, service, task, taskdefinition
from ecs_operator.handlers.context import Context, Settings
from ecs_operator.handlers.indexes import INDEXES, PROJECTIONS
from ecs_operator.handlers.queue import Key, Reconcile, Result
from ecs_operator.kube.client import ApiError, Resource
from ecs_operator.kube.events import EventRecorder
from ecs_operator.kube.resources import (
    ECS_CLUSTER,
    ECS_SERVICE,
    ECS_TASK,
    TASK_DEFINITION,
    resource_of,
)
from ecs_operator.kube.store import Store
from ecs_operator.kube.writer import Writer, merge_patch

#: the fake clock's time (seconds since the epoch): 2026-01-01T00:00:00Z
NOW = 1767225600.0

Json = dict[str, Any]


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeApi:
    """Objects by (plural, namespace, name); every request recorded as (verb, name, body)."""

    def __init__(self, *objects: Json, now: float = NOW) -> None:
        self.now = now
        self.objects: dict[tuple[str, str, str], Json] = {}
        self.calls: list[tuple[str, str, Json | None]] = []
        #: the writes, Events aside: (verb, plural, name)
        self.written: list[tuple[str, str, str]] = []
        #: the Events posted: (reason, message)
        self.posted: list[tuple[str, str]] = []
        self.conflict_on_delete = False
        #: names whose next create lands but whose answer is lost: the client sends it again
        #: and is told the name is taken (KubeClient retries a dropped connection so)
        self.answers_lost: set[str] = set()
        #: names another client deletes just before the next patch of them lands (between a
        #: caller's read of the object and its write)
        self.deleted_before_patch: set[str] = set()
        self._version = 0
        #: what the operator's last apply of each object set (``apply`` removes what it drops)
        self.applied: dict[tuple[str, str, str], Json] = {}
        for body in objects:
            self.add(body)

    def add(self, body: Json) -> Json:
        """Store ``body`` as if someone created it (no request recorded)."""
        created = self._created(body)
        self.objects[self._key(resource_of(created), created)] = created
        return created

    def replace(self, body: Json) -> Json:
        """Someone else's write of ``body`` (created if new; no request recorded): the object
        as the API server now has it."""
        key = self._key(resource_of(body), body)
        if key not in self.objects:
            return copy.deepcopy(self.add(body))
        return self._changed(key, self.objects[key], copy.deepcopy(body))

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _created(self, body: Json) -> Json:
        created = copy.deepcopy(body)
        metadata = created["metadata"]
        if resource_of(created).namespaced:
            metadata.setdefault("namespace", "shop")
        metadata.setdefault("uid", f"uid-{metadata['name']}")
        metadata.setdefault("creationTimestamp", stamp(self.now))
        metadata.setdefault("generation", 1)
        metadata.setdefault("resourceVersion", self._next_version())
        return created

    @staticmethod
    def _key(resource: Resource, body: Json) -> tuple[str, str, str]:
        metadata = body["metadata"]
        return resource.plural, metadata.get("namespace") or "", metadata["name"]

    def _live(self, resource: Resource, namespace: str | None, name: str) -> Json:
        found = self.objects.get((resource.plural, namespace or "", name))
        if found is None:
            raise ApiError(404, f"{resource.plural} {name} not found", "NotFound")
        return found

    def _changed(self, key: tuple[str, str, str], before: Json, after: Json) -> Json:
        after["metadata"]["resourceVersion"] = self._next_version()
        if {k: v for k, v in after.items() if k not in ("metadata", "status")} != {
            k: v for k, v in before.items() if k not in ("metadata", "status")
        }:
            after["metadata"]["generation"] = int(before["metadata"].get("generation", 1)) + 1
        self.objects[key] = after
        return copy.deepcopy(after)

    async def create(self, resource: Resource, body: Json) -> Json:
        if resource.plural == "events":
            self.posted.append((body["reason"], body["message"]))
            return copy.deepcopy(body)
        self.calls.append(("create", body["metadata"]["name"], body))
        self.written.append(("create", resource.plural, body["metadata"]["name"]))
        key = self._key(resource, body)
        if key in self.objects:
            raise ApiError(409, f"{body['metadata']['name']} already exists", "AlreadyExists")
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": self._next_version()}}
        self.objects[key] = self._created(body)
        if body["metadata"]["name"] in self.answers_lost:
            self.answers_lost.discard(body["metadata"]["name"])
            raise ApiError(409, f"{body['metadata']['name']} already exists", "AlreadyExists")
        return copy.deepcopy(self.objects[key])

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[list[Json]]:
        """The objects whose labels match ``label_selector`` (``k=v`` and ``k`` terms) in one
        page. A field selector is refused, as an API server before Kubernetes 1.31 refuses one
        on a custom resource (the callers then list the namespace and select themselves)."""
        self.calls.append(("list", resource.plural, None))
        if field_selector:
            raise ApiError(400, f'field label not supported: "{field_selector}"', "BadRequest")
        terms = [term.partition("=") for term in label_selector.split(",") if term]

        def selected(labels: dict[str, str]) -> bool:
            return all(k in labels and (not eq or labels[k] == v) for k, eq, v in terms)

        yield [
            copy.deepcopy(body)
            for (plural, space, _), body in self.objects.items()
            if plural == resource.plural
            and space == (namespace or "")
            and selected(body["metadata"].get("labels") or {})
        ]

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Json | None:
        self.calls.append(("get", name, None))
        found = self.objects.get((resource.plural, namespace or "", name))
        return copy.deepcopy(found) if found else None

    async def apply(self, resource: Resource, body: Json, subresource: str = "") -> Json:
        """Server-side apply by the operator's field manager: it creates a missing object
        (unless its uid is given: 409), refuses a resourceVersion or uid precondition the live
        object does not meet, and removes what the previous apply set and this one leaves out
        (lists are replaced whole; what a create or someone else set is left)."""
        self.calls.append(("apply", body["metadata"]["name"], body))
        self.written.append(("apply", resource.plural, body["metadata"]["name"]))
        metadata = body["metadata"]
        key = self._key(resource, body)
        config = {k: v for k, v in body.items() if k != "status"}
        config["metadata"] = {k: v for k, v in metadata.items() if k != "resourceVersion"}
        live = self.objects.get(key)
        if live is None:
            if "uid" in metadata:
                raise ApiError(409, "uid mismatch", "Conflict")
            self.objects[key] = self._created(config)
            self.applied[key] = config
            return copy.deepcopy(self.objects[key])
        if metadata.get("uid") not in (None, live["metadata"]["uid"]):
            raise ApiError(422, "metadata.uid: field is immutable", "Invalid")
        if metadata.get("resourceVersion") not in (None, live["metadata"]["resourceVersion"]):
            raise ApiError(409, "the object has been modified", "Conflict")
        kept = _without(live, self.applied.get(key) or {}, config)
        self.applied[key] = config
        return self._changed(key, live, merge_patch(kept, config))

    async def merge_patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        patch: Json,
        subresource: str = "",
    ) -> Json:
        verb = f"patch/{subresource}" if subresource else "patch"
        self.calls.append((verb, name, patch))
        self.written.append((verb, resource.plural, name))
        if name in self.deleted_before_patch:
            self.deleted_before_patch.discard(name)
            self.objects.pop((resource.plural, namespace or "", name), None)
        live = self._live(resource, namespace, name)
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != live["metadata"]["resourceVersion"]:
            raise ApiError(409, "the object has been modified", "Conflict")
        if subresource == "status":
            patch = {"status": patch.get("status")}
        else:
            patch = {k: v for k, v in patch.items() if k != "status"}
        patched = merge_patch(live, patch)
        patched["metadata"].pop("resourceVersion", None)
        return self._changed(self._key(resource, live), live, patched)

    async def delete(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        preconditions: dict[str, str] | None = None,
        propagation: str = "Background",
    ) -> Json | None:
        """Deleted at once, whatever the ``propagation``."""
        self.calls.append(("delete", name, preconditions))
        self.written.append(("delete", resource.plural, name))
        if self.conflict_on_delete:
            raise ApiError(409, "Precondition failed: UID in precondition", "Conflict")
        key = (resource.plural, namespace or "", name)
        live = self.objects.get(key)
        if live is None:
            return None
        for member, value in (preconditions or {}).items():
            if live["metadata"].get(member) != value:
                raise ApiError(409, f"Precondition failed: {member} in precondition", "Conflict")
        self.applied.pop(key, None)
        return self.objects.pop(key)

    def forget_requests(self) -> None:
        """Start recording afresh."""
        self.calls.clear()
        self.written.clear()
        self.posted.clear()

    def verbs(self) -> list[tuple[str, str]]:
        return [(verb, name) for verb, name, _ in self.calls]


def _without(live: Json, previous: Json, config: Json) -> Json:
    """``live`` less what ``previous`` (an apply) set and ``config`` (the next) leaves out."""
    kept = dict(live)
    for key, value in previous.items():
        if key not in config:
            kept.pop(key, None)
        elif isinstance(value, dict) and isinstance(config[key], dict) and key in kept:
            kept[key] = _without(kept[key], value, config[key])
    return kept


@dataclass
class FakeQueue:
    """Records what reconcilers enqueue: (key, after)."""

    added: list[tuple[Key, float]] = field(default_factory=list)

    def add(self, key: Key, after: float = 0.0) -> None:
        self.added.append((key, after))

    def open(self) -> None:
        pass


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


def context(
    api: FakeApi,
    settings: Settings | None = None,
    clock: Clock | None = None,
    filled: bool = True,
) -> Context:
    """A reconcile context around ``api``, its store filled with ``api``'s objects (unless not
    ``filled``: an operator starting)."""
    store = Store(INDEXES, PROJECTIONS)
    for body in api.objects.values() if filled else ():
        store.put(resource_of(body), copy.deepcopy(body))
    client = cast(Any, api)
    return Context(
        store=store,
        writer=Writer(client, store),
        events=EventRecorder(client),
        queue=FakeQueue(),
        settings=settings or Settings(),
        clock=clock or Clock(api.now),
    )


@dataclass
class World:
    """A namespace as one reconciler sees it: the fake API server, the reconcile context, and
    the object under test (``resource`` ``name`` in namespace ``shop``)."""

    api: FakeApi
    ctx: Context
    reconciler: Reconcile
    resource: Resource
    name: str

    def put(self, body: Json) -> None:
        """An object created or changed by someone else, as the watch brings it."""
        self.ctx.store.put(resource_of(body), self.api.replace(body))

    def change(self, plural: str, name: str, edit: Callable[[Json], None]) -> None:
        """Someone else's edit of a live object."""
        body = copy.deepcopy(self.api.objects[(plural, "shop", name)])
        edit(body)
        self.put(body)

    async def reconcile(self) -> Result:
        """One pass, and its Events posted."""
        outcome = await self.reconciler(self.ctx, "shop", self.name)
        await cast(EventRecorder, self.ctx.events).drain()
        return outcome.result

    def status(self) -> Json:
        body = self.ctx.store.get(self.resource, "shop", self.name)
        assert body is not None
        return dict(body.get("status") or {})

    def condition(self, kind: str) -> Json:
        return next((c for c in self.status().get("conditions", []) if c["type"] == kind), {})


async def reconciled(api: FakeApi, settings: Settings | None = None) -> None:
    """Every ECS object of ``api`` (namespace ``shop``) reconciled twice, as the operator would
    (the second pass writes what the first waited for: a task's pods, then its state), task
    definitions first."""
    ctx = context(api, settings)
    handlers = {
        TASK_DEFINITION: taskdefinition,
        ECS_SERVICE: service,
        ECS_TASK: task,
        ECS_CLUSTER: cluster,
    }
    for resource, handler in handlers.items():
        names = [name for plural, _, name in list(api.objects) if plural == resource.plural]
        for name in names * 2:
            await handler.reconcile(ctx, "shop", name)
    await cast(EventRecorder, ctx.events).drain()


def deployer(api: FakeApi, account: str = DEFAULT_ACCOUNT) -> Caller:
    """An ECS API caller of namespace ``shop`` in ``api``: a deploying key's, of ``account``."""
    credential = Credential("AKIA", "s", "shop", "deployer", account)
    return Caller(credential, "eu-west-1", cast(Any, api))
