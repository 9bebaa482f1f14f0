"""Access keys: one Kubernetes Secret per key, labelled ``ecs-operator.dev/access-key``, in the
API's own namespace.

A Secret's data names who the key acts as: ``accessKeyId``, ``secretAccessKey``, ``namespace``
(the ECS "account": its Cluster objects are the key's ECS clusters), ``serviceAccount`` (every
Kubernetes call of the key is made impersonating it, so RBAC decides), and optionally
``accountId`` (the ARNs' account, default ``123456789012``) and ``region`` (the only region
the key may sign for; default: any). Only the API's own ServiceAccount reads these Secrets.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LABEL = "ecs-operator.dev/access-key"
DEFAULT_ACCOUNT = "123456789012"
#: how long a listing of the Secrets answers lookups (a new or rotated key works after this)
TTL = 10.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credential:
    access_key: str
    secret: str
    namespace: str
    service_account: str
    account: str = DEFAULT_ACCOUNT
    region: str | None = None

    @property
    def user(self) -> str:
        """The Kubernetes user the key's calls impersonate."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


def _decoded(data: Mapping[str, str], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        return None


def from_secret(secret: Mapping[str, Any]) -> Credential | None:
    """The credential a labelled Secret holds; None (and a log line) when it is incomplete."""
    data = secret.get("data") or {}
    fields = {
        k: _decoded(data, k)
        for k in ("accessKeyId", "secretAccessKey", "namespace", "serviceAccount", "accountId")
    }
    required = ("accessKeyId", "secretAccessKey", "namespace", "serviceAccount")
    missing = [k for k in required if not fields[k]]
    if missing:
        logger.warning(
            "Secret %s: not an access key, missing %s",
            secret.get("metadata", {}).get("name"),
            ", ".join(missing),
        )
        return None
    return Credential(
        access_key=str(fields["accessKeyId"]),
        secret=str(fields["secretAccessKey"]),
        namespace=str(fields["namespace"]),
        service_account=str(fields["serviceAccount"]),
        account=fields["accountId"] or DEFAULT_ACCOUNT,
        region=_decoded(data, "region") or None,
    )


class CredentialStore:
    """The access keys, listed again at most every :data:`TTL` seconds, and at once when an
    unknown key arrives (but not more often than once a second, so unknown keys cannot make
    the API LIST Secrets in a loop)."""

    def __init__(self, list_secrets: Callable[[], Awaitable[Iterable[Mapping[str, Any]]]]) -> None:
        self._list = list_secrets
        self._keys: dict[str, Credential] = {}
        self._listed_at = float("-inf")

    async def _refresh(self) -> None:
        secrets = await self._list()
        found = (from_secret(s) for s in secrets)
        self._keys = {c.access_key: c for c in found if c is not None}
        self._listed_at = time.monotonic()

    async def lookup(self, access_key: str) -> Credential | None:
        age = time.monotonic() - self._listed_at
        if age > TTL or (access_key not in self._keys and age > 1.0):
            await self._refresh()
        return self._keys.get(access_key)
