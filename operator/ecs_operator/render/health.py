"""``healthCheck`` to probes, with ECS's defaults (interval 30 s, timeout 5 s, retries 3).

``CMD`` execs its arguments directly; ``CMD-SHELL`` runs one string through the container's
shell (``/bin/sh -c``, or ``cmd /S /C`` on Windows) — never the string as a single argv word.
In a service's task an essential container's health check becomes its liveness probe (ECS
replaces a task whose essential container is unhealthy; the kubelet restarts the container in
place, the one approximation) and its readiness probe (task health is the health of its
essential containers, which gates deployments). Nothing acts on a non-essential container's
health, in ECS or here: it gets no probe but the startup probe that holds the containers waiting
for it to be HEALTHY. A RunTask task is never stopped for its health
("a task run outside a service continues its lifecycle regardless of its health status"), so
its containers get only the readiness probe, which reports the health without acting on it
(and the startup probe only where another container waits for them to be HEALTHY).
``startPeriod`` becomes a startup probe that allows ceil(startPeriod / interval) + retries
attempts: failures inside the start period do not count and an early success ends it, as in
ECS. A container others wait on with ``HEALTHY`` always gets the startup probe, so the kubelet
holds the containers after it until it is healthy.
"""

from __future__ import annotations

from typing import Any

from ..api.shapes import HealthCheck
from .errors import fail
from .findings import Report
from .process import verbatim

DEFAULT_INTERVAL = 30
DEFAULT_TIMEOUT = 5
DEFAULT_RETRIES = 3
LINUX_SHELL = ("/bin/sh", "-c")
WINDOWS_SHELL = ("cmd", "/S", "/C")


#: why Docker runs no check for a command of another form than CMD or CMD-SHELL (ECS hands the
#: command to Docker as the check's ``Test``; moby's daemon/health.go), so the container's
#: health stays UNKNOWN and nothing acts on it, on ECS as here
UNCHECKED = {
    "NONE": "NONE turns the check off, as in Docker",
    "": (
        'Docker runs no check whose command starts with neither CMD nor CMD-SHELL ("Unknown '
        'healthcheck type"); write ["CMD", ...] to run it'
    ),
}


def unchecked(check: HealthCheck) -> str | None:
    """Why Docker would run no check for this command (None: it runs one)."""
    kind = (check.command or [""])[0]
    if kind in ("CMD", "CMD-SHELL"):
        return None
    return UNCHECKED.get(kind, UNCHECKED[""])


def probe_command(check: HealthCheck, path: str, windows: bool) -> list[str]:
    """The exec command of a health check (``CMD`` / ``CMD-SHELL`` form)."""
    kind, *rest = check.command or ("",)
    if kind == "CMD" and rest:
        return [verbatim(word) for word in rest]
    if kind == "CMD-SHELL" and rest:
        return [*(WINDOWS_SHELL if windows else LINUX_SHELL), verbatim(" ".join(rest))]
    raise fail(path + ".command", 'must be ["CMD", args...] or ["CMD-SHELL", "command"]')


def _positive(value: int | None, default: int, path: str, report: Report) -> int:
    if value is None:
        return default
    if value < 1:
        report.approx(path, f"{value} is not a valid probe setting; 1 is used")
        return 1
    return value


def probes(
    check: HealthCheck,
    path: str,
    *,
    windows: bool,
    readiness: bool,
    gate: bool,
    report: Report,
    liveness: bool = True,
) -> dict[str, Any]:
    """``livenessProbe`` when ``liveness`` (+ ``readinessProbe`` when ``readiness``, +
    ``startupProbe`` when the check has a start period or ``gate`` says others wait for this
    container to be healthy); none for a command Docker runs no check for."""
    why = unchecked(check)
    if why is not None:
        report.ignored(path + ".command", f"{why}: the container's health stays UNKNOWN")
        return {}
    interval = _positive(check.interval, DEFAULT_INTERVAL, path + ".interval", report)
    retries = _positive(check.retries, DEFAULT_RETRIES, path + ".retries", report)
    command = probe_command(check, path, windows)
    timeout = _positive(check.timeout, DEFAULT_TIMEOUT, path + ".timeout", report)

    def probe(failures: int) -> dict[str, Any]:
        # a fresh dict each time: the probes must not share objects (YAML aliases, mutation)
        return {
            "exec": {"command": list(command)},
            # Docker runs a container's first check `interval` after it starts, not at once:
            # an immediate probe failed every container still starting (with retries 1, the
            # kubelet killed it before it could pass)
            "initialDelaySeconds": interval,
            "periodSeconds": interval,
            "timeoutSeconds": timeout,
            "failureThreshold": failures,
        }

    out: dict[str, Any] = {"livenessProbe": probe(retries)} if liveness else {}
    if readiness:
        out["readinessProbe"] = probe(retries)
    start_period = max(check.startPeriod or 0, 0)
    # a startup probe that fails kills the container: only where the check may act on it, or
    # where containers wait for this one to be HEALTHY
    if (start_period and liveness) or gate:
        out["startupProbe"] = probe(-(-start_period // interval) + retries)
    return out
