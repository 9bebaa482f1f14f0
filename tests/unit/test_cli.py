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


def _help(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "ecs_operator.cli", *args, "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_help_speaks_to_users() -> None:
    text = _help()
    assert "ecs-operator demo" in text and "ecs-operator convert" in text
    assert "configure(parser)" not in text  # the module's docstring is for developers


def test_every_demo_flag_has_help() -> None:
    text = " ".join(_help("demo").split())  # argparse wraps lines
    assert "--examples EXAMPLES the manifests to apply" in text
    assert "--namespace NAMESPACE where they run (default: ecs-demo)" in text
    assert "--timeout TIMEOUT seconds to wait" in text
    assert "--state-dir STATE_DIR the devcluster's state directory" in text
