"""Create what is new, apply only what is ours and differs: "no write when nothing changed",
and never adoption.

**Ownership.** A name that is free is taken with a create that fails when the name is taken:
a plain create (POST) for what is never changed afterwards (pods, revisions), and for what is
kept in sync an apply whose resourceVersion precondition no object meets, which creates or
refuses (409) but never takes over an object someone else made under that name. (A POST would
do for the taking, but the fields it sets stay owned by its "Update" operation, so a later
apply could never remove one the operator stopped rendering: an environment variable dropped
from a task definition stayed in the Deployment; measured on kube-apiserver 1.36.) When the
create is refused because the name is taken, the live object is read: if it is not ours (the
caller's ``ours`` decides: a controller reference to the ECS object, or a task-role account's
marker) that is a :class:`NameConflict`, and the other object is left exactly as it was. Only
an object that is ours is ever server-side applied, with its ``metadata.uid`` in the applied
body as a precondition: should it have been replaced by another object of the same name since
it was read, the API server refuses the apply instead of rewriting the newcomer. Measured on
kube-apiserver 1.36: a uid that differs from the live object's is refused with 422 Invalid
("metadata.uid: field is immutable", nothing written), and one naming an object that is gone
with 409 Conflict ("uid mismatch", nothing created); either ends the reconcile with an error,
and its retry finds the name's new holder. (``metadata.resourceVersion`` would be refused with
409, but also whenever the object's status moved since the store saw it: a failed write and a
retry in the normal path, for no gain, since a replaced object's uid always differs.)

**No write when nothing changed.** An object of ours is left alone when (1) the hash of what
we would apply equals the hash annotation we stamped on it last time (so a field we stopped
rendering still gets removed), and (2) every field we render is present in the live object
with the same value (so a hand edit or a deletion is corrected). Otherwise it is server-side
applied. Both checks are reads of data we already have; a converged re-list costs no writes at
all, and a new object costs one create, as an apply did.

**Refusals.** A write the API server refuses for what the object is or who asks (an admission
webhook or policy: 400, 422; the operator's RBAC or a ResourceQuota: 403) is a
:class:`WriteRefused`, which the caller reports on the ECS object: trying it again at once
would only be refused again, and only the admin can change that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ecs_operator import API_GROUP
from ecs_operator.quantity import parse_quantity
from ecs_operator.render.keys import LABEL_APP_MANAGED_BY, MANAGED_BY
from ecs_operator.render.names import json_digest

from . import managed_fields
from .client import ApiError, KubeClient, Resource
from .resources import resource_of

HASH_ANNOTATION = f"{API_GROUP}/applied-hash"
#: A resourceVersion no object ever has (the largest etcd revision): as an apply's
#: precondition it refuses every live object (409 Conflict), while an apply that creates
#: ignores it (measured on kube-apiserver 1.36)
NO_SUCH_VERSION = str(2**64 - 1)

#: whether a live object is one the operator created for the caller
Ours = Callable[[dict[str, Any]], bool]


#: the API server's answers to a write refused for what it is or who asks, as against a
#: conflict (409) or an overload (429, 5xx) that the same write may get past
REFUSED_STATUSES = frozenset({400, 403, 422})
#: the words of the 422 that refuses an apply whose uid precondition no longer holds: the name
#: has a new holder, which the retry finds (a NameConflict), not a refusal
_UID_PRECONDITION = "metadata.uid"


def refused(error: ApiError) -> bool:
    """Whether the API server refused a write for what it is or who asks."""
    return error.status in REFUSED_STATUSES and _UID_PRECONDITION not in error.message


class WriteRefused(Exception):
    """The API server refused to write an object for the ECS object (its RBAC, a quota, an
    admission policy): reported there, with the API server's words."""

    reason = "WriteRefused"

    def __init__(self, wanted: dict[str, Any], error: ApiError) -> None:
        self.kind: str = wanted["kind"]
        self.name: str = wanted["metadata"]["name"]
        self.why = error.message
        super().__init__(f"{self.kind}/{self.name}: {error}")

    def message(self, owner_kind: str) -> str:
        """The report, for the ECS object of kind ``owner_kind`` that needed the object."""
        return f"the API server refused to write {self.kind}/{self.name}: {self.why}"


class NameConflict(Exception):
    """An object the operator did not create has the name it needs: left alone, and reported on
    the ECS object that needed the name."""

    reason = "NameConflict"

    def __init__(self, wanted: dict[str, Any], found: dict[str, Any] | None = None) -> None:
        self.kind: str = wanted["kind"]
        self.name: str = wanted["metadata"]["name"]
        #: it says it is the operator's but no object owns it: one a ``kubectl delete
        #: --cascade=orphan`` left (never adopted: anyone may write those labels)
        self.orphaned = found is not None and _orphan_of_ours(found)
        super().__init__(f"{self.kind}/{self.name} already exists")

    def message(self, owner_kind: str) -> str:
        """The report, for the ECS object of kind ``owner_kind`` that needed the name."""
        said = (
            f"{self.kind}/{self.name} already exists and was not created by this "
            f"{owner_kind}: left alone"
        )
        if self.orphaned:
            said += (
                " (it carries ecs-operator's labels but has no owner, as a `kubectl delete "
                f"--cascade=orphan` leaves it: delete it, and this {owner_kind} creates its own)"
            )
        return said


def _orphan_of_ours(found: dict[str, Any]) -> bool:
    metadata = found.get("metadata") or {}
    labels = metadata.get("labels") or {}
    return labels.get(LABEL_APP_MANAGED_BY) == MANAGED_BY and not metadata.get("ownerReferences")


#: why an object the ECS object needs is not written: reported on the ECS object
Unwritten = NameConflict | WriteRefused


