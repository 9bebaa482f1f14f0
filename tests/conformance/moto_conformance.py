"""moto's ECS tests, unmodified, in server mode against `ecs-operator api` (issue #16), as
`make conformance` runs them: the devcluster, the operator and the API as in the integration
tests, an access key ``FOOBARKEY``/``FOOBARSECRET`` (moto's own) for the test's namespace, then
``run-moto.sh``. Every tier A test must pass; tier B runs as non-strict xfails, and this prints
how many of each passed.

Not collected by ``make test`` (no ``test_`` prefix, and it downloads moto's sdist on first
use): it is run by path.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support.ecsapi import ApiProcess, access_key
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).with_name("run-moto.sh")
#: moto's own credentials (moto/core/models.py, server mode)
MOTO_KEY, MOTO_SECRET = "FOOBARKEY", "FOOBARSECRET"


def counts(summary: str) -> dict[str, int]:
    """pytest's closing line (``3 failed, 50 passed, 2 xpassed in 9s``) as outcome -> count."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}


def test_moto_ecs_tier_a_passes(operator: OperatorProcess, namespace: str, tmp_path: Path) -> None:
    access_key(namespace, "moto", MOTO_KEY, secret=MOTO_SECRET)
    api = ApiProcess.start(tmp_path, namespace)
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), api.endpoint, namespace, "-rfEX"],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        api.stop()
    lines = result.stdout.strip().splitlines()
    outcome = counts(lines[-1] if lines else "")
    print(
        f"\nmoto ECS: tier A {outcome.get('passed', 0)} passed, {outcome.get('failed', 0)} "
        f"failed; tier B {outcome.get('xpassed', 0)} passed of "
        f"{outcome.get('xpassed', 0) + outcome.get('xfailed', 0)} (xfail); "
        f"{time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    assert result.returncode == 0, f"{result.stdout[-20000:]}\n{result.stderr[-3000:]}"
