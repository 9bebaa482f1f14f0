"""A small asynchronous Kubernetes API client on aiohttp (which kopf already brings).

Why not the official ``kubernetes`` client in the operator: kopf's maintainer measured it at
about 60 % of a kopf operator's memory, and it is synchronous (a thread per call). We need a
handful of verbs: get, list, server-side apply, status apply, delete. Credentials come from
kopf's own login (kubeconfig or in-cluster service account), so there is one source of them.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import kopf

from ecs_operator import FIELD_MANAGER
from ecs_operator.metrics import API_WRITES

RETRIES = 6
#: Objects per page of a LIST, the operator's and kopf's (runner.py). A page is decoded at once,
#: and tenants choose how large their objects are: up to the API server's limit (etcd's 1.5 MiB
#: by default), some ten times that decoded into Python. Ten keep a page of the largest well
#: under the operator's memory limit, and a LIST of a thousand ordinary objects to a hundred
#: quick requests.
LIST_PAGE = 10


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name)}"
        if sub:
            base += f"/{sub}"
        return base


class ApiError(Exception):
    """A non-2xx answer from the API server, with its status code and Status message."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def field_selector(fields: Mapping[str, str]) -> str:
    """A ``fieldSelector`` matching every ``path: value`` of ``fields`` (``spec.family``), each
    value escaped as the API server's selector parser reads it (``\\``, ``,`` and ``=``)."""

    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

    return ",".join(f"{path}={escaped(value)}" for path, value in fields.items())


class KubeClient:
    """One aiohttp session to the API server; every write uses our field manager."""

    def __init__(
        self,
        info: kopf.ConnectionInfo,
        field_manager: str = FIELD_MANAGER,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``headers`` go with every request (``ecs-operator api``: ``Impersonate-User``)."""
        self.server = info.server.rstrip("/")
        self.field_manager = field_manager
        context: ssl.SSLContext | bool = info.as_ssl_context()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=64),
            headers={**info.as_http_headers(), "User-Agent": "ecs-operator", **(headers or {})},
            timeout=aiohttp.ClientTimeout(total=30, sock_connect=10),
        )

    async def close(self) -> None:
        await self._session.close()

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request, retried (bounded) when the server is busy or briefly unreachable."""
        for attempt in range(RETRIES):
            try:
                return await self._once(method, path, params, body, content_type)
            except ApiError as error:
                if error.status not in (429, 500, 502, 503, 504) or attempt == RETRIES - 1:
                    raise
            except (aiohttp.ClientConnectionError, TimeoutError):
                if attempt == RETRIES - 1:
                    raise
            await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    async def _once(
        self, method: str, path: str, params: dict[str, str] | None, body: Any, content_type: str
    ) -> Any:
        url = self.server + path + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self._session.request(method, url, data=data, headers=headers) as response:
            text = await response.text()
            if response.status >= 400:
                try:
                    status = json.loads(text)
                except ValueError:
                    raise ApiError(response.status, text) from None
                raise ApiError(
                    response.status, status.get("message", text), status.get("reason", "")
                )
            return json.loads(text) if text else None

    async def get(
        self, resource: Resource, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            found: dict[str, Any] = await self._request("GET", resource.path(namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return found

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The objects, :data:`LIST_PAGE` at a time: the caller keeps what it needs of a page
        before the next one is read, so a LIST costs one page of decoded objects at most."""
        params = {"limit": str(LIST_PAGE)}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        while True:
            listed = await self._request("GET", resource.path(namespace), params)
            items: list[dict[str, Any]] = listed.get("items", [])
            for item in items:
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
            yield items
            token = (listed.get("metadata") or {}).get("continue")
            if not token:
                return
            params = {**params, "continue": token}

    async def apply(
        self, resource: Resource, body: dict[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        """Server-side apply with our field manager (forcing: we own what we render). Only for
        objects the operator created (kube/apply.py); ``metadata.uid`` in ``body`` makes it a
        precondition (refused when the live object is another one, see kube/apply.py)."""
        metadata = body["metadata"]
        API_WRITES.labels(verb="apply", resource=resource.plural).inc()
        applied: dict[str, Any] = await self._request(
            "PATCH",
            resource.path(metadata.get("namespace"), metadata["name"], subresource),
            {"fieldManager": self.field_manager, "force": "true"},
            body,
            "application/apply-patch+yaml",
        )
        return applied

    async def create(self, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        """POST: 409 AlreadyExists when the name is taken (nothing is changed then)."""
        API_WRITES.labels(verb="create", resource=resource.plural).inc()
        created: dict[str, Any] = await self._request(
            "POST",
            resource.path(body["metadata"].get("namespace")),
            {"fieldManager": self.field_manager},
            body,
        )
        return created

    async def dry_run_create(self, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        """POST with ``dryRun=All``: the object as the API server would store it (defaults set,
        fields it does not keep dropped, admission run), with nothing stored."""
        answer: dict[str, Any] = await self._request(
            "POST",
            resource.path(body["metadata"].get("namespace")),
            {"fieldManager": self.field_manager, "dryRun": "All"},
            body,
        )
        return answer

    async def merge_patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        patch: dict[str, Any],
        subresource: str = "",
    ) -> dict[str, Any]:
        API_WRITES.labels(verb="patch", resource=resource.plural).inc()
        patched: dict[str, Any] = await self._request(
            "PATCH",
            resource.path(namespace, name, subresource),
            {"fieldManager": self.field_manager},
            patch,
            "application/merge-patch+json",
        )
        return patched

    async def delete(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        preconditions: dict[str, str] | None = None,
        propagation: str = "Background",
    ) -> dict[str, Any] | None:
        """Delete, owned objects following (``propagation``: in the ``Background``; with
        ``Foreground`` the object stays until they are gone); the API server's answer (the
        object, still terminating or as it was, or a Status), None when it was already gone.

        ``preconditions`` (``uid``, ``resourceVersion``) make the API server refuse with 409
        Conflict when the object is no longer the one the caller decided about."""
        API_WRITES.labels(verb="delete", resource=resource.plural).inc()
        body: dict[str, Any] = {"propagationPolicy": propagation}
        if preconditions:
            body["preconditions"] = preconditions
        try:
            answer: dict[str, Any] | None = await self._request(
                "DELETE", resource.path(namespace, name), body=body
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return answer or {}
