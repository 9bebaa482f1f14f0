"""Task definition references: the three forms ECS accepts, and nothing else."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecs_operator.api.ref import PATTERN, InvalidTaskDefinitionRef, TaskDefinitionRef


@pytest.mark.parametrize(
    ("text", "family", "revision", "short"),
    [
        ("web", "web", None, "web"),
        ("web:3", "web", 3, "web:3"),
        ("hello_world-2:10", "hello_world-2", 10, "hello_world-2:10"),
        (
            "arn:aws:ecs:us-east-1:123456789012:task-definition/sleep360:19",
            "sleep360",
            19,
            "sleep360:19",
        ),
        (
            "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/app:1",
            "app",
            1,
            "app:1",
        ),
    ],
)
def test_the_three_forms(text: str, family: str, revision: int | None, short: str) -> None:
    ref = TaskDefinitionRef.parse(text)
    assert (ref.family, ref.revision) == (family, revision)
    assert str(ref) == short
    assert TaskDefinitionRef.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "",
        "web:",
        "web:0",
        "web:latest",
        "web:1:2",
        "my app",
        "a" * 256,
        "arn:aws:ecs:us-east-1:123456789012:task-definition/",
        "arn:aws:ecs:us-east-1:1234:task-definition/web:1",
        "arn:aws:ecs:us-east-1:123456789012:service/web",
    ],
)
def test_anything_else_is_refused_clearly(text: str) -> None:
    with pytest.raises(InvalidTaskDefinitionRef, match="family:revision"):
        TaskDefinitionRef.parse(text)


def test_an_arn_without_its_revision_is_the_latest_active_one() -> None:
    """Terraform's ``arn_without_revision`` and Pulumi's ``arnWithoutRevision``: "If a revision
    isn't specified, the latest ACTIVE revision is used"."""
    ref = TaskDefinitionRef.parse("arn:aws:ecs:us-east-1:123456789012:task-definition/web")
    assert (ref.family, ref.revision) == ("web", None)
    assert str(ref) == "web"


def test_the_error_is_a_value_error_so_pydantic_reports_it() -> None:
    assert issubclass(InvalidTaskDefinitionRef, ValueError)


_CHARS = st.sampled_from("abcXYZ019_-:/ .arnwsec")


@given(st.text(_CHARS, max_size=40))
def test_the_schema_pattern_accepts_exactly_what_parse_accepts(text: str) -> None:
    """The CRD's ``pattern`` (API server) and ``parse`` (operator) agree."""
    try:
        TaskDefinitionRef.parse(text)
        parsed = True
    except InvalidTaskDefinitionRef:
        parsed = False
    assert bool(re.fullmatch(PATTERN, text)) == parsed


@given(st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True), st.integers(1, 10**6))
def test_arns_read_as_their_short_form(family: str, revision: int) -> None:
    arn = f"arn:aws:ecs:eu-west-1:000011112222:task-definition/{family}:{revision}"
    assert str(TaskDefinitionRef.parse(arn)) == f"{family}:{revision}"
