"""kstatus-style conditions (``Ready``, ``Progressing``, ``Degraded``, ``Valid``) with
``observedGeneration``, so Argo CD, Flux and ``kubectl wait`` judge our objects correctly.

A condition's ``lastTransitionTime`` only moves when its status flips: rewriting it on every
reconcile would turn every status update into a change and defeat "no write when unchanged".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(kind: str, status: bool, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
    }


def merge(
    previous: Sequence[dict[str, Any]] | None, new: Sequence[dict[str, Any]], generation: int | None
) -> list[dict[str, Any]]:
    """The new conditions, keeping each one's previous transition time when its status held."""
    before = {c.get("type"): c for c in previous or []}
    merged = []
    for item in new:
        old = before.get(item["type"])
        moved = old is None or old.get("status") != item["status"]
        merged.append(
            {
                **item,
                "observedGeneration": generation,
                "lastTransitionTime": (
                    now() if moved or old is None else old.get("lastTransitionTime", now())
                ),
            }
        )
    return merged


def override(
    conditions: Sequence[dict[str, Any]], replacements: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``conditions`` with those of the types in ``replacements`` replaced by them (a problem
    that outranks what the rest of the status says)."""
    replaced = {c["type"] for c in replacements}
    return [*(c for c in conditions if c["type"] not in replaced), *replacements]
