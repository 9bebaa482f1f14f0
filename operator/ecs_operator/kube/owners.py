"""Owner references (what lets Kubernetes' garbage collector clean up after ECS objects) and
object age."""

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


def adopt(child: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """``child`` owned (and controlled) by ``owner``, in the owner's namespace."""
    metadata = {
        **child["metadata"],
        "namespace": owner["metadata"]["namespace"],
        "ownerReferences": [owner_reference(owner)],
    }
    return {**child, "metadata": metadata}


def age(body: dict[str, Any]) -> float:
    """Seconds since the object was created (0 for one not created yet)."""
    stamp = body["metadata"].get("creationTimestamp")
    if not stamp:
        return 0.0
    return time.time() - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
