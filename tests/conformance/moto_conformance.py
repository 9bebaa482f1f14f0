"""moto's ECS tests, unmodified, in server mode against `ecs-operator api` (issue #16), as
`make conformance` runs them: the devcluster, the operator and the API as in the integration
tests, an access key ``FOOBARKEY``/``FOOBARSECRET`` (moto's own) for the test's namespace, then
``run-moto.sh``. Every tier A test must pass but those that assert what ECS does not (tier D
in ``moto-tiers.txt``, strict xfails); tier B runs as non-strict xfails; this prints the
plugin's count per tier.

Not collected by ``make test`` (no ``test_`` prefix, and it downloads moto's sdist on first
use): it is run by path.
"""

from __future__ import annotations

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
    tiers = [line for line in result.stdout.splitlines() if line.startswith("moto tiers:")]
    print(f"\n{''.join(tiers)} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    assert result.returncode == 0, f"{result.stdout[-20000:]}\n{result.stderr[-3000:]}"
