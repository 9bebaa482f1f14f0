"""docs/design/'s dated records are the decisions the code alone does not explain: each one is
listed, by its title, in docs/architecture.md's Decisions, which is where a reader finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
RECORDS = sorted((DOCS / "design").glob("*.md"))


@pytest.mark.parametrize("record", RECORDS, ids=[r.stem for r in RECORDS])
def test_every_design_record_is_listed_in_the_architecture(record: Path) -> None:
    title = record.read_text().splitlines()[0].removeprefix("# ")
    listed = f"[{title}](design/{record.name})"
    assert listed in (DOCS / "architecture.md").read_text(), listed
