"""Resolving ECS references inside a namespace: ``taskDefinition`` (``family``,
``family:N`` or an ARN) and ``cluster`` (a name or ARN), from the store.

References never leave the object's namespace: a namespace is the tenancy boundary, so a
reference to another namespace's objects is refused, not followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecs_operator.api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ecs_operator.kube.owners import controlled_by
from ecs_operator.kube.resources import (
    CONTROLLER_REVISION,
    ECS_CLUSTER,
    ECS_SERVICE,
    ECS_TASK,
    TASK_DEFINITION,
)
from ecs_operator.kube.store import Store
from ecs_operator.plan.taskdefinition import revision_name
from ecs_operator.render import keys
from ecs_operator.status.cluster import cluster_name_of
from ecs_operator.status.revision_set import newest_probes
from ecs_operator.status.taskdefinition import marked_revisions, revision_entries

from .indexes import FAMILY, SERVICE_NAME, USES_FAMILY, revision_data
from .queue import Key, Kind


class Unresolved(Exception):
    """A reference that does not resolve (yet): the message says which and why."""

    def __init__(self, reason: str, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class Resolved:
    body: dict[str, Any]
    family: str
    revision: int
    spec: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.family}:{self.revision}"

    @property
    def account(self) -> str | None:
        return registering_account(self.body)


def registering_account(body: dict[str, Any]) -> str | None:
    """The AWS account of the ECS API key that registered TaskDefinition ``body``'s family, if
    one did."""
    return (body["metadata"].get("annotations") or {}).get(keys.ANNOTATION_ACCOUNT)


def task_definition_named(store: Store, namespace: str, family: str) -> dict[str, Any] | None:
    """The TaskDefinition object of a family (the oldest, if several claim it)."""
    matches = [
        body
        for body in store.indexed(TASK_DEFINITION, FAMILY, namespace, family)
        if not body["metadata"].get("deletionTimestamp")
    ]
    return min(matches, key=lambda b: b["metadata"].get("creationTimestamp", ""), default=None)


def resolve_task_definition(
    store: Store, namespace: str, text: str, running: str | None = None
) -> Resolved:
    """The revision a reference means; ``running`` is what the user already runs (an INACTIVE
    revision stays usable for it, as in ECS)."""
    try:
        ref = TaskDefinitionRef.parse(text)
    except InvalidTaskDefinitionRef as error:
        raise Unresolved("InvalidReference", f"taskDefinition: {error}", retry=False) from None
    body = task_definition_named(store, namespace, ref.family)
    if body is None:
        raise Unresolved(
            "TaskDefinitionNotFound",
            f"taskDefinition: no TaskDefinition with family {ref.family} in namespace {namespace}",
        )
    latest = newest_recorded(store, body)
    conditions = (body.get("status") or {}).get("conditions") or []
    valid: dict[str, Any] = next((c for c in conditions if c["type"] == "Valid"), {})
    if not latest and valid.get("status") == "False":
        raise Unresolved(
            "TaskDefinitionInvalid",
            f"taskDefinition: {ref.family} was refused: {valid.get('message', '')}",
            retry=False,
        )
    deregistered = marked_revisions(body)
    if ref.revision is None:
        revision = deregistered.newest_outside(latest)
        if revision is None:
            raise Unresolved(
                "TaskDefinitionNotReady", f"taskDefinition: {ref.family} has no ACTIVE revision"
            )
    else:
        revision = ref.revision
        if recorded(store, body, revision) is None:
            raise Unresolved(
                "TaskDefinitionNotFound",
                f"taskDefinition: {ref.family}:{revision} is not registered",
            )
        if revision in deregistered and running != f"{ref.family}:{revision}":
            raise Unresolved(
                "TaskDefinitionInactive",
                f"taskDefinition: {ref.family}:{revision} is INACTIVE (deregistered): no new use",
                retry=False,
            )
    stored = recorded(store, body, revision)
    if stored is None:
        # (a revision of that name that is not the TaskDefinition's own is never read: its
        # registration reports the NameConflict)
        raise Unresolved(
            "TaskDefinitionNotReady",
            f"taskDefinition: revision {ref.family}:{revision} not stored yet",
        )
    return Resolved(body, ref.family, revision, revision_data(stored)["spec"])


def _recorded(store: Store, body: dict[str, Any]) -> list[dict[str, Any]]:
    uid, namespace = body["metadata"]["uid"], body["metadata"]["namespace"]
    return [r for r in store.owned(CONTROLLER_REVISION, namespace, uid) if controlled_by(r, uid)]


def recorded(store: Store, body: dict[str, Any], revision: int) -> dict[str, Any] | None:
    """Revision ``revision`` of a TaskDefinition, as its ControllerRevision in the store (None:
    not recorded, or the name is another object's)."""
    name = revision_name(body["metadata"]["name"], revision)
    stored = store.get(CONTROLLER_REVISION, body["metadata"]["namespace"], name)
    return stored if stored is not None and controlled_by(stored, body["metadata"]["uid"]) else None


def newest_recorded(store: Store, body: dict[str, Any]) -> int:
    """A TaskDefinition's newest revision in the store (0: none): known as soon as it is
    stored, without waiting for the TaskDefinition's status to be written and come back, yet
    searched from the number that status reports, so that resolving a reference costs the
    same whether the family has one revision or thousands (every user of a family resolves
    it at each of its reconciles). A status whose revision is not stored (one deleted by
    hand) is no place to start: then every revision is read."""
    start = int((body.get("status") or {}).get("revision") or 0)
    if start and recorded(store, body, start) is None:
        return max((int(r["revision"]) for r in _recorded(store, body)), default=0)
    probes = newest_probes(start)
    number = next(probes)
    try:
        while True:
            number = probes.send(recorded(store, body, number) is not None)
    except StopIteration as done:
        return int(done.value)


def newest_revisions(store: Store, body: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The ``status.revisions`` entries of a TaskDefinition's newest ``count`` revisions, read
    by their names down from the newest (revisions are numbered without gaps)."""
    latest = newest_recorded(store, body)
    newest = [recorded(store, body, n) for n in range(latest, max(latest - count, 0), -1)]
    return revision_entries([r for r in newest if r is not None], marked_revisions(body))


def claim_service_name(store: Store, namespace: str, body: dict[str, Any]) -> None:
    """Raise :class:`Unresolved` unless the Service ``body`` holds its ``serviceName``.

    ECS service names are unique within a cluster [model doc CreateServiceRequest.serviceName],
    and ECS refuses a second CreateService; here the name is unique within the namespace, since
    it names the Service's Deployment or DaemonSet. The oldest Service holds it (ties go by
    object name), so a second one renders nothing and takes nothing over. Call it once the
    Service's own references resolve: one that could not run anyway reports its own problem.
    Nothing enqueues the second one when the holder goes, except the holder's pods going, so it
    asks to be retried (with the queue's backoff, at most a minute) and then takes the name
    over by itself.
    """
    wanted = (body.get("spec") or {}).get("serviceName")
    claims = store.indexed(ECS_SERVICE, SERVICE_NAME, namespace, wanted or "")
    holder = min([*claims, body], key=_seniority)
    name = holder["metadata"]["name"]
    if name != body["metadata"]["name"]:
        raise Unresolved(
            "ServiceNameInUse",
            f"serviceName: {wanted} is already used by Service {name} in namespace {namespace} "
            "(ECS service names are unique): this Service runs nothing until that one is deleted",
        )


def _seniority(body: dict[str, Any]) -> tuple[str, str]:
    return body["metadata"].get("creationTimestamp", ""), body["metadata"]["name"]


def cluster_named(store: Store, namespace: str, name: str) -> dict[str, Any] | None:
    for body in store.all(ECS_CLUSTER, namespace):
        if cluster_name_of(body) == name and not body["metadata"].get("deletionTimestamp"):
            return body
    return None


def users_of_family(
    store: Store, namespace: str, family: str, live_only: bool = False
) -> list[Key]:
    """Queue keys of the Services and Tasks whose taskDefinition names ``family``."""
    users = []
    for kind, resource in ((Kind.SERVICE, ECS_SERVICE), (Kind.TASK, ECS_TASK)):
        for body in store.indexed(resource, USES_FAMILY, namespace, family):
            if live_only and (body["metadata"].get("deletionTimestamp") or _finished(body)):
                continue
            users.append(Key(kind, namespace, body["metadata"]["name"]))
    return users


def _finished(body: dict[str, Any]) -> bool:
    return body.get("kind") == "Task" and (body.get("status") or {}).get("lastStatus") == "STOPPED"
