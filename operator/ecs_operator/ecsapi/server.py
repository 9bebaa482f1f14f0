"""``ecs-operator api``: the aiohttp application speaking ECS's awsJson1.1 protocol.

``POST /`` with ``X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>``: the request is
authenticated (SigV4, ``credentials``), validated against the operation's generated shape
(``api/shapes.py``: a member ECS does not have, or of the wrong type, is refused by name) and
answered in ECS's JSON, with ``x-amzn-RequestId``. ``GET /healthz`` answers probes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import kopf
from aiohttp import web
from pydantic import ValidationError

from ecs_operator import metrics
from ecs_operator.api import shapes
from ecs_operator.api.base import EcsShape
from ecs_operator.api.errors import EcsValidationError
from ecs_operator.kube.client import KubeClient, Resource

from . import (
    accounts,
    clusters,
    deployments,
    errors,
    services,
    sigv4,
    tags,
    taskdefinitions,
    tasks,
    wire,
)
from .caller import Caller, Conflict
from .credentials import LABEL, CredentialStore
from .wording import refusal

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
CONTENT_TYPE = "application/x-amz-json-1.1"
SECRET = Resource("", "v1", "secrets", "Secret")
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

Body = dict[str, Any]
#: times an operation is run when its writes keep losing races (``_retried``)
ATTEMPTS = 4
#: the longest pause before an operation's second run (doubling for each one after)
RETRY_PAUSE_S = 0.05
Operation = Callable[[Caller, Body], Awaitable[Body]]

#: operation -> (its request shape, what answers it)
OPERATIONS: dict[str, tuple[type[EcsShape], Operation]] = {
    "CreateCluster": (shapes.CreateClusterRequest, clusters.create),
    "DescribeClusters": (shapes.DescribeClustersRequest, clusters.describe),
    "ListClusters": (shapes.ListClustersRequest, clusters.list_clusters),
    "DeleteCluster": (shapes.DeleteClusterRequest, clusters.delete),
    "UpdateCluster": (shapes.UpdateClusterRequest, clusters.update),
    "PutClusterCapacityProviders": (
        shapes.PutClusterCapacityProvidersRequest,
        clusters.put_capacity_providers,
    ),
    "RegisterTaskDefinition": (shapes.RegisterTaskDefinitionRequest, taskdefinitions.register),
    "DescribeTaskDefinition": (shapes.DescribeTaskDefinitionRequest, taskdefinitions.describe),
    "DeregisterTaskDefinition": (
        shapes.DeregisterTaskDefinitionRequest,
        taskdefinitions.deregister,
    ),
    "DeleteTaskDefinitions": (
        shapes.DeleteTaskDefinitionsRequest,
        taskdefinitions.delete_definitions,
    ),
    "ListTaskDefinitions": (shapes.ListTaskDefinitionsRequest, taskdefinitions.list_definitions),
    "ListTaskDefinitionFamilies": (
        shapes.ListTaskDefinitionFamiliesRequest,
        taskdefinitions.list_families,
    ),
    "CreateService": (shapes.CreateServiceRequest, services.create),
    "DescribeServices": (shapes.DescribeServicesRequest, services.describe),
    "ListServices": (shapes.ListServicesRequest, services.list_services),
    "UpdateService": (shapes.UpdateServiceRequest, services.update),
    "DeleteService": (shapes.DeleteServiceRequest, services.delete),
    "ListServiceDeployments": (shapes.ListServiceDeploymentsRequest, deployments.list_deployments),
    "DescribeServiceDeployments": (
        shapes.DescribeServiceDeploymentsRequest,
        deployments.describe_deployments,
    ),
    "RunTask": (shapes.RunTaskRequest, tasks.run),
    "DescribeTasks": (shapes.DescribeTasksRequest, tasks.describe),
    "ListTasks": (shapes.ListTasksRequest, tasks.list_cluster_tasks),
    "StopTask": (shapes.StopTaskRequest, tasks.stop),
    "TagResource": (shapes.TagResourceRequest, tags.tag),
    "UntagResource": (shapes.UntagResourceRequest, tags.untag),
    "ListTagsForResource": (shapes.ListTagsForResourceRequest, tags.list_tags),
    "PutAccountSetting": (shapes.PutAccountSettingRequest, accounts.put),
    "PutAccountSettingDefault": (shapes.PutAccountSettingDefaultRequest, accounts.put_default),
    "ListAccountSettings": (shapes.ListAccountSettingsRequest, accounts.list_settings),
}

logger = logging.getLogger("ecs_operator.ecsapi")


def validated(operation: str, shape: type[EcsShape], data: Any) -> Body:
    """The request as sent, its null members left out (the JSON protocol reads a null as an
    absent member: no operation echoes it back as null, where ECS would answer its default),
    once it matches the operation's shape; else ECS's error for it (``wording``): a
    ClientException naming each member and rule (an unknown member included), unless ECS
    words that refusal its own way."""
    if not isinstance(data, dict):
        raise errors.EcsApiError("SerializationException", "The request body must be an object.")
    try:
        shape.model_validate(data, strict=True)
    except ValidationError as error:
        raise refusal(EcsValidationError.from_pydantic(error), data, operation) from None
    return cast(Body, _without_nulls(data))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


class Endpoint:
    """Authenticates requests and dispatches them; one Kubernetes client per identity."""

    def __init__(self, info: kopf.ConnectionInfo, namespace: str) -> None:
        self.info = info
        self.namespace = namespace
        self.own = KubeClient(info)
        self.store = CredentialStore(self._secrets)
        self._clients: dict[str, KubeClient] = {}

    async def _secrets(self) -> list[Body]:
        found: list[Body] = []
        async for items in self.own.list(SECRET, self.namespace, LABEL):
            found.extend(items)
        return found

    def client_for(self, user: str) -> KubeClient:
        if user not in self._clients:
            self._clients[user] = KubeClient(self.info, headers={"Impersonate-User": user})
        return self._clients[user]

    async def close(self) -> None:
        for client in [self.own, *self._clients.values()]:
            await client.close()

    async def authenticate(self, request: web.Request, body: bytes) -> Caller:
        path, _, query = request.raw_path.partition("?")
        signed = sigv4.Request(request.method, path, query, list(request.headers.items()), body)
        auth = sigv4.parse(signed)
        credential = await self.store.lookup(auth.access_key)
        if credential is None:
            raise errors.unrecognized_client()
        sigv4.verify(signed, auth, credential.secret, datetime.now(UTC))
        if credential.region and auth.region != credential.region:
            raise errors.invalid_signature(
                f"Credential should be scoped to a valid region: '{credential.region}'."
            )
        return Caller(credential, auth.region, self.client_for(credential.user))

    async def handle(self, request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        status, code = 200, "OK"
        try:
            answer = await self._answer(request)
        except errors.EcsApiError as error:
            answer, status, code = error.body(), error.status, error.code
        except Exception:  # a bug of ours: ECS's one 5xx, and the traceback in our log
            logger.exception("request %s failed", request_id)
            fault = errors.server_error(f"Internal error (request id {request_id}).")
            answer, status, code = fault.body(), fault.status, fault.code
        _observe(request, code, time.perf_counter() - started)
        return web.Response(
            text=json.dumps(answer, separators=(",", ":")),
            status=status,
            content_type=CONTENT_TYPE,
            headers={"x-amzn-RequestId": request_id},
        )

    async def _answer(self, request: web.Request) -> Body:
        body = await request.read()
        caller = await self.authenticate(request, body)
        target = request.headers.get("X-Amz-Target", "")
        name = target.removeprefix(TARGET_PREFIX)
        operation = OPERATIONS.get(name)
        if operation is None or not target.startswith(TARGET_PREFIX):
            raise errors.EcsApiError(
                "UnknownOperationException", f"{target or 'X-Amz-Target'}: unknown operation"
            )
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise errors.EcsApiError("SerializationException", "Malformed JSON body.") from None
        shape, run = operation
        answer = await retried(run, caller, validated(name, shape, data))
        result: Body = wire.to_wire(answer, caller.region, caller.credential.account)
        return result


def _observe(request: web.Request, code: str, seconds: float) -> None:
    """Count the request by operation (one we serve, else ``unknown``: the label's values stay
    few whatever clients send) and by its answer's code."""
    target = request.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
    operation = target if target in OPERATIONS else "unknown"
    metrics.ECSAPI_REQUESTS.labels(operation=operation, code=code).inc()
    metrics.ECSAPI_REQUEST_SECONDS.labels(operation=operation).observe(seconds)


