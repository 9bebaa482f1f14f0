"""Objects an earlier operator created with a POST: what the POST set is owned by the field
manager's "Update" entry, which no server-side apply removes (``apply.py``), so a field the
operator stopped rendering stayed. Moving those fields into the manager's "Apply" entry lets
the next apply remove what it leaves out.

The move is one merge patch of ``metadata.managedFields``: the "Update" entry's fields joined
to the "Apply" entry's, the "Update" entry dropped, the object's resourceVersion as a
precondition (a write in between refuses it, and the next change tries again). Measured on
kube-apiserver 1.36: the patch adds no entry of its own, and the apply after it removes a
field that only the "Update" entry held. It happens once per such object, at its first change
after an upgrade; objects created since are created by apply and never need it.
"""

from __future__ import annotations

from typing import Any

from ecs_operator import FIELD_MANAGER

from .client import ApiError, KubeClient, Resource

Entry = dict[str, Any]


def _joined(fields: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Two FieldsV1 sets as one (each is a tree of dicts: a field is its path's presence)."""
    joined = dict(fields)
    for key, value in more.items():
        below = joined.get(key)
        joined[key] = _joined(below, value) if isinstance(below, dict) else value
    return joined


def moved(entries: list[Entry], manager: str = FIELD_MANAGER) -> list[Entry] | None:
    """``entries`` (an object's managedFields) with the fields of ``manager``'s "Update" entry
    on the object itself moved into its "Apply" entry; None when there is nothing to move."""

    def mine(entry: Entry, operation: str) -> bool:
        return (
            entry.get("manager") == manager
            and entry.get("operation") == operation
            and not entry.get("subresource")
        )

    update = next((e for e in entries if mine(e, "Update")), None)
    applied = next((e for e in entries if mine(e, "Apply")), None)
    if update is None or applied is None:
        return None
    fields = _joined(applied.get("fieldsV1") or {}, update.get("fieldsV1") or {})
    return [{**e, "fieldsV1": fields} if e is applied else e for e in entries if e is not update]


async def owned_by_apply(client: KubeClient, resource: Resource, body: dict[str, Any]) -> bool:
    """Move what ``body`` (an object as the API server answered an apply of it) has owned by
    the operator's "Update" entry into its "Apply" entry; whether anything moved."""
    entries = moved(body["metadata"].get("managedFields") or [])
    if entries is None:
        return False
    metadata = body["metadata"]
    patch = {"metadata": {"managedFields": entries, "resourceVersion": metadata["resourceVersion"]}}
    try:
        await client.merge_patch(resource, metadata.get("namespace"), metadata["name"], patch)
    except ApiError as error:
        if error.status != 409:
            raise
        return False
    return True
