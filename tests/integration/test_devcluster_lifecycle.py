"""`ecs-operator devcluster up/status/down` as a user runs them, on a second devcluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ecs_operator_devtools.devcluster import processes
from ecs_operator_devtools.devcluster.cluster import COMPONENTS

pytestmark = pytest.mark.integration


def run_devcluster(action: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ecs_operator.cli",
            "devcluster",
            action,
            "--state-dir",
            str(state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_up_status_crash_recovery_and_down_leave_nothing_behind(
    tmp_path: Path, devcluster: Path
) -> None:
    state = tmp_path / "cluster"
    assert run_devcluster("up", state).returncode == 0
    status = run_devcluster("status", state)
    assert status.returncode == 0, status.stdout + status.stderr
    started = processes.tracked(state)
    assert sorted(p.name for p in started) == sorted(COMPONENTS)

    # A crash: one component dies; `up` notices the stale state, cleans it and starts afresh.
    etcd = next(p for p in started if p.name == "etcd")
    os.kill(etcd.pid, signal.SIGKILL)
    assert run_devcluster("status", state).returncode == 1
    again = run_devcluster("up", state)
    assert again.returncode == 0, again.stderr
    assert "stale" in again.stderr
    assert all(not p.alive() for p in started)

    restarted = processes.tracked(state)
    down = run_devcluster("down", state)
    assert down.returncode == 0
    assert all(not p.alive() for p in restarted)
    assert not state.exists()