async def retried(run: Operation, caller: Caller, data: Body) -> Body:
    """``run``'s answer, the operation run again when one of its writes lost a race (another
    writer, the operator's status among them, changed the object between its read and its
    write): each operation writes once per object and re-reads before it writes, so a rerun is
    the same request against the newer object."""
    for attempt in range(ATTEMPTS - 1):
        try:
            return await run(caller, data)
        except Conflict:
            # a random pause, longer at each attempt, so that racing requests do not race
            # again in step
            await asyncio.sleep(random.uniform(0, RETRY_PAUSE_S * 2**attempt))
    return await run(caller, data)


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def application(endpoint: Endpoint) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post("/", endpoint.handle)
    app.router.add_get("/healthz", healthz)

    async def close(_: web.Application) -> None:
        await endpoint.close()

    app.on_cleanup.append(close)
    return app


def default_namespace() -> str:
    """The API's own namespace in a cluster; ``ecs-operator`` elsewhere."""
    if IN_CLUSTER_NAMESPACE.exists():
        return IN_CLUSTER_NAMESPACE.read_text().strip()
    return os.environ.get("ECS_OPERATOR_API_NAMESPACE", "ecs-operator")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=8443, help="port to listen on")
    parser.add_argument(
        "--namespace",
        default=None,
        help=f"where the access-key Secrets (label {LABEL}) live (default: the API's own "
        "namespace in a cluster, else $ECS_OPERATOR_API_NAMESPACE or ecs-operator)",
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )
    # not run's 8080: both run on one machine (make demo)
    metrics.add_endpoint_arguments(parser, default_port=8082)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=getattr(logging, args.log_level.upper()))
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if info is None:
        logger.error("no Kubernetes credentials: neither in-cluster nor kubeconfig")
        return 1

    metrics.serve(args, metrics.ECSAPI_REGISTRY)

    async def app() -> web.Application:
        return application(Endpoint(info, args.namespace or default_namespace()))

    web.run_app(app(), host=args.host, port=args.port, print=None)
    return 0
