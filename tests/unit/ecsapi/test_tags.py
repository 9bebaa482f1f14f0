"""TagResource keeps ECS's tag rules, as the kinds' specs do (``api/rules/tags.py``): each tag
has a key, and no key repeats; a refused call changes nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.unit.fakes import FakeApi, deployer

from ecs_operator.ecsapi import tags, taskdefinitions, wire
from ecs_operator.ecsapi.caller import Caller
from ecs_operator.ecsapi.errors import EcsApiError

WEB = {"family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 8}]}
ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1"


def _caller() -> tuple[FakeApi, Caller]:
    api = FakeApi(now=time.time())
    caller = deployer(api)
    asyncio.run(taskdefinitions.register(caller, dict(WEB)))
    return api, caller


@pytest.mark.parametrize(
    ("added", "path"),
    [
        ([{"value": "nightly"}], "tags[0].key"),
        ([{"key": "team", "value": "a"}, {"key": "team", "value": "b"}], "tags[1].key"),
    ],
)
def test_a_tag_without_a_key_or_with_a_repeated_one_is_refused(
    added: list[dict[str, str]], path: str
) -> None:
    api, caller = _caller()
    api.forget_requests()

    with pytest.raises(EcsApiError) as refused:
        asyncio.run(tags.tag(caller, {"resourceArn": ARN, "tags": added}))

    assert (refused.value.code, refused.value.status) == ("ClientException", 400)
    assert path in refused.value.message
    assert api.written == []


def test_tags_are_added_to_those_the_resource_has() -> None:
    _, caller = _caller()
    asyncio.run(tags.tag(caller, {"resourceArn": ARN, "tags": [{"key": "team", "value": "a"}]}))
    asyncio.run(tags.tag(caller, {"resourceArn": ARN, "tags": [{"key": "env", "value": "dev"}]}))

    listed = asyncio.run(tags.list_tags(caller, {"resourceArn": ARN}))

    assert listed["tags"] == [{"key": "team", "value": "a"}, {"key": "env", "value": "dev"}]


@pytest.mark.parametrize(
    ("annotation", "listed"),
    [
        ("not json", [{"key": "team", "value": "a"}]),  # as absent: the spec's tags
        ('[{"value": "x"}, {"key": "env", "value": "dev"}]', [{"key": "env", "value": "dev"}]),
    ],
)
def test_tags_written_with_kubectl_that_break_the_rules_are_read_without_a_server_error(
    annotation: str, listed: list[dict[str, str]]
) -> None:
    """A tenant may write the tags annotation (or, before the tag rules, a keyless tag) with
    kubectl: the tag calls still answer, with the tags that are tags."""
    api, caller = _caller()
    family = api.objects[("taskdefinitions", "shop", "web")]
    family["spec"]["tags"] = [{"key": "team", "value": "a"}, {"value": "keyless"}]
    family["metadata"].setdefault("annotations", {})[wire.TAGS] = annotation

    assert asyncio.run(tags.list_tags(caller, {"resourceArn": ARN}))["tags"] == listed
    asyncio.run(tags.tag(caller, {"resourceArn": ARN, "tags": [{"key": "team", "value": "b"}]}))
    after = asyncio.run(tags.list_tags(caller, {"resourceArn": ARN}))["tags"]
    assert after == [t for t in listed if t["key"] != "team"] + [{"key": "team", "value": "b"}]
