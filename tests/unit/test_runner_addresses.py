"""`ecs-operator run --metrics-address/--health-address`: the addresses reach the servers that
listen on them (Prometheus' start_http_server, kopf's liveness endpoint), and the defaults keep
listening on every IPv4 address as before the flags existed."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ecs_operator import runner
from ecs_operator.handlers.context import Timers


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """``run`` with the servers and kopf replaced by recorders: what each was called with."""
    calls: dict[str, Any] = {}

    def start_http_server(port: int, **kwargs: Any) -> None:
        calls["metrics"] = {"port": port, **kwargs}

    def kopf_run(**kwargs: Any) -> None:
        calls["kopf"] = kwargs

    monkeypatch.setattr(runner.metrics, "start_http_server", start_http_server)
    monkeypatch.setattr(runner.kopf, "run", kopf_run)
    monkeypatch.setattr(runner.kopf, "configure", lambda **_: None)
    monkeypatch.setattr(runner, "_startup", lambda args: None)
    monkeypatch.setattr(runner, "install_handlers", lambda: None)
    loggers = [logging.getLogger(), logging.getLogger("kopf.objects")]
    levels = [logger.level for logger in loggers]
    yield calls
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def run(*flags: str) -> None:
    parser = argparse.ArgumentParser()
    runner.configure(parser)
    assert runner.run(parser.parse_args(list(flags))) == 0


def test_the_addresses_reach_both_servers(started: dict[str, Any]) -> None:
    run(
        "--metrics-port", "9090", "--metrics-address", "127.0.0.1",
        "--health-port", "9091", "--health-address", "10.1.2.3",
    )  # fmt: skip
    assert started["metrics"]["port"] == 9090
    assert started["metrics"]["addr"] == "127.0.0.1"
    assert started["metrics"]["registry"] is runner.metrics.REGISTRY
    assert started["kopf"]["liveness_endpoint"] == "http://10.1.2.3:9091/healthz"


def test_defaults_listen_on_every_ipv4_address(started: dict[str, Any]) -> None:
    run()
    assert (started["metrics"]["port"], started["metrics"]["addr"]) == (8080, "0.0.0.0")
    assert started["kopf"]["liveness_endpoint"] == "http://0.0.0.0:8081/healthz"


def test_ipv6_addresses_are_bracketed_in_the_liveness_url(started: dict[str, Any]) -> None:
    run("--metrics-address", "::", "--health-address", "::")
    assert started["metrics"]["addr"] == "::"
    assert started["kopf"]["liveness_endpoint"] == "http://[::]:8081/healthz"


def test_port_zero_turns_an_endpoint_off_whatever_its_address(started: dict[str, Any]) -> None:
    run("--metrics-port", "0", "--health-port", "0", "--health-address", "127.0.0.1")
    assert "metrics" not in started
    assert started["kopf"]["liveness_endpoint"] is None


def test_the_timers_keep_their_tuned_defaults_and_can_be_shortened() -> None:
    """The hidden timer flags (the tests' operator shortens its waits with them)."""
    parser = argparse.ArgumentParser()
    runner.configure(parser)
    assert runner.reconcile_settings(parser.parse_args([])).timers == Timers()
    assert Timers().max_backoff == 60.0 and Timers().account_grace == 30.0
    short = parser.parse_args(["--max-backoff", "2", "--reference-grace", "0.5"])
    assert runner.reconcile_settings(short).timers == Timers(max_backoff=2.0, reference_grace=0.5)
    assert "--max-backoff" not in parser.format_help()


def test_disruption_budgets_are_on_unless_the_admin_turns_them_off() -> None:
    parser = argparse.ArgumentParser()
    runner.configure(parser)
    settings = runner.reconcile_settings(parser.parse_args([]))
    assert settings.policy.disruption_budgets
    off = runner.reconcile_settings(parser.parse_args(["--no-disruption-budgets"]))
    assert not off.policy.disruption_budgets
