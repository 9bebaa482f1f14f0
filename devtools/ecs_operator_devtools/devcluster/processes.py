"""Start and stop the devcluster's component processes, tracked by pid file.

``down`` must stop exactly what ``up`` started and nothing else, even after a crash left a
pid file behind and the pid was reused: a pid is only signalled while ``/proc/<pid>/exe`` is
still the binary we started from that pid file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port free on loopback now, for a component to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether a listener could bind ``port`` on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class Tracked:
    """A component process as recorded in its pid file: ``<pid> <binary>``."""

    name: str
    pid: int
    binary: str

    def alive(self) -> bool:
        """Still running, and still the binary we started (not a reused pid)."""
        try:
            exe = os.readlink(f"/proc/{self.pid}/exe")
        except OSError:
            return False
        if exe.endswith(" (deleted)"):
            exe = exe[: -len(" (deleted)")]
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z" and os.path.realpath(exe) == os.path.realpath(self.binary)


def start(
    name: str, command: list[str], state_dir: Path, path_first: Path | None = None
) -> Tracked:
    """Start a component in its own session (it outlives `up`), logging to logs/<name>.log.

    ``path_first`` goes before the inherited PATH: containerd finds a running task's shim
    binary by name when it restarts, and a shim it cannot find is a task it kills."""
    logs = state_dir / "logs"
    pids = state_dir / "pids"
    logs.mkdir(parents=True, exist_ok=True)
    pids.mkdir(parents=True, exist_ok=True)
    env = None
    if path_first is not None:
        env = {**os.environ, "PATH": f"{path_first}{os.pathsep}{os.environ.get('PATH', '')}"}
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=state_dir,
        )
    tracked = Tracked(name, process.pid, command[0])
    (pids / f"{name}.pid").write_text(f"{tracked.pid} {tracked.binary}\n")
    launch = {"command": command, "pathFirst": None if path_first is None else str(path_first)}
    (pids / f"{name}.cmd").write_text(json.dumps(launch))
    return tracked


def restart(name: str, state_dir: Path) -> Tracked:
    """Stop a component and start it again with the same command line (fault tests)."""
    launch = json.loads((state_dir / "pids" / f"{name}.cmd").read_text())
    for process in tracked(state_dir):
        if process.name == name:
            stop(process)
    path_first = launch["pathFirst"]
    return start(
        name, launch["command"], state_dir, None if path_first is None else Path(path_first)
    )


def tracked(state_dir: Path) -> list[Tracked]:
    """The processes recorded in the state directory's pid files, in start order."""
    pids = state_dir / "pids"
    if not pids.is_dir():
        return []
    found = []
    for path in pids.glob("*.pid"):
        try:
            pid, binary = path.read_text().split(maxsplit=1)
            found.append((path.stat().st_mtime_ns, Tracked(path.stem, int(pid), binary.strip())))
        except (OSError, ValueError):
            continue
    return [entry for _, entry in sorted(found, key=lambda item: item[0])]


def stop(process: Tracked, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; a process that is not ours is left alone."""
    if not process.alive():
        return
    try:
        os.kill(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            return
        time.sleep(0.1)
    if process.alive():
        os.kill(process.pid, signal.SIGKILL)
        while process.alive() and time.monotonic() < deadline + 5:
            time.sleep(0.05)


def stop_all(state_dir: Path) -> list[str]:
    """Stop every tracked process, newest first; returns the names that were running."""
    stopped = []
    for process in reversed(tracked(state_dir)):
        if process.alive():
            stopped.append(process.name)
            stop(process)
        (state_dir / "pids" / f"{process.name}.pid").unlink(missing_ok=True)
        (state_dir / "pids" / f"{process.name}.cmd").unlink(missing_ok=True)
    return stopped


def log_tail(state_dir: Path, name: str, lines: int = 25) -> str:
    path = state_dir / "logs" / f"{name}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
