"""AWS Signature Version 4, verified server-side for ECS's JSON requests.

The canonical request is rebuilt the way botocore builds it when it signs (``auth.SigV4Auth``)
from the headers the client says it signed, then signed again with the stored secret and
compared in constant time. Pure: the caller supplies the secret and the clock, so the unit
tests sign with botocore itself. Only what ECS's clients send is accepted: the
``Authorization`` header (no presigned query), the payload hashed whole (an
``x-amz-content-sha256``, which the JS SDK v3 sends, must be that hash: no unsigned or streaming
payloads), ``host`` and ``x-amz-date`` among the signed headers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from . import errors

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "ecs"
#: how far the request's X-Amz-Date may be from our clock (AWS allows 5 minutes)
MAX_SKEW = timedelta(minutes=5)
AMZ_DATE = "%Y%m%dT%H%M%SZ"

_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM}\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Request:
    """What a signature covers: method, raw path and query, headers as received, raw body."""

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


@dataclass(frozen=True)
class Authorization:
    """The parsed ``Authorization`` header: who claims to sign, and the scope."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


#: what every signature must cover: the host and the time, as AWS requires, and the
#: operation, so that a request seen once cannot be sent again as another operation taking the
#: same body within the skew (botocore, the JS and Go SDKs sign every header they send)
SIGNED_ALWAYS = ("host", "x-amz-date", "x-amz-target")


def parse(request: Request) -> Authorization:
    """The request's claimed signature, or a 403 saying what is missing or malformed."""
    values = request.header("authorization")
    if not values:
        raise errors.missing_token()
    match = _AUTHORIZATION.match(values[0].strip())
    if match is None:
        raise errors.incomplete_signature(
            f"Authorization header requires {ALGORITHM} with Credential, SignedHeaders and "
            "Signature."
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise errors.incomplete_signature(
            "Credential must be <key>/<date>/<region>/<service>/aws4_request."
        )
    signed = tuple(match["signed"].split(";"))
    for required in SIGNED_ALWAYS:
        if required not in signed:
            raise errors.incomplete_signature(f"SignedHeaders must include {required}.")
    auth = Authorization(parts[0], parts[1], parts[2], parts[3], signed, match["signature"])
    if auth.service != SERVICE:
        raise errors.invalid_signature(
            f"Credential should be scoped to correct service: '{SERVICE}'."
        )
    return auth


def verify(request: Request, auth: Authorization, secret: str, now: datetime) -> None:
    """Raise a 403 unless ``secret`` signed ``request`` as ``auth`` says, within the skew."""
    stamp = (request.header("x-amz-date") or [""])[0]
    try:
        signed_at = datetime.strptime(stamp, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise errors.incomplete_signature("X-Amz-Date must be YYYYMMDD'T'HHMMSS'Z'.") from None
    if abs(now - signed_at) > MAX_SKEW:
        raise errors.invalid_signature(
            f"Signature expired: {stamp} is now earlier or later than "
            f"{(now - MAX_SKEW).strftime(AMZ_DATE)} .. {(now + MAX_SKEW).strftime(AMZ_DATE)}."
        )
    if not stamp.startswith(auth.date):
        raise errors.invalid_signature("Credential date does not match X-Amz-Date.")
    claimed = request.header("x-amz-content-sha256")
    if claimed and claimed != [hashlib.sha256(request.body).hexdigest()]:
        raise errors.invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match what was computed "
            "(only the payload's SHA-256 is accepted: no unsigned or streaming payloads)."
        )
    expected = signature(request, auth, stamp, secret)
    if not hmac.compare_digest(expected, auth.signature):
        raise errors.invalid_signature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )


def canonical_request(request: Request, signed_headers: Sequence[str]) -> str:
    """botocore's canonical request (``SigV4Auth.canonical_request``)."""
    pairs = sorted(pair.partition("=")[::2] for pair in request.query.split("&") if pair)
    headers = [
        f"{name}:{','.join(' '.join(v.split()) for v in request.header(name))}"
        for name in sorted(set(signed_headers))
    ]
    return "\n".join(
        [
            request.method.upper(),
            quote(request.path or "/", safe="/~"),
            "&".join(f"{k}={v}" for k, v in pairs),
            "\n".join(headers) + "\n",
            ";".join(signed_headers),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )


def signature(request: Request, auth: Authorization, stamp: str, secret: str) -> str:
    to_sign = "\n".join(
        [
            ALGORITHM,
            stamp,
            auth.scope,
            hashlib.sha256(canonical_request(request, auth.signed_headers).encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (auth.date, auth.region, auth.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
