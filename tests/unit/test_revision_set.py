"""The deregistered (and deleted) revisions annotation: numbers and ranges as people and the
ECS API write them, junk ignored, kept as ranges however large."""

from __future__ import annotations

import pytest

from ecs_operator.status.revision_set import MAX_REVISION, RevisionSet


@pytest.mark.parametrize(
    ("text", "written", "members", "outside"),
    [
        ("3, x", "3", [3], [2, 4]),
        ("1,2,3,7", "1-3,7", [1, 2, 3, 7], [4, 6, 8]),
        ("7,1-3,2,4", "1-4,7", [1, 4, 7], [5, 6]),
        ("5-3,0,-2,1e3,", "", [], [0, 3, 5]),  # backwards, zero, signs, floats: junk
        (f"1-{MAX_REVISION}", f"1-{MAX_REVISION}", [1, MAX_REVISION], [MAX_REVISION + 1]),
        (f"2-{MAX_REVISION + 1}", "", [], [2]),  # beyond ECS's limit: junk
        (None, "", [], [1]),
    ],
)
def test_the_annotation_is_read_as_numbers_and_ranges(
    text: str | None, written: str, members: list[int], outside: list[int]
) -> None:
    revisions = RevisionSet.parse(text)

    assert str(revisions) == written
    assert all(n in revisions for n in members)
    assert not any(n in revisions for n in outside)


def test_terraforms_deregistrations_stay_a_range() -> None:
    """Terraform deregisters the previous revision at each change: every revision but the
    newest, as one range."""
    revisions = RevisionSet()
    for previous in range(1, 5000):
        revisions = RevisionSet.parse(str(revisions | RevisionSet.of([previous])))

    assert str(revisions) == "1-4999"


@pytest.mark.parametrize(
    ("marked", "latest", "active"),
    [
        ("", 5, 5),
        ("5", 5, 4),
        ("3-5", 5, 2),
        ("2,4-5", 5, 3),
        ("1-5", 5, None),
        ("7", 5, 5),
        ("", 0, None),
        (f"1-{MAX_REVISION - 1}", MAX_REVISION, MAX_REVISION),
    ],
)
def test_the_latest_active_revision_is_the_newest_outside(
    marked: str, latest: int, active: int | None
) -> None:
    assert RevisionSet.parse(marked).newest_outside(latest) == active