def stamped(desired: dict[str, Any]) -> dict[str, Any]:
    """The object with its hash annotation added (the hash excludes the annotation itself)."""
    metadata = dict(desired["metadata"])
    metadata["annotations"] = {
        **metadata.get("annotations", {}),
        HASH_ANNOTATION: json_digest(desired),
    }
    return {**desired, "metadata": metadata}


def same_value(live: Any, desired: Any) -> bool:
    """Equal, or the same Kubernetes quantity written two ways: the API server stores
    ``1024Mi`` as ``1Gi`` and ``1000m`` as ``1``."""
    if live == desired:
        return True
    if isinstance(live, str) and isinstance(desired, str):
        a, b = parse_quantity(live), parse_quantity(desired)
        return a is not None and a == b
    return False


def contains(live: Any, desired: Any) -> bool:
    """Whether every value in ``desired`` is present and equal in ``live`` (lists by index)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            key in live and contains(live[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(a, b) for a, b in zip(live, desired, strict=True))
        )
    return same_value(live, desired)


def in_sync(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """True when applying ``desired`` (unstamped) would change nothing we care about."""
    if live is None or live.get("metadata", {}).get("deletionTimestamp"):
        return False
    annotations = live.get("metadata", {}).get("annotations") or {}
    return annotations.get(HASH_ANNOTATION) == json_digest(desired) and contains(live, desired)


async def _create_applied(
    client: KubeClient, resource: Resource, body: dict[str, Any]
) -> dict[str, Any]:
    """``body`` created by a server-side apply that refuses any live object of its name."""
    metadata = {**body["metadata"], "resourceVersion": NO_SUCH_VERSION}
    return await client.apply(resource, {**body, "metadata": metadata})


async def _create_or_get(
    client: KubeClient, body: dict[str, Any], kept: bool = False
) -> tuple[dict[str, Any], bool]:
    """``body`` created, or the live object that already has its name; and whether it was
    created. An object the operator ``kept`` in sync afterwards is created by an apply that
    only creates (``_create_applied``), so that a field it stops rendering is
    removed by a later apply; one never changed again by a plain create. (Should the name's
    holder go between the refused create and the read, the create is tried once more.)"""
    resource = resource_of(body)
    metadata = body["metadata"]
    for _ in range(2):
        try:
            if kept:
                return await _create_applied(client, resource, body), True
            return await client.create(resource, body), True
        except ApiError as error:
            if error.status != 409 or error.reason not in ("AlreadyExists", "Conflict"):
                raise
            refused = error
        live = await client.get(resource, metadata.get("namespace"), metadata["name"])
        if live is not None:
            return live, False
    raise refused


async def claim_name(client: KubeClient, body: dict[str, Any], ours: Ours) -> dict[str, Any]:
    """Create ``body`` (an object that is never changed afterwards: a pod, a revision); when
    its name is taken, the live object if it is ours, else :class:`NameConflict`. A taken name
    costs one refused create and one read."""
    live, created = await _create_or_get(client, body)
    if not created and not ours(live):
        raise NameConflict(body, live)
    return live


def with_uid(body: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the live object's uid: an apply precondition (see the module doc)."""
    return {**body, "metadata": {**body["metadata"], "uid": live["metadata"]["uid"]}}


async def ensure(
    client: KubeClient, desired: dict[str, Any], live: dict[str, Any] | None, ours: Ours
) -> dict[str, Any]:
    """Make the object named like ``desired`` match it, if it is ours (:class:`NameConflict`
    otherwise; :class:`WriteRefused` when the API server will not have it); returns the live
    (or newly written) object. ``live`` is the stored one."""
    with refusals_reported(desired):
        return await _ensure(client, desired, live, ours)


@contextmanager
def refusals_reported(desired: dict[str, Any]) -> Iterator[None]:
    """A write of ``desired`` the API server refuses for what it is or who asks, as
    :class:`WriteRefused` (reported on the ECS object that needs it); any other error as it is."""
    try:
        yield
    except ApiError as error:
        if not refused(error):
            raise
        raise WriteRefused(desired, error) from error


async def _ensure(
    client: KubeClient, desired: dict[str, Any], live: dict[str, Any] | None, ours: Ours
) -> dict[str, Any]:
    if live is None:
        live, created = await _create_or_get(client, stamped(desired), kept=True)
        if created:
            return live
    if not ours(live):
        raise NameConflict(desired, live)
    if in_sync(desired, live):
        return live
    resource, body = resource_of(desired), with_uid(stamped(desired), live)
    applied = await client.apply(resource, body)
    if await managed_fields.owned_by_apply(client, resource, applied):
        # an object an earlier version created: what its creation set is the apply's now, so
        # applying again removes what the operator no longer renders
        applied = await client.apply(resource, body)
    return applied


async def delete_ours(
    client: KubeClient, resource: Resource, body: dict[str, Any], *, unchanged: bool = False
) -> dict[str, Any] | None:
    """Delete ``body``, a stored object of ours, on condition that the name still holds that
    object (its uid; and, with ``unchanged``, its resourceVersion: nobody wrote it since it was
    judged). None when the API server refused (409): the name is someone else's by now, or
    the object changed, and it is left as it is; else the API server's answer (``{}`` when
    the object was already gone)."""
    metadata = body["metadata"]
    preconditions = {"uid": metadata["uid"]}
    if unchanged:
        preconditions["resourceVersion"] = metadata["resourceVersion"]
    try:
        answer = await client.delete(
            resource, metadata.get("namespace"), metadata["name"], preconditions
        )
    except ApiError as error:
        if error.status != 409:
            raise
        return None
    return answer or {}
