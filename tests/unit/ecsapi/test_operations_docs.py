"""docs/ecs-api.md's table of operations names exactly the operations the server answers."""

from __future__ import annotations

import re
from pathlib import Path

from ecs_operator.ecsapi.server import OPERATIONS

DOC = Path(__file__).resolve().parents[3] / "docs" / "ecs-api.md"


def test_the_operations_table_is_what_the_server_answers() -> None:
    text = DOC.read_text()
    table = re.search(
        r"^## Operations\n\n\| operation \|.*?\n\|---\|---\|\n(.*?)\n\n", text, re.M | re.S
    )
    assert table, "docs/ecs-api.md has an '## Operations' table"
    named = [
        name.strip() for row in table.group(1).splitlines() for name in row.split("|")[1].split(",")
    ]
    assert sorted(named) == sorted(OPERATIONS)
