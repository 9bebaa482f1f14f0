"""One devcluster with real nodes per host at a time.

Kubelet writes fixed host paths, and kube-proxy's iptables chains are host-wide, so two
real-node devclusters on one machine would tear each other down. ``up`` with real nodes
claims the host in a claim file naming its state directory; another ``up`` waits for it, and
takes it over once the claim is stale: neither the claiming process nor any process of its
state directory is still running.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import processes
from .errors import DevclusterError

CLAIM = Path("/run/ecs-operator-real.claim")


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (tells a reused pid from the one recorded)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def record(state_dir: Path) -> dict[str, Any]:
    """The claim of this process for the devcluster in ``state_dir``."""
    pid = os.getpid()
    return {"state_dir": str(state_dir), "pid": pid, "start": _start_time(pid)}


def is_stale(claim: dict[str, Any]) -> bool:
    """Nothing of the claim's owner runs any more: neither the process that claimed the host
    (it may still be starting the nodes) nor a process of its devcluster."""
    pid = int(claim.get("pid", 0))
    if pid and _start_time(pid) is not None and _start_time(pid) == claim.get("start"):
        return False
    return not any(p.alive() for p in processes.tracked(Path(claim.get("state_dir", "/"))))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise readers and writers of the claim file (flock on a sibling lock file)."""
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def holder(path: Path = CLAIM) -> dict[str, Any] | None:
    """The current claim, stale or not, or None."""
    try:
        claim: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return claim


def claim(
    state_dir: Path,
    timeout: float,
    log: Callable[[str], None],
    path: Path = CLAIM,
    poll: float = 2.0,
) -> dict[str, Any] | None:
    """Claim the host for ``state_dir``, waiting up to ``timeout`` seconds for another
    devcluster's claim to go; returns the stale claim taken over (its leftovers are the
    caller's to clean), else None."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        with _locked(path):
            current = holder(path)
            if current is None or current.get("state_dir") == str(state_dir) or is_stale(current):
                path.write_text(json.dumps(record(state_dir)))
                ours = current is not None and current.get("state_dir") == str(state_dir)
                return None if current is None or ours else current
        if time.monotonic() > deadline:
            raise DevclusterError(
                f"real nodes: the host is still claimed by the devcluster in "
                f"{current['state_dir']} after {timeout:.0f}s (`ecs-operator devcluster down "
                f"--state-dir {current['state_dir']}` frees it)"
            )
        if not told:
            log(f"real nodes: waiting for the devcluster in {current['state_dir']} to go down")
            told = True
        time.sleep(poll)


def release(state_dir: Path, path: Path = CLAIM) -> None:
    """Give the host up, if ``state_dir`` holds it."""
    with _locked(path):
        current = holder(path)
        if current is not None and current.get("state_dir") == str(state_dir):
            path.unlink(missing_ok=True)
