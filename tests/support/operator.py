"""The operator as a separate process, the way users run it: `ecs-operator run`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from ecs_operator.handlers.context import Timers
from tests.support.kube import wait_for

#: set once the session's shared ``operator`` fixture (tests/conftest.py) has started: from then
#: on it reconciles every namespace of the session's devcluster (tests/e2e/conftest.py)
SHARED_OPERATOR_STARTED = pytest.StashKey[bool]()

#: the admin's policy (``ecs-operator run`` tenancy flags) of the tests' operators: every
#: namespace may use any task role, the privileged level and exposed Services. The tests of
#: the policy itself (tests/e2e/test_tenancy.py) and of the chart's RBAC pass the chart's
#: defaults instead.
PERMISSIVE = (
    "--allow-task-role", "arn:aws:iam::*:role/*",
    "--pod-security-ceiling", "privileged",
    "--allow-service-type", "NodePort",
    "--allow-service-type", "LoadBalancer",
)  # fmt: skip


#: the operator's waits as the tests' operators run with them (hidden ``ecs-operator run``
#: flags): a test that waits out a grace period or a backoff takes seconds, not minutes. The
#: reference grace stays long enough that a TaskDefinition applied with its Service is
#: registered within it on a loaded machine (no false alarm); the pod coalescing window and
#: the Cluster refresh keep their defaults (shorter, they only cost more reconciles).
TIMERS = Timers(
    reference_grace=5.0,
    account_grace=3.0,
    account_sweep_delay=1.0,
    max_backoff=5.0,
    deletion_hold_retry=1.0,
    status_settle=2.0,
    status_settle_in_progress=2.0,
    start_failure_grace=3.0,
    prewarm_confirm=5.0,
)


def timer_flags(timers: Timers) -> tuple[str, ...]:
    """``timers`` as ``ecs-operator run`` flags."""
    return tuple(
        part
        for timer in fields(timers)
        for part in (f"--{timer.name.replace('_', '-')}", str(getattr(timers, timer.name)))
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log: Path
    metrics_port: int
    args: tuple[str, ...] = ()
    policy: tuple[str, ...] = PERMISSIVE

    @classmethod
    def start(
        cls,
        directory: Path,
        *args: str,
        env: dict[str, str] | None = None,
        policy: tuple[str, ...] = PERMISSIVE,
    ) -> OperatorProcess:
        metrics, health = free_port(), free_port()
        log = directory / f"operator-{int(time.time() * 1000)}.log"
        command = [
            sys.executable, "-m", "ecs_operator.cli", "run",
            "--metrics-port", str(metrics), "--health-port", str(health),
            "--task-retention", "5", *timer_flags(TIMERS), *policy, *args,
        ]  # fmt: skip
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        started = cls(process, log, metrics, tuple(args), policy)
        try:
            wait_for(started.ready, 60, "the operator to start")
        except BaseException:
            # one that never started would otherwise run on after the test, reconciling the
            # next tests' namespaces with whatever code it has
            started.stop()
            raise
        return started

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the operator exited:\n{self.log.read_text()[-3000:]}")
        return "ecs-operator started" in self.log.read_text(errors="replace")

    def metrics(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as r:
            return str(r.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include ``labels``."""
        total = 0.0
        for line in self.metrics().splitlines():
            match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
            if not match:
                continue
            found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(match.group(2))
        return total

    def writes(self) -> float:
        """API writes the operator sent, Events excluded."""
        return self.metric("ecs_operator_api_writes_total") - self.metric(
            "ecs_operator_api_writes_total", resource="events"
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, *args: str) -> None:
        """Stop and start again in place (with other arguments if given)."""
        self.stop()
        fresh = OperatorProcess.start(self.log.parent, *args, policy=self.policy)
        self.process, self.log, self.metrics_port, self.args = (
            fresh.process,
            fresh.log,
            fresh.metrics_port,
            fresh.args,
        )
