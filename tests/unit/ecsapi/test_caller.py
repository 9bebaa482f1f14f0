"""The caller's LIST by ECS name: a field selector where the API server can select, the whole
namespace (filtered by the operation) where it cannot, and refusals still refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ecs_operator.ecsapi.caller import Caller, kubernetes_errors
from ecs_operator.ecsapi.credentials import Credential
from ecs_operator.ecsapi.errors import EcsApiError
from ecs_operator.kube.client import ApiError, Resource, field_selector
from ecs_operator.kube.resources import TASK_DEFINITION

Body = dict[str, Any]
OBJECTS = [{"metadata": {"name": "web"}}, {"metadata": {"name": "worker"}}]


class OldApiServer:
    """A KubeClient's LIST as an API server answers it that cannot select on a custom
    resource's fields (before Kubernetes 1.31), or that refuses the caller altogether."""

    def __init__(self, refusal: int = 400) -> None:
        self.refusal = refusal
        self.asked: list[str] = []

    async def list(
        self, resource: Resource, namespace: str, label_selector: str, fields: str
    ) -> AsyncIterator[list[Body]]:
        self.asked.append(fields)
        if fields or self.refusal != 400:
            raise ApiError(self.refusal, f'field label not supported: "{fields}"', "BadRequest")
        yield OBJECTS


def _caller(kube: OldApiServer) -> Caller:
    credential = Credential("AKIA", "s", "team", "deployer")
    return Caller(credential, "eu-west-1", kube)  # type: ignore[arg-type]


def test_a_server_that_cannot_select_on_a_field_is_asked_for_the_whole_namespace() -> None:
    kube = OldApiServer()

    found = asyncio.run(_caller(kube).list(TASK_DEFINITION, fields={"spec.family": "web"}))

    assert found == OBJECTS
    assert kube.asked == ["spec.family=web", ""]


def test_a_refused_caller_is_refused_whether_or_not_it_selects() -> None:
    with pytest.raises(EcsApiError) as refused:
        asyncio.run(_caller(OldApiServer(403)).list(TASK_DEFINITION, fields={"spec.family": "x"}))
    assert refused.value.code == "AccessDeniedException"


@pytest.mark.parametrize(
    ("fields", "selector"),
    [
        ({"spec.family": "web"}, "spec.family=web"),
        ({"spec.family": "a,b=c\\d"}, "spec.family=a\\,b\\=c\\\\d"),
        ({"spec.family": "web", "spec.cpu": "256"}, "spec.family=web,spec.cpu=256"),
    ],
)
def test_field_selector_values_are_escaped_as_the_api_server_parses_them(
    fields: dict[str, str], selector: str
) -> None:
    assert field_selector(fields) == selector


class NameHeldWhileDeleted:
    """An API server where a name is held by an object being deleted, which goes between the
    refused create and the read of it (a finalizer released at that moment)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def create(self, resource: Resource, body: Body) -> Body:
        self.calls.append("create")
        if self.calls.count("create") == 1:
            raise ApiError(409, "object is being deleted: web-1 already exists", "AlreadyExists")
        return body

    async def get(self, resource: Resource, namespace: str, name: str) -> Body | None:
        self.calls.append("get")
        return None  # gone by now


def test_a_name_freed_between_the_create_and_the_read_is_created_again() -> None:
    kube = NameHeldWhileDeleted()
    body = {"metadata": {"name": "web-1"}}

    created, new = asyncio.run(_caller(kube).create_or_get(TASK_DEFINITION, body))  # type: ignore[arg-type]

    assert new and created["metadata"]["name"] == "web-1"
    assert kube.calls == ["create", "get", "create"]


@pytest.mark.parametrize(
    ("status", "reason", "code", "http"),
    [
        (403, "Forbidden", "AccessDeniedException", 400),
        (422, "Invalid", "ClientException", 400),
        (409, "AlreadyExists", "ResourceInUseException", 400),
        (409, "Conflict", "UpdateInProgressException", 400),
        (429, "TooManyRequests", "ThrottlingException", 400),
        (500, "InternalError", "ServerException", 500),
    ],
)
def test_the_api_servers_refusals_are_ecs_errors(
    status: int, reason: str, code: str, http: int
) -> None:
    async def refused() -> None:
        async with kubernetes_errors("update Service web"):
            raise ApiError(status, "refused", reason)

    with pytest.raises(EcsApiError) as error:
        asyncio.run(refused())

    assert (error.value.code, error.value.status) == (code, http)
