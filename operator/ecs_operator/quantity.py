"""Kubernetes resource quantities (``250m``, ``512Mi``, ``1Gi``, ``2``): one reading for the
renderer, which compares the quantities it writes, and for ``kube/apply``, which must see that
the API server's ``1Gi`` is the ``1024Mi`` it applied. A leaf: it imports nothing of ours."""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX: dict[str | None, Decimal] = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate("kMGTPE")},
    **{s + "i": Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")},
}


def parse_quantity(text: str) -> Decimal | None:
    """The quantity in base units (cores, bytes, ...); None when ``text`` is not a quantity."""
    match = _QUANTITY.match(text)
    return Decimal(match.group(1)) * _SUFFIX[match.group(2)] if match else None
