"""Apply rendered objects only when something differs: "no write when nothing changed".

An object is left alone when (1) the hash of what we would apply equals the hash annotation we
stamped on it last time (so a field we stopped rendering still gets removed), and (2) every
field we render is present in the live object with the same value (so a hand edit or a
deletion is corrected). Otherwise it is server-side applied. Both checks are reads of data we
already have; a converged re-list costs no writes at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from ecs_operator import API_GROUP

from .client import KubeClient
from .resources import resource_of

HASH_ANNOTATION = f"{API_GROUP}/applied-hash"


def desired_hash(desired: dict[str, Any]) -> str:
    canonical = json.dumps(desired, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def stamped(desired: dict[str, Any]) -> dict[str, Any]:
    """The object with its hash annotation added (the hash excludes the annotation itself)."""
    metadata = dict(desired["metadata"])
    metadata["annotations"] = {
        **metadata.get("annotations", {}),
        HASH_ANNOTATION: desired_hash(desired),
    }
    return {**desired, "metadata": metadata}


_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX: dict[str | None, Decimal] = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate("kMGTPE")},
    **{s + "i": Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")},
}


def _quantity(text: str) -> Decimal | None:
    match = _QUANTITY.match(text)
    return Decimal(match.group(1)) * _SUFFIX[match.group(2)] if match else None


def same_value(live: Any, desired: Any) -> bool:
    """Equal, or the same Kubernetes quantity written two ways: the API server stores
    ``1024Mi`` as ``1Gi`` and ``1000m`` as ``1``."""
    if live == desired:
        return True
    if isinstance(live, str) and isinstance(desired, str):
        a, b = _quantity(live), _quantity(desired)
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
    return annotations.get(HASH_ANNOTATION) == desired_hash(desired) and contains(live, desired)


async def ensure(
    client: KubeClient, desired: dict[str, Any], live: dict[str, Any] | None
) -> dict[str, Any]:
    """Make the live object match ``desired``; returns the live (or newly applied) object."""
    if live is not None and in_sync(desired, live):
        return live
    return await client.apply(resource_of(desired), stamped(desired))
