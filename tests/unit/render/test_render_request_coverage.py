"""Every member of CreateService and RunTask is accounted for: rendered (render/request_coverage.py
says where) or reported as it is set (``REPORTED``), never both, never neither; and
docs/mapping.md's request tables are generated from the same tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from ecs_operator.api.base import EcsShape
from ecs_operator.api.shapes import CreateServiceRequest, RunTaskRequest
from ecs_operator.render import request_coverage, service, task
from ecs_operator.render.findings import FindingKind

from .helpers import assert_generated

DOCS = Path(__file__).resolve().parents[3] / "docs" / "mapping.md"
BEGIN, END = "<!-- requests:begin -->", "<!-- requests:end -->"


@pytest.mark.parametrize(
    ("shape", "rendered", "reported"),
    [
        (CreateServiceRequest, request_coverage.SERVICE, service.REPORTED),
        (RunTaskRequest, request_coverage.RUN_TASK, task.REPORTED),
    ],
    ids=["CreateService", "RunTask"],
)
def test_each_member_is_rendered_or_reported(
    shape: type[EcsShape],
    rendered: Mapping[str, str],
    reported: Mapping[str, tuple[FindingKind, str]],
) -> None:
    members = set(shape.model_fields)
    whole = {name for name in reported if "." not in name}

    assert set(rendered) <= members, "a rendered member the request does not have"
    assert members - set(rendered) - whole == set(), "a member neither rendered nor reported"
    assert set(rendered) & whole == set(), "a member both rendered and reported whole"
    for dotted in reported:
        assert dotted.split(".")[0] in members, f"{dotted} is no member of {shape.__name__}"


def test_docs_mapping_request_tables_are_generated() -> None:
    assert_generated(DOCS, BEGIN, END, request_coverage.markdown_tables())
