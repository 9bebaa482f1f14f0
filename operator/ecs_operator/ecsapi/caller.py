"""One request's caller: the namespace its key stands for, and a Kubernetes client that
impersonates the key's ServiceAccount, so that RBAC decides and the audit log names both.

The API server's refusals become ECS errors here, once: 403 ``AccessDeniedException``, 422
(the CRDs' schema and CEL rules) ``ClientException`` with the server's message, 409 and a
patched object's 404 a rerun of the operation (``Conflict``), 429 ``ThrottlingException`` (which
SDKs retry with their throttling backoff), anything else unexpected a ``ServerException``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ecs_operator.kube.client import ApiError, KubeClient, Resource, field_selector
from ecs_operator.render import keys
from ecs_operator.status.taskdefinition import Arns

from . import errors
from .credentials import Credential

#: the code of a create refused because the name is taken (``Caller.create_or_get`` handles it)
ALREADY_EXISTS = "ResourceInUseException"
#: creates of a name whose holder went between the create and the read of it
CREATE_ATTEMPTS = 3
#: how often :meth:`Caller.gone` looks again
GONE_POLL_SECONDS = 0.25
#: ours: the objects the operator (and this API, for revisions) created
MANAGED = f"{keys.LABEL_APP_MANAGED_BY}={keys.MANAGED_BY}"


class Conflict(errors.EcsApiError):
    """A write refused because the object changed since it was read (409 Conflict): the
    server runs the operation again (``server.retried``); a client sees it only when every
    attempt lost, as ECS's ``UpdateInProgressException`` (or the ``code`` ECS answers that
    operation's races with)."""

    def __init__(self, message: str, code: str = "UpdateInProgressException") -> None:
        super().__init__(code, message)


@asynccontextmanager
async def kubernetes_errors(action: str) -> AsyncIterator[None]:
    """Translate the API server's refusals of ``action`` into ECS errors."""
    try:
        yield
    except ApiError as error:
        if error.status == 403:
            raise errors.access_denied(
                f"{action}: not allowed for this access key ({error.message})"
            ) from None
        if error.status in (400, 422):
            raise errors.client_error(f"{action}: {error.message}") from None
        if error.status == 409 and error.reason == "AlreadyExists":
            raise errors.EcsApiError(ALREADY_EXISTS, f"{action}: {error.message}") from None
        if error.status == 409:
            raise Conflict(f"{action}: changed meanwhile, try again") from None
        if error.status == 429:  # API priority and fairness: ECS's own answer to too many calls
            raise errors.throttled() from None
        raise errors.server_error(f"{action}: {error.status} {error.message}") from None


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's credential, the region it signed for, its client."""

    credential: Credential
    region: str
    kube: KubeClient

    @property
    def namespace(self) -> str:
        return self.credential.namespace

    @property
    def arns(self) -> Arns:
        """ARNs as the views write them; ``wire.to_wire`` puts them in the caller's region."""
        return Arns(self.credential.account)

    def arn(self, resource: str) -> str:
        return f"arn:aws:ecs:{self.region}:{self.credential.account}:{resource}"

    async def _listed(
        self, resource: Resource, label_selector: str, fields: str
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for items in self.kube.list(resource, self.namespace, label_selector, fields):
            found.extend(items)
        return found

    async def list(
        self, resource: Resource, label_selector: str = "", fields: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every object of ``resource`` in the caller's namespace; with ``fields`` (spec members
        its CRD declares selectable, crdgen.py), those the server selects by their values. An
        API server before Kubernetes 1.31 cannot select on them and answers 400: then every
        object is listed, so a caller filters by the same members itself."""
        async with kubernetes_errors(f"list {resource.plural}"):
            if fields:
                try:
                    return await self._listed(resource, label_selector, field_selector(fields))
                except ApiError as error:
                    if error.status != 400:
                        raise
            return await self._listed(resource, label_selector, "")

    async def get(self, resource: Resource, name: str) -> dict[str, Any] | None:
        async with kubernetes_errors(f"get {resource.kind} {name}"):
            return await self.kube.get(resource, self.namespace, name)

    async def create(self, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            **body,
            "metadata": {**body["metadata"], "namespace": self.namespace},
        }
        async with kubernetes_errors(f"create {resource.kind} {body['metadata']['name']}"):
            return await self.kube.create(resource, body)

    async def create_or_get(
        self, resource: Resource, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create ``body``; when its name is taken, the live object instead (and False). An
        object that holds the name while it is being deleted may be gone by the time it is
        read: then the name is free, and the create is tried again."""
        name = body["metadata"]["name"]
        for _ in range(CREATE_ATTEMPTS):
            try:
                return await self.create(resource, body), True
            except errors.EcsApiError as error:
                if error.code != ALREADY_EXISTS:
                    raise
            live = await self.get(resource, name)
            if live is not None:
                return live, False
        raise errors.server_error(f"{resource.kind} {name} keeps appearing and going")

    async def patch(self, resource: Resource, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A merge patch; with ``metadata.resourceVersion`` in it, refused if changed meanwhile.

        Every operation patches an object it has just read, so a 404 means it was deleted
        meanwhile: a change like any other, and the operation's rerun answers what it answers
        for an object that is not there (ServiceNotFoundException, say), not a 500."""
        action = f"update {resource.kind} {name}"
        async with kubernetes_errors(action):
            try:
                return await self.kube.merge_patch(resource, self.namespace, name, patch)
            except ApiError as error:
                if error.status == 404:
                    raise Conflict(f"{action}: deleted meanwhile") from None
                raise

    async def delete(self, resource: Resource, name: str, propagation: str = "Background") -> bool:
        async with kubernetes_errors(f"delete {resource.kind} {name}"):
            deleted = await self.kube.delete(
                resource, self.namespace, name, propagation=propagation
            )
            return deleted is not None

    async def gone(self, resource: Resource, name: str, uid: str, within: float) -> bool:
        """Whether the object ``uid`` is gone (deleted, or replaced) within ``within`` seconds."""
        deadline = time.monotonic() + within
        while True:
            found = await self.get(resource, name)
            if found is None or found["metadata"].get("uid") != uid:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(GONE_POLL_SECONDS)
