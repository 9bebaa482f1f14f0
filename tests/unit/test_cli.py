"""The command line: what each subcommand's process loads."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from ecs_operator import cli
try:
    cli.main(["run", "--help"])
except SystemExit:
    pass
import kopf
print(sorted(m for m in sys.modules if m.startswith("kubernetes.")))
"""


def test_the_operator_process_runs_without_the_official_client() -> None:
    """kopf would import it (a sixth of the operator's memory); the operator never uses it."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
