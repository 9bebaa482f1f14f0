"""An in-memory cache of the objects the operator watches (an informer, in client-go terms).

Watch events keep it current; reconcilers read from it instead of the API server. That is
what makes a converged operator quiet: deciding that nothing needs doing costs no request.
Indexes (client-go's indexers) answer "which objects of this namespace have this value"
without a scan: a scan per reconcile makes N objects cost N² (the pods of one service among
thousands, the users of one task definition family).
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .client import Resource

Key = tuple[str, str]  # (namespace, name)
#: how many deleted objects' uids the store remembers (about 100 bytes each)
TOMBSTONES = 10_000
#: the values an object is found under in one index
IndexFunction = Callable[[dict[str, Any]], Iterable[str]]
Indexes = Mapping[Resource, Mapping[str, IndexFunction]]
#: the part of an object the store keeps, by resource (the whole object by default)
Projections = Mapping[Resource, Callable[[dict[str, Any]], dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Packed:
    """A JSON value a projection keeps as its compact text (``text``, ``size`` bytes), or, when
    its reader refuses anything that large anyway, as its size alone (``text`` None); with the
    few top-level members that indexes and quick reads need kept as they are (``kept``).

    Why: the store holds every watched object for the life of the process, and JSON decoded
    into Python takes about ten times its size (a dict and two strings for each short
    ``{"name": .., "value": ..}``). A tenant's thousand task definitions of 64 KiB, each with
    its ControllerRevision, took the operator past its 512 MiB limit; as text they take their
    size. A reconcile decodes what it reads, once per pass (:meth:`load`)."""

    text: bytes | None
    size: int
    kept: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """The value, decoded (a new object each time)."""
        if self.text is None:
            raise ValueError(f"only the size of this {self.size}-byte value was kept")
        return json.loads(self.text)


def unpacked(value: Any) -> Any:
    """``value`` decoded if a projection packed it, else as it is."""
    return value.load() if isinstance(value, Packed) else value


class Store:
    def __init__(
        self, indexes: Indexes | None = None, projections: Projections | None = None
    ) -> None:
        self._projections = {_bucket(r): f for r, f in (projections or {}).items()}
        self._objects: dict[str, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._owned: dict[str, set[tuple[str, Key]]] = defaultdict(set)
        self._functions = {
            _bucket(resource): dict(functions) for resource, functions in (indexes or {}).items()
        }
        #: (bucket, index name) -> (namespace, value) -> keys
        self._indexed: dict[tuple[str, str], dict[Key, set[Key]]] = defaultdict(
            lambda: defaultdict(set)
        )
        #: the uids of objects deleted (oldest first): a write's answer, or a status about
        #: to be written, that arrives after the watch reported the deletion must not put the
        #: object back, or it would be reconciled for good with no event ever to remove it
        #: (seen: a Service of a deleted namespace retried every 5 s until the operator quit)
        self._deleted: OrderedDict[str, None] = OrderedDict()
        #: objects a LIST put here that no watch event or write has confirmed since, with
        #: their uids (``unconfirmed``)
        self._unconfirmed: dict[tuple[str, Key], tuple[Resource, str]] = {}
        #: each kind held, by bucket
        self._resources: dict[str, Resource] = {}
        self._strings = SharedStrings()

    @staticmethod
    def key(body: dict[str, Any]) -> Key:
        metadata = body["metadata"]
        return metadata.get("namespace") or "", metadata["name"]

    def put(self, resource: Resource, body: dict[str, Any], confirmed: bool = True) -> None:
        """Keep ``body`` (less what no reconciler reads) unless the cache already holds a newer
        version of it. ``confirmed=False``: it comes from a LIST that no watch follows (the
        operator's prewarm), so it stays :meth:`unconfirmed` until an event or a write
        confirms it."""
        if body["metadata"].get("uid") in self._deleted:
            return
        kind, key = _bucket(resource), self.key(body)
        self._resources[kind] = resource
        if confirmed:
            self._unconfirmed.pop((kind, key), None)
        else:
            self._unconfirmed[kind, key] = (resource, str(body["metadata"].get("uid") or ""))
        body = _slim(body)
        project = self._projections.get(kind)
        if project is not None:
            body = project(body)
        bucket = self._objects[kind]
        old = bucket.get(key)
        same = old is not None and old["metadata"].get("uid") == body["metadata"].get("uid")
        if same and old is not None and _version(old) > _version(body):
            return
        body = self._strings.share(body, sum(map(len, self._objects.values())))
        body.setdefault("apiVersion", resource.api_version)
        body.setdefault("kind", resource.kind)
        if old is not None:
            self._unindex(resource, key, old)
        bucket[key] = body
        for ref in body["metadata"].get("ownerReferences") or []:
            self._owned[ref["uid"]].add((kind, key))
        for index, function in self._functions.get(kind, {}).items():
            entries = self._indexed[kind, index]
            for value in function(body):
                entries[key[0], value].add(key)

    def forget(self, resource: Resource, namespace: str, name: str, uid: str | None = None) -> None:
        """Drop a deleted object (``uid``: the deleted one's, when known) for good."""
        key = (namespace or "", name)
        self._unconfirmed.pop((_bucket(resource), key), None)
        old = self._objects[_bucket(resource)].pop(key, None)
        if old is not None:
            self._unindex(resource, key, old)
        for deleted in (uid, old["metadata"].get("uid") if old is not None else None):
            if deleted:
                self._deleted[deleted] = None
        while len(self._deleted) > TOMBSTONES:
            self._deleted.popitem(last=False)

    def doubt(self, resource: Resource) -> None:
        """Hold every object of ``resource`` unconfirmed, as if a LIST no watch follows had put
        it: its watch is listing again after a gap, in which deletions went unreported."""
        kind = _bucket(resource)
        for key, body in self._objects[kind].items():
            self._unconfirmed[kind, key] = (resource, str(body["metadata"].get("uid") or ""))

    def doubt_all(self, but: Iterable[Resource] = ()) -> None:
        """:meth:`doubt` every kind held but those of ``but``."""
        spared = {_bucket(resource) for resource in but}
        for kind, resource in list(self._resources.items()):
            if kind not in spared:
                self.doubt(resource)

    def unconfirmed(self) -> list[tuple[Resource, str, str, str]]:
        """``(resource, namespace, name, uid)`` of each object put unconfirmed and neither
        confirmed nor forgotten since."""
        return [(r, key[0], key[1], uid) for (_, key), (r, uid) in self._unconfirmed.items()]

    def _unindex(self, resource: Resource, key: Key, body: dict[str, Any]) -> None:
        for ref in body["metadata"].get("ownerReferences") or []:
            owned = self._owned[ref["uid"]]
            owned.discard((_bucket(resource), key))
            if not owned:
                del self._owned[ref["uid"]]
        for index, function in self._functions.get(_bucket(resource), {}).items():
            entries = self._indexed[_bucket(resource), index]
            for value in function(body):
                keys = entries[key[0], value]
                keys.discard(key)
                if not keys:
                    del entries[key[0], value]

    def indexed(
        self, resource: Resource, index: str, namespace: str, value: str
    ) -> list[dict[str, Any]]:
        """Objects of ``namespace`` that ``index`` finds under ``value`` (by name)."""
        bucket = _bucket(resource)
        if index not in self._functions.get(bucket, {}):
            raise KeyError(f"no index {index} on {bucket}")
        keys = self._indexed[bucket, index].get((namespace, value), ())
        return [self._objects[bucket][key] for key in sorted(keys)]

    def owned(self, resource: Resource, namespace: str, owner_uid: str) -> list[dict[str, Any]]:
        """Objects of ``resource`` in ``namespace`` with an owner reference to ``owner_uid``
        (the owner's namespace: Kubernetes allows no other, and an object elsewhere that
        names the uid is someone else's, never counted or removed as the owner's)."""
        bucket = _bucket(resource)
        return [
            self._objects[bucket][key]
            for kind, key in sorted(self._owned.get(owner_uid, ()))
            if kind == bucket and key[0] == namespace and key in self._objects[bucket]
        ]

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects[_bucket(resource)].get((namespace or "", name))

    def count(self, resource: Resource) -> int:
        return len(self._objects[_bucket(resource)])

    def all(self, resource: Resource, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        for (ns, _), body in list(self._objects[_bucket(resource)].items()):
            if namespace is None or ns == namespace:
                yield body


#: how many distinct strings the store shares at most (about 115 bytes each): this many, or
#: :data:`SHARED_STRINGS_PER_OBJECT` for each object it holds if that is more (1,000 Services
#: and what they own, 7,000 objects, share about 19,000). The table keeps the strings of
#: objects long gone until it is full: under create/delete churn a small store's table grew
#: by about 2,700 names a round of 100 cycles, toward 100,000 (11.5 MB) at the old floor
SHARED_STRINGS = 20_000
SHARED_STRINGS_PER_OBJECT = 20
#: the longest value shared (longer ones rarely recur: images, messages, JSON annotations)
SHARED_VALUE_LENGTH = 64
#: members whose values are an object's own, or a moment's, and never worth sharing
OWN_VALUES = frozenset({"uid", "resourceVersion", "containerID", "imageID", "ip", "message"})
OWN_VALUE_SUFFIXES = ("Time", "Timestamp", "At", "IP", "Heartbeat")


class SharedStrings:
    """One copy of each member name, and of each short value that recurs, for every object of
    the store.

    Why: a watch event is decoded on its own, so each of thousands of objects holds its own
    copy of "metadata", "readinessProbe", "IfNotPresent", its service's name in five labels:
    strings were about half of what the store's objects took (the footprint benchmark's
    1,000 Services). Values that are one object's own (uids, resource versions, times,
    addresses) are left as they are. The table is bounded by the number of objects it serves:
    once it is full, the next object starts it afresh (objects already stored keep what they
    share), so strings of objects long gone do not stay for good."""

    def __init__(self, minimum: int = SHARED_STRINGS) -> None:
        self._minimum = minimum
        self._table: dict[str, str] = {}
        #: member name -> whether its values are worth sharing (decided once per name)
        self._worth: dict[str, bool] = {}

    def share(self, value: Any, held: int = 0) -> Any:
        """``value`` rebuilt with the table's strings (dicts and lists are new; anything else
        is kept as it is), for a store of ``held`` objects. Called on every object the store
        takes, so written for speed: one dict lookup per string."""
        if len(self._table) >= max(self._minimum, SHARED_STRINGS_PER_OBJECT * held):
            self._table.clear()
            self._worth.clear()
        table, worth = self._table, self._worth

        def rebuilt(value: Any, member: str) -> Any:
            kind = type(value)
            if kind is dict:
                return {table.setdefault(k, k): rebuilt(v, k) for k, v in value.items()}
            if kind is list:
                return [rebuilt(v, member) for v in value]
            if kind is str and len(value) <= SHARED_VALUE_LENGTH:
                shared = worth.get(member)
                if shared is None:
                    shared = worth[member] = _worth_sharing(member)
                return table.setdefault(value, value) if shared else value
            return value

        return rebuilt(value, "")


def _worth_sharing(member: str) -> bool:
    """Whether the values of ``member`` recur among objects (not an object's own)."""
    return member not in OWN_VALUES and not member.endswith(OWN_VALUE_SUFFIXES)


def matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    """Whether ``labels`` carry every label of an equality ``selector`` (matchLabels)."""
    return all(labels.get(k) == v for k, v in selector.items())


#: metadata no reconciler reads, and the largest part of most objects: managedFields is about
#: 40% of a Deployment or Pod, and kubectl's client-side apply copies a whole object into an
#: annotation
UNREAD_METADATA = ("managedFields",)
UNREAD_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def _slim(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without :data:`UNREAD_METADATA` and :data:`UNREAD_ANNOTATIONS` (a copy: the
    caller's object is left as it is)."""
    metadata = body["metadata"]
    annotations = metadata.get("annotations") or {}
    if not any(k in metadata for k in UNREAD_METADATA) and not any(
        k in annotations for k in UNREAD_ANNOTATIONS
    ):
        return body
    slim = {k: v for k, v in metadata.items() if k not in UNREAD_METADATA}
    if annotations:
        slim["annotations"] = {k: v for k, v in annotations.items() if k not in UNREAD_ANNOTATIONS}
    return {**body, "metadata": slim}


def _bucket(resource: Resource) -> str:
    return f"{resource.plural}.{resource.group}"


def _version(body: dict[str, Any]) -> int:
    try:
        return int(body["metadata"].get("resourceVersion", 0))
    except ValueError:
        return 0
