"""Owner references (what lets Kubernetes' garbage collector clean up after ECS objects, and
what tells the operator which children it created) and object age."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """A reference to ``owner`` (an object body) as the child's managing owner."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_of(child: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """``child`` (an object about to be created) owned and controlled by ``owner``, in the
    owner's namespace."""
    metadata = {
        **child["metadata"],
        "namespace": owner["metadata"]["namespace"],
        "ownerReferences": [owner_reference(owner)],
    }
    return {**child, "metadata": metadata}


def controlled_by(obj: dict[str, Any], owner_uid: str) -> bool:
    """Whether ``obj`` is a child the ECS object with uid ``owner_uid`` created: its controller
    reference names that uid. Uids are never reused and the operator never adds a reference to
    an existing object, so only its own creation (or someone who could write the object
    anyway) puts one there."""
    return any(
        ref.get("controller") and ref.get("uid") == owner_uid
        for ref in obj["metadata"].get("ownerReferences") or []
    )


def age(body: dict[str, Any], now: float | None = None) -> float:
    """Seconds since the object was created, at ``now`` (seconds since the epoch; the current
    time by default); 0 for one not created yet."""
    stamp = body["metadata"].get("creationTimestamp")
    if not stamp:
        return 0.0
    created = datetime.fromisoformat(stamp).timestamp()
    return (time.time() if now is None else now) - created
