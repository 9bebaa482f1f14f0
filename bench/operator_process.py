"""The operator under test: a separate process started as the image starts it, ``ecs-operator
run``, with KUBECONFIG set to the benchmark's devcluster, plus what the benchmarks read from
it: its own metrics and its memory and CPU from /proc.

The virtualenv it runs from has the official ``kubernetes`` client (the plugin's, the dev
tools' and the tests'); the image does not, and kopf imports that client whenever it is
installed. So the process starts without it (``AS_IN_THE_IMAGE``), to measure what ships.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ecs_operator_devtools.devcluster.cluster import DevCluster, free_port

from .workload import ACCOUNT_ID

WRITES = "ecs_operator_api_writes_total"
RECONCILES = "ecs_operator_reconciles_total"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Extra ``ecs-operator run`` arguments for every operator the benchmarks start (``python -m
#: bench --operator-args "--workers 32"``): for experiments; the results record them.
OPERATOR_ARGS: list[str] = []
#: ``ecs-operator`` where the official client is not installed, as in the image.
AS_IN_THE_IMAGE = (
    "import sys; sys.modules['kubernetes'] = None; "
    "from ecs_operator.cli import main; sys.exit(main())"
)


@dataclass(frozen=True)
class Usage:
    """A /proc reading: resident memory now and at its peak (MiB), CPU seconds so far."""

    rss_mb: float
    peak_rss_mb: float
    cpu_s: float


def proc_usage(pid: int) -> Usage:
    """VmRSS and VmHWM from /proc/<pid>/status; utime + stime from /proc/<pid>/stat."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(re.findall(r"^(\w+):\s+(\d+) kB$", status, re.MULTILINE))
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(stat[11]), int(stat[12])  # fields 14 and 15, counted after the name
    return Usage(
        rss_mb=int(fields["VmRSS"]) / 1024,
        peak_rss_mb=int(fields["VmHWM"]) / 1024,
        cpu_s=(utime + stime) / CLOCK_TICKS,
    )


class OperatorProcess:
    """``ecs-operator run`` against one devcluster, logging to ``log``."""

    def __init__(
        self, cluster: DevCluster, log: Path, *python_flags: str, args: Sequence[str] = ()
    ) -> None:
        self.metrics_port, self.health_port = free_port(), free_port()
        self.log = log
        command = [
            sys.executable, *python_flags, "-c", AS_IN_THE_IMAGE, "run",
            "--metrics-port", str(self.metrics_port), "--health-port", str(self.health_port),
            "--allow-task-role", f"arn:aws:iam::{ACCOUNT_ID}:role/*",
            *args, *OPERATOR_ARGS,
        ]  # fmt: skip
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        with open(log, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.started = time.monotonic()
        self._profiler: subprocess.Popen[bytes] | None = None

    def wait_started(self, timeout: float = 60.0) -> float:
        """Wait for the "started" log line (the store is pre-warmed, workers run); returns
        the seconds it took."""
        while time.monotonic() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the operator exited:\n{self.tail()}")
            if "ecs-operator started" in self.log.read_text(errors="replace"):
                return time.monotonic() - self.started
            time.sleep(0.1)
        raise TimeoutError(f"the operator did not start in {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def usage(self) -> Usage:
        return proc_usage(self.process.pid)

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def counter(self, name: str, *labels: str) -> dict[str, float]:
        """A counter's samples, keyed by the values of ``labels`` joined by spaces."""
        found: dict[str, float] = {}
        for line in self.metrics().splitlines():
            if line.startswith(name + "{"):
                values = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
                key = " ".join(values.get(label, "") for label in labels)
                found[key] = found.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        return found

    def writes(self) -> dict[str, float]:
        """``ecs_operator_api_writes_total`` as ``"verb resource"`` -> count."""
        return self.counter(WRITES, "verb", "resource")

    def reconciles(self) -> dict[str, float]:
        """``ecs_operator_reconciles_total`` as ``"kind outcome"`` -> count."""
        return self.counter(RECONCILES, "kind", "outcome")

    def profile(self, output: Path, py_spy: str) -> None:
        """Sample the operator with py-spy until :meth:`stop` (collapsed stacks, one line per
        stack with its sample count: easy to aggregate by function)."""
        self._profiler = subprocess.Popen(
            [py_spy, "record", "--pid", str(self.process.pid), "--rate", "50", "--nonblocking",
             "--format", "raw", "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        """SIGTERM (kopf shuts down gracefully), SIGKILL after 30 s; a profiler is stopped
        first, with SIGINT, which makes py-spy write its output."""
        if self._profiler is not None and self._profiler.poll() is None:
            self._profiler.send_signal(signal.SIGINT)
            self._profiler.wait(60)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


def without_events(writes: dict[str, float]) -> float:
    return sum(v for k, v in writes.items() if not k.endswith(" events"))


def events_only(writes: dict[str, float]) -> float:
    return sum(v for k, v in writes.items() if k.endswith(" events"))
