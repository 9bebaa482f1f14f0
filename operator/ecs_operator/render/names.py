"""ECS names to Kubernetes names, deterministically and without collisions.

ECS names allow up to 255 letters (either case), digits, underscores and hyphens; Kubernetes
object, container, volume and port names do not. One rule everywhere (docs/mapping.md, "Names"):
lower-case, replace every run of other characters with ``-``, and when that changed anything or
the result is too long, cut it and append ``-`` and the first 8 hex digits of the SHA-256 of the
*original* name. A name that is already valid is kept as is, so ``web`` stays ``web`` while
``Web`` and ``web_1`` become ``web-<hash>`` and ``web-1-<hash>`` and can never meet ``web``.
A pod's container names are the exception (:func:`guessable_names`): users type them
(``kubectl logs -c``), and they are unique within one pod, so the hash is kept for collisions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

DNS_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
PORT_NAME_MAX = 15
DIGEST_LEN = 8

_NOT_DNS = re.compile(r"[^a-z0-9]+")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NOT_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]+")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def digest(text: str, length: int = DIGEST_LEN) -> str:
    """A short stable hash of ``text`` (hex), the suffix that keeps changed names unique."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def json_digest(value: Any) -> str:
    """A stable hash of a JSON value (keys sorted, no spaces; 16 hex digits): what tells that
    an object, a spec or a rendering changed."""
    return digest(json.dumps(value, sort_keys=True, separators=(",", ":")), 16)


def _suffixed(
    head: str, original: str, max_len: int, sep: str = "-", length: int = DIGEST_LEN
) -> str:
    suffix = digest(original, length)
    head = head[: max_len - len(suffix) - len(sep)].rstrip("-_.")
    return f"{head}{sep}{suffix}" if head else suffix


@lru_cache(maxsize=4096)
def dns_label(name: str, max_len: int = DNS_LABEL_MAX) -> str:
    """A DNS-1123 label (object, container and volume names) for an ECS name."""
    if len(name) <= max_len and _DNS_LABEL.match(name):
        return name
    return _suffixed(_NOT_DNS.sub("-", name.lower()).strip("-"), name, max_len)


def guessable_names(names: Sequence[str], max_len: int = DNS_LABEL_MAX) -> list[str]:
    """DNS-1123 labels a user can guess for distinct ECS names (a pod's containers): lower
    case, each ``_`` a ``-``, no leading or trailing ``-``, so ``log_router`` is ``log-router``
    and ``kubectl logs -c log-router`` works. The hashed :func:`dns_label` is kept for a name
    that is too long, and for changed names that would meet another container's name
    (``Web`` and ``web``: ``web`` stays, ``Web`` is hashed; ``a_b`` and ``A_b``: both hashed).
    """
    simple = [name.lower().replace("_", "-").strip("-") for name in names]
    counts = Counter(simple)
    return [
        name
        if _DNS_LABEL.match(name)
        and len(name) <= max_len
        and (name == original or counts[name] == 1)
        else dns_label(original, max_len)
        for name, original in zip(simple, names, strict=True)
    ]


@lru_cache(maxsize=4096)
def label_value(value: str) -> str:
    """A valid label value (≤ 63 characters; ECS names usually are one already)."""
    if len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE.match(value):
        return value
    cleaned = _NOT_LABEL_VALUE.sub("-", value).strip("-_.")
    return _suffixed(cleaned, value, LABEL_VALUE_MAX)


def port_name(name: str) -> str:
    """An IANA service name (≤ 15 characters, needs a letter) for an ECS port mapping name."""
    if len(name) <= PORT_NAME_MAX and _PORT_NAME.match(name):
        return name
    head = _NOT_DNS.sub("-", name.lower()).strip("-")
    if not any(ch.isalpha() for ch in head):
        head = "p" + head
    return _suffixed(head, name, PORT_NAME_MAX, length=4)


def secret_key(key: str) -> str:
    """A valid Secret/ConfigMap data key for an ECS JSON key."""
    if _SECRET_KEY.match(key):
        return key
    return _suffixed(re.sub(r"[^-._a-zA-Z0-9]+", "-", key).strip("-"), key, 253)


def prefixed(prefix: str, name: str) -> str:
    """``prefix-<dns_label(name)>`` for conventional object names (``sm-``, ``efs-``...).

    The hash covers the original name, so the prefix never makes two sources meet.
    """
    return dns_label(f"{prefix}-{name}")


class NameAllocator:
    """Hands out unique names within one scope (a pod's containers, volumes or port names).

    Distinct ECS names already map to distinct names; this guards the rare case where a
    generated name (e.g. a tmpfs volume) meets a user's name.
    """

    __slots__ = ("_taken",)

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, candidate: str, seed: str, max_len: int = DNS_LABEL_MAX) -> str:
        """``candidate`` if free, else a hashed variant of it derived from ``seed``."""
        name, attempt = candidate, 0
        while name in self._taken:
            attempt += 1
            name = _suffixed(candidate, f"{seed}#{attempt}", max_len, length=4)
        self._taken.add(name)
        return name
