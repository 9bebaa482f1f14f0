"""What the wire needs beyond the custom resources' ECS-shaped status: epoch-second
timestamps, ARNs in the caller's region and account, and opaque pagination tokens.

The operator's status and ``kubectl ecs``'s views write RFC 3339 times and ARNs of region
``local`` (the operator has no region); an ECS client expects numbers, and ARNs of the region it
signed for and the account of its key (Terraform splits them, the Action compares them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ecs_operator.api.identifiers import short_name
from ecs_operator.render import keys

from . import errors

T = TypeVar("T")
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_OPERATOR_ARN = re.compile(r"^arn:aws:ecs:[a-z0-9-]+:\d{12}:")
#: members that describe the views but are not ECS's (the Kubernetes conditions)
NOT_ECS = frozenset({"conditions"})


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def to_wire(value: Any, region: str, account: str) -> Any:
    """``value`` as ECS answers it: times (members ending in ``At``) as epoch seconds, every
    ECS ARN in ``region`` and ``account``, members that are not ECS's left out, and those
    without a value (ECS leaves such a member out rather than send a null)."""
    prefix = f"arn:aws:ecs:{region}:{account}:"
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in NOT_ECS or item is None:
                continue
            if key.endswith("At") and isinstance(item, str) and _RFC3339.match(item):
                out[key] = epoch(item)
            else:
                out[key] = to_wire(item, region, account)
        return out
    if isinstance(value, list):
        return [to_wire(item, region, account) for item in value]
    if isinstance(value, str) and _OPERATOR_ARN.match(value):
        return _OPERATOR_ARN.sub(prefix, value)
    return value


#: a resource's tags once a tag call changed them (tags.py): the annotation that carries the
#: tags of what the operator renders too
TAGS = keys.ANNOTATION_TAGS


def tags_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An object's ECS tags: the annotation a tag call wrote, else its spec's ``tags``. Both
    are the tenant's to write with kubectl too: an annotation that is not a JSON list reads as
    absent, and a tag without a key (written before the tag rules) is left out."""
    found: Any = (body.get("spec") or {}).get("tags")
    recorded = (body["metadata"].get("annotations") or {}).get(TAGS)
    if recorded is not None:
        try:
            written = json.loads(recorded)
        except ValueError:
            written = None
        found = written if isinstance(written, list) else found
    return [t for t in found or [] if isinstance(t, dict) and isinstance(t.get("key"), str)]


def tags_member(body: dict[str, Any]) -> dict[str, Any]:
    """``{"tags": [...]}`` when the object has tags; ECS leaves the member out otherwise."""
    tags = tags_of(body)
    return {"tags": tags} if tags else {}


def described(
    wanted: Sequence[str], found: Mapping[str, T], arn: Callable[[str], str]
) -> tuple[list[T], list[dict[str, str]]]:
    """A Describe call's answer: what it found of ``wanted`` (names or ARNs, looked up by name
    in ``found``), and the ``failures`` (``MISSING``, with the ARN asked for or ``arn(name)``)."""
    hits, failures = [], []
    for text in wanted:
        item = found.get(short_name(text))
        if item is None:
            failures.append(
                {"arn": text if text.startswith("arn:") else arn(text), "reason": "MISSING"}
            )
        else:
            hits.append(item)
    return hits, failures


# Pagination --------------------------------------------------------------------------------


def _fingerprint(filters: Any) -> str:
    return hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:12]


def page(
    keys: Sequence[str],
    token: str | None,
    max_results: int | None,
    filters: Any,
    default: int = 100,
    descending: bool = False,
) -> tuple[list[str], str | None]:
    """One page of sorted ``keys`` (``descending``: last first) after ``token``, and the next
    token (None: the last page).

    A token is the last key returned and a hash of the request's filters: opaque to clients,
    stable while objects come and go (no offsets), and refused when reused with other filters.
    """
    if max_results is not None and not 1 <= max_results <= 100:
        raise errors.invalid_parameter("maxResults must be between 1 and 100.")
    size = max_results or default
    ordered = sorted(keys, reverse=descending)
    start = 0
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            after, fingerprint = str(decoded["after"]), str(decoded["filters"])
        except (ValueError, KeyError, TypeError):
            raise errors.invalid_parameter("Invalid nextToken.") from None
        if fingerprint != _fingerprint(filters):
            raise errors.invalid_parameter("nextToken does not belong to these parameters.")
        start = next(
            (i for i, key in enumerate(ordered) if (key < after if descending else key > after)),
            len(ordered),
        )
    chosen = list(ordered[start : start + size])
    if start + size >= len(ordered):
        return chosen, None
    raw = json.dumps({"after": chosen[-1], "filters": _fingerprint(filters)})
    return chosen, base64.urlsafe_b64encode(raw.encode()).decode()
