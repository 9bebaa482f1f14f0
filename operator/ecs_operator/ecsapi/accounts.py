"""PutAccountSetting, PutAccountSettingDefault and ListAccountSettings, for the settings this
endpoint has one fixed answer to: the long ARN formats.

ECS no longer lets anyone disable them ("You can no longer disable Long Arn settings."), and
they are the only formats this endpoint speaks. Terraform's ``aws_ecs_account_setting_default``
and older deploy scripts still set them to ``enabled``: that succeeds and changes nothing, and
disabling one gets ECS's own refusal. Every other setting would need a record of its own, and
the custom resources are the only record here (no second database), so it is a
ClientException naming it.
"""

from __future__ import annotations

from typing import Any

from . import errors, wire
from .caller import Caller

Body = dict[str, Any]
LONG_ARN_FORMATS = ("containerInstanceLongArnFormat", "serviceLongArnFormat", "taskLongArnFormat")


def _supported(name: str) -> None:
    if name not in LONG_ARN_FORMATS:
        raise errors.client_error(
            f"{name}: not supported by this endpoint, which serves only the long ARN formats'"
            " settings (docs/ecs-api.md)"
        )


def _enabling(request: Body) -> None:
    _supported(request["name"])
    if request["value"] != "enabled":
        raise errors.invalid_parameter("You can no longer disable Long Arn settings.")


def _setting(caller: Caller, name: str, principal: str | None = None) -> Body:
    """A long ARN format's setting: enabled, for the whole account, managed by the endpoint
    (ECS's ``aws_managed``: read-only)."""
    root = f"arn:aws:iam::{caller.credential.account}:root"
    return {
        "name": name,
        "value": "enabled",
        "principalArn": principal or root,
        "type": "aws_managed",
    }


async def put(caller: Caller, request: Body) -> Body:
    _enabling(request)
    return {"setting": _setting(caller, request["name"], request.get("principalArn"))}


async def put_default(caller: Caller, request: Body) -> Body:
    _enabling(request)
    return {"setting": _setting(caller, request["name"])}


async def list_settings(caller: Caller, request: Body) -> Body:
    name, value = request.get("name"), request.get("value")
    if value is not None and name is None:
        raise errors.invalid_parameter("value: filtering by value needs a setting name.")
    if name is not None:
        _supported(name)
    names = [n for n in LONG_ARN_FORMATS if name in (None, n) and value in (None, "enabled")]
    principal = request.get("principalArn")
    chosen, token = wire.page(
        names, request.get("nextToken"), request.get("maxResults"), [name, value, principal]
    )
    return {
        "settings": [_setting(caller, n, principal) for n in chosen],
        **({"nextToken": token} if token else {}),
    }
