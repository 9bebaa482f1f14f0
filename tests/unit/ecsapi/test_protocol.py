"""The wire protocol as botocore reads it: error codes and statuses, refused members by name,
unknown operations, epoch timestamps, ARNs in the caller's region, pagination tokens."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.session import get_session

from ecs_operator.ecsapi import errors, server, wire
from ecs_operator.ecsapi.credentials import LABEL

KEY, SECRET = "AKIATEST", "s3cr3t"


def _secret() -> dict[str, Any]:
    return {
        "metadata": {"name": "key", "labels": {LABEL: "true"}},
        "data": {
            "accessKeyId": "QUtJQVRFU1Q=",  # AKIATEST
            "secretAccessKey": "czNjcjN0",  # s3cr3t
            "namespace": "dGVhbQ==",  # team
            "serviceAccount": "ZGVwbG95ZXI=",  # deployer
        },
    }


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """The application on a loopback port, with one access key and no Kubernetes server: what
    these tests send is answered before any Kubernetes call."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    address: list[str] = []

    async def serve() -> web.AppRunner:
        api = server.Endpoint(kopf.ConnectionInfo(server="http://127.0.0.1:9"), "ecs")

        async def secrets() -> list[dict[str, Any]]:
            return [_secret()]

        api.store._list = secrets
        runner = web.AppRunner(server.application(api))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        address.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(serve())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield address[0]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _client(endpoint: str, secret: str = SECRET, **config: Any) -> Any:
    return get_session().create_client(
        "ecs",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=secret,
        config=Config(**config),
    )


def _error(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def _sending(endpoint: str, operation: str, body: bytes) -> Any:
    """A client that sends ``body`` for ``operation`` (past botocore's own validation and
    serializer, which would drop or refuse it), signed as usual."""
    client = _client(endpoint)

    def replace(request: Any, **_: Any) -> None:
        request.data = body

    client.meta.events.register(f"before-sign.ecs.{operation}", replace)
    return client


def test_an_unknown_member_is_refused_by_name(endpoint: str) -> None:
    client = _sending(endpoint, "ListClusters", b'{"maxResult": 3}')
    code, status, message = _error(lambda: client.list_clusters())
    assert (code, status) == ("ClientException", 400)
    assert message.startswith("maxResult: is not an ECS parameter")


def test_a_wrong_type_is_refused_by_name(endpoint: str) -> None:
    client = _sending(endpoint, "DescribeServices", b'{"services": "web"}')
    code, status, message = _error(lambda: client.describe_services(services=["web"]))
    assert (code, status) == ("ClientException", 400)
    assert message.startswith("services: ")


def test_a_body_that_is_not_json_is_a_serialization_error(endpoint: str) -> None:
    client = _sending(endpoint, "ListClusters", b"{not json")
    code, status, _ = _error(lambda: client.list_clusters())
    assert (code, status) == ("SerializationException", 400)


def test_an_unknown_operation_is_a_4xx(endpoint: str) -> None:
    client = _client(endpoint)
    code, status, _ = _error(lambda: client.list_container_instances())
    assert (code, status) == ("UnknownOperationException", 400)


def test_a_wrong_secret_is_refused_before_the_operation(endpoint: str) -> None:
    code, status, _ = _error(lambda: _client(endpoint, "nope").list_container_instances())
    assert (code, status) == ("InvalidSignatureException", 403)


def test_a_failure_of_ours_is_ecs_server_exception_with_the_request_id(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(caller: Any, request: Any) -> Any:
        raise RuntimeError("a bug")

    shape = server.OPERATIONS["ListClusters"][0]
    monkeypatch.setitem(server.OPERATIONS, "ListClusters", (shape, broken))
    client = _client(endpoint, retries={"total_max_attempts": 1})
    code, status, message = _error(lambda: client.list_clusters())
    assert (code, status) == ("ServerException", 500)
    assert "request id" in message


def test_times_become_epoch_seconds_and_arns_the_callers_region() -> None:
    answer = {
        "createdAt": "2026-12-03T12:00:00Z",
        "services": [{"serviceArn": "arn:aws:ecs:local:000000000000:service/default/web"}],
        "conditions": [{"type": "Ready"}],
        "name": "createdAt",
    }
    assert wire.to_wire(answer, "eu-west-1", "123456789012") == {
        "createdAt": 1796299200.0,
        "services": [{"serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/default/web"}],
        "name": "createdAt",
    }


def test_descending_pages_start_from_the_last_key() -> None:
    """ListTaskDefinitions' sort DESC reverses the whole list before it is paged: its first
    page of one is the newest revision, as deploy scripts read it."""
    keys = [f"web:{n:010d}" for n in range(1, 6)]
    pages, token = [], None
    while True:
        chosen, token = wire.page(keys, token, 2, ["web", "DESC"], descending=True)
        pages.append([int(k.split(":")[1]) for k in chosen])
        if token is None:
            break
    assert pages == [[5, 4], [3, 2], [1]]


def test_pages_follow_the_token_to_the_end() -> None:
    keys = [f"k{i:02d}" for i in range(25)]
    seen, token = [], None
    while True:
        chosen, token = wire.page(keys, token, 10, ["f"])
        seen += chosen
        if token is None:
            break
    assert seen == keys


def test_a_token_is_refused_with_other_filters_or_when_forged() -> None:
    _, token = wire.page(["a", "b", "c"], None, 1, ["family-a"])
    assert token is not None
    for bad, filters in ((token, ["family-b"]), ("bm90IGpzb24=", ["family-a"])):
        with pytest.raises(errors.EcsApiError) as caught:
            wire.page(["a", "b", "c"], bad, 1, filters)
        assert caught.value.code == "InvalidParameterException"


def test_max_results_out_of_range_is_invalid() -> None:
    with pytest.raises(errors.EcsApiError, match="maxResults"):
        wire.page(["a"], None, 101, [])


def test_the_long_arn_formats_are_enabled_and_cannot_be_disabled(endpoint: str) -> None:
    """Terraform's aws_ecs_account_setting_default and old scripts enable them: that succeeds;
    disabling one is ECS's own refusal; another setting is refused by name."""
    client = _client(endpoint)
    put = client.put_account_setting_default(name="taskLongArnFormat", value="enabled")
    assert put["setting"] == {
        "name": "taskLongArnFormat",
        "value": "enabled",
        "principalArn": "arn:aws:iam::123456789012:root",
        "type": "aws_managed",
    }
    code, _, message = _error(
        lambda: client.put_account_setting(name="serviceLongArnFormat", value="disabled")
    )
    assert (code, message) == (
        "InvalidParameterException",
        "You can no longer disable Long Arn settings.",
    )
    code, _, message = _error(
        lambda: client.put_account_setting(name="containerInsights", value="enabled")
    )
    assert (code, message.split(":")[0]) == ("ClientException", "containerInsights")
    listed = client.list_account_settings(name="serviceLongArnFormat", effectiveSettings=True)
    assert [(s["name"], s["value"]) for s in listed["settings"]] == [
        ("serviceLongArnFormat", "enabled")
    ]
    every = client.list_account_settings(maxResults=2)
    rest = client.list_account_settings(maxResults=2, nextToken=every["nextToken"])
    assert len(every["settings"]) + len(rest["settings"]) == 3
