"""A pytest plugin for running moto's ECS tests (server mode) against ``ecs-operator api``
(``run-moto.sh`` loads it as ``-p moto_reset``): moto resets its backend before each test,
here that is emptying the key's namespace (``ECS_API_NAMESPACE``) of ECS objects; the tests of
tier B (``moto-tiers.txt``: they assert moto's instant simulation) are non-strict xfails, the
tier A tests that assert what ECS does not (tier D, each with its reason) strict ones; the
summary counts each tier. Every answer a test's client gets must be one ECS could send
(``tests/support/ecs_answers.py``, by botocore's model; loaded by its path, tests/support
not being importable beside moto's own ``tests``): moto's
tests read few members of an answer, and a member of the wrong type fails the Go SDK whole."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.handlers
import pytest

TIERS = Path(__file__).with_name("moto-tiers.txt")
_ANSWERS = Path(__file__).parents[1] / "support" / "ecs_answers.py"
_spec = importlib.util.spec_from_file_location("ecs_answers", _ANSWERS)
assert _spec is not None and _spec.loader is not None
ecs_answers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ecs_answers)
# before any client exists: moto's tests make their own
botocore.handlers.BUILTIN_HANDLERS.append(("before-parse.ecs", ecs_answers.check))

KINDS = ",".join(
    f"{kind}.ecs-operator.dev" for kind in ("tasks", "services", "taskdefinitions", "clusters")
)


def _kubectl(*args: str) -> str:
    return subprocess.run(
        ["kubectl", "-n", os.environ["ECS_API_NAMESPACE"], *args],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def empty_namespace() -> None:
    """Delete every ECS object of the namespace, finalizers and all, and the task definitions'
    revisions, and wait until gone. The revisions would go with the garbage collector, but it
    learns of a kind installed after it started only some 30 s later: a test registering the
    previous test's family meanwhile would find its revision names taken."""
    revisions = ["controllerrevisions", "-l", "app.kubernetes.io/managed-by=ecs-operator"]
    names = _kubectl("get", KINDS, "-o", "name").split()
    names += _kubectl("get", *revisions, "-o", "name").split()
    if not names:
        return
    _kubectl("delete", *names, "--wait=false")
    for name in names:
        _kubectl("patch", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    _kubectl("wait", "--for=delete", *names, "--timeout=30s")


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    empty_namespace()
    yield


def _tiers() -> dict[str, tuple[str, str]]:
    """Test id -> (tier, reason) from ``moto-tiers.txt`` (``T id  # reason``)."""
    found = {}
    for line in TIERS.read_text().splitlines():
        if line[:2] in ("A ", "B ", "D "):
            test, _, reason = line[2:].partition("#")
            found[test.strip()] = (line[0], reason.strip())
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tiers = _tiers()
    for item in items:
        tier, reason = tiers.get(item.nodeid.split("[")[0], ("A", ""))
        if tier == "B":
            item.add_marker(pytest.mark.xfail(reason="asserts moto's simulation", strict=False))
        elif tier == "D":
            item.add_marker(pytest.mark.xfail(reason=f"ECS differs: {reason}", strict=True))


OUTCOMES: dict[str, Counter[str]] = {"A": Counter(), "B": Counter(), "D": Counter()}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        tier, _ = _tiers().get(report.nodeid.split("[")[0], ("A", ""))
        outcome = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        if hasattr(report, "wasxfail") and report.passed:
            outcome = "xpassed"
        OUTCOMES[tier][outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per tier: what run-moto.sh's callers quote."""
    a, b, d = OUTCOMES["A"], OUTCOMES["B"], OUTCOMES["D"]
    tier_a = sum(a.values()) + sum(d.values())
    terminalreporter.write_line(
        f"moto tiers: A {a['passed']} of {tier_a} pass, {a['failed']} fail, "
        f"{d['xfailed']} ECS deviations (D, strict xfail; {d['xpassed'] + d['failed']} now "
        f"pass); B {b['xpassed']} of {sum(b.values())} pass (xfail, non-strict)"
    )
