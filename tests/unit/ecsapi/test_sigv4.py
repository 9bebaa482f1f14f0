"""SigV4 verification against requests signed by botocore's own signer."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ecs_operator.ecsapi import sigv4
from ecs_operator.ecsapi.errors import EcsApiError

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
URL = "http://ecs.example:8443/"


def signed(
    body: bytes,
    when: datetime,
    secret: str = SECRET,
    region: str = "eu-west-1",
    payload_hash: str | None = None,
):
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
    }
    if payload_hash is not None:  # botocore signs this value as the payload's hash
        headers["X-Amz-Content-SHA256"] = payload_hash
    request = AWSRequest(method="POST", url=URL, data=body, headers=headers)
    auth = SigV4Auth(Credentials(KEY, secret), "ecs", region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        auth.add_auth(request)
    headers = [("Host", "ecs.example:8443"), *request.headers.items()]
    return sigv4.Request("POST", "/", "", headers, body)


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
BODY = json.dumps({"maxResults": 10}).encode()


def check(request: sigv4.Request, now: datetime = NOW, secret: str = SECRET) -> sigv4.Authorization:
    auth = sigv4.parse(request)
    sigv4.verify(request, auth, secret, now)
    return auth


def test_a_request_botocore_signed_verifies_and_names_key_and_region() -> None:
    auth = check(signed(BODY, NOW))
    assert (auth.access_key, auth.region) == (KEY, "eu-west-1")


def test_clock_skew_within_five_minutes_is_accepted() -> None:
    check(signed(BODY, NOW - timedelta(minutes=4)))
    check(signed(BODY, NOW + timedelta(minutes=4)))


@pytest.mark.parametrize(
    ("request_", "secret", "code"),
    [
        (signed(BODY, NOW), "wrong-secret", "InvalidSignatureException"),
        (signed(BODY, NOW - timedelta(minutes=6)), SECRET, "InvalidSignatureException"),
        (signed(BODY, NOW + timedelta(minutes=6)), SECRET, "InvalidSignatureException"),
    ],
    ids=["wrong secret", "stale date", "future date"],
)
def test_bad_signatures_are_403(request_: sigv4.Request, secret: str, code: str) -> None:
    with pytest.raises(EcsApiError) as caught:
        check(request_, secret=secret)
    assert (caught.value.code, caught.value.status) == (code, 403)


def test_a_tampered_body_fails() -> None:
    good = signed(BODY, NOW)
    tampered = sigv4.Request(good.method, good.path, good.query, good.headers, b'{"maxResults":9}')
    with pytest.raises(EcsApiError, match="does not match"):
        check(tampered)


def test_a_content_sha256_header_is_accepted_only_as_the_bodys_hash() -> None:
    """The JS SDK v3 sends and signs x-amz-content-sha256; unsigned payloads are refused."""
    check(signed(BODY, NOW, payload_hash=hashlib.sha256(BODY).hexdigest()))
    with pytest.raises(EcsApiError, match="x-amz-content-sha256"):
        check(signed(BODY, NOW, payload_hash="UNSIGNED-PAYLOAD"))


def test_a_changed_signed_header_fails() -> None:
    good = signed(BODY, NOW)
    headers = [
        (k, "AmazonEC2ContainerServiceV20141113.DeleteCluster" if k == "X-Amz-Target" else v)
        for k, v in good.headers
    ]
    with pytest.raises(EcsApiError, match="does not match"):
        check(sigv4.Request("POST", "/", "", headers, BODY))


def test_a_signature_that_leaves_the_operation_out_is_refused() -> None:
    """A request signed over host and x-amz-date only, seen once (a proxy's log, a plain HTTP
    hop), would otherwise be sent again within the five minutes as another operation that
    takes the same body: DescribeTaskDefinition's ``{"taskDefinition": "web:3"}`` as
    DeregisterTaskDefinition. The operation is part of what must be signed."""
    body = json.dumps({"taskDefinition": "web:3"}).encode()
    stamp = NOW.strftime(sigv4.AMZ_DATE)
    base = [("Host", "ecs.example:8443"), ("X-Amz-Date", stamp)]
    auth = sigv4.Authorization(KEY, stamp[:8], "eu-west-1", "ecs", ("host", "x-amz-date"), "")
    signature = sigv4.signature(sigv4.Request("POST", "/", "", base, body), auth, stamp, SECRET)
    header = (
        f"AWS4-HMAC-SHA256 Credential={KEY}/{auth.scope}, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}"
    )
    target = "AmazonEC2ContainerServiceV20141113.DeregisterTaskDefinition"
    sent_again = sigv4.Request(
        "POST", "/", "", [*base, ("Authorization", header), ("X-Amz-Target", target)], body
    )
    with pytest.raises(EcsApiError, match="x-amz-target") as caught:
        check(sent_again)
    assert (caught.value.code, caught.value.status) == ("IncompleteSignatureException", 403)


def test_no_authorization_header_is_missing_token() -> None:
    good = signed(BODY, NOW)
    headers = [(k, v) for k, v in good.headers if k != "Authorization"]
    with pytest.raises(EcsApiError) as caught:
        sigv4.parse(sigv4.Request("POST", "/", "", headers, BODY))
    assert caught.value.code == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    "header",
    [
        "AWS4-HMAC-SHA256 Credential=AKID/20261203/eu-west-1/ecs/aws4_request",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 Credential=AKID/20261203/ecs/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20261203/eu-west-1/ecs/aws4_request, "
        "SignedHeaders=x-amz-date, Signature=" + "0" * 64,
    ],
    ids=["no signature", "not sigv4", "short scope", "host unsigned"],
)
def test_malformed_authorization_is_incomplete_signature(header: str) -> None:
    with pytest.raises(EcsApiError) as caught:
        sigv4.parse(sigv4.Request("POST", "/", "", [("Authorization", header)], b""))
    assert (caught.value.code, caught.value.status) == ("IncompleteSignatureException", 403)


def test_a_signature_scoped_to_another_service_fails() -> None:
    request = signed(BODY, NOW)
    headers = [
        (k, v.replace("/ecs/", "/s3/") if k == "Authorization" else v) for k, v in request.headers
    ]
    with pytest.raises(EcsApiError, match="service"):
        sigv4.parse(sigv4.Request("POST", "/", "", headers, BODY))
