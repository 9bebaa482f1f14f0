"""The command lines: what each subcommand's process loads, and what it says when a tool
that is not part of the runtime is missing."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

import ecs_operator.plugin
from ecs_operator import cli

#: What the image and `pip install ecs-operator` do not carry: the dev tools' distribution and
#: the dependencies of the dev tools and of the plugin.
NOT_IN_THE_RUNTIME = ("ecs_operator_devtools", "kubernetes", "cryptography")

RUNTIME_PROBE = f"""
import importlib, pkgutil, sys
for name in {NOT_IN_THE_RUNTIME!r}:
    sys.modules[name] = None  # import name now fails, as where it is not installed
import ecs_operator
from ecs_operator import cli
for found in pkgutil.walk_packages(ecs_operator.__path__, "ecs_operator."):
    if not found.name.startswith("ecs_operator.plugin."):
        importlib.import_module(found.name)
for command in ("run", "convert", "crds"):
    try:
        cli.main([command, "--help"])
    except SystemExit as done:
        assert done.code == 0, command
print("ok")
"""


def test_the_runtime_needs_no_dev_tool() -> None:
    """Every module of the package but the plugin's imports, and run, convert and crds start,
    without the dev tools, the official client (kopf would import it: a sixth of the
    operator's memory) or cryptography."""
    out = subprocess.run(
        [sys.executable, "-c", RUNTIME_PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "ok"


def _uninstalled(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make ``package`` fail to import for this test, as where it is not installed."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, package, None)


@pytest.mark.parametrize("argv", [["demo"], ["devcluster", "up"], ["demo", "--help"]])
def test_a_dev_tool_that_is_not_installed_is_named_with_how_to_install_it(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _uninstalled(monkeypatch, "ecs_operator_devtools")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ecs-operator {argv[0]} is a development tool: pip install -e ./devtools from a "
        "checkout of the repository (make venv does)\n"
    )


def test_the_plugin_without_its_client_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _uninstalled(monkeypatch, "kubernetes")
    for name in ("ecs_operator.plugin.cli", "ecs_operator.plugin.source"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(ecs_operator.plugin, "cli", raising=False)
    monkeypatch.delattr(ecs_operator.plugin, "source", raising=False)
    assert ecs_operator.plugin.main() == 2
    assert capsys.readouterr().err == (
        "kubectl ecs needs the Kubernetes client: pip install 'ecs-operator[plugin]'\n"
    )


def _help(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "ecs_operator.cli", *args, "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_help_speaks_to_users() -> None:
    text = _help()
    assert "ecs-operator demo" in text and "ecs-operator convert" in text
    assert "configure(parser)" not in text  # the module's docstring is for developers


def test_every_demo_flag_has_help() -> None:
    text = " ".join(_help("demo").split())  # argparse wraps lines
    assert "--examples EXAMPLES the manifests to apply" in text
    assert "--namespace NAMESPACE where they run (default: ecs-demo)" in text
    assert "--timeout TIMEOUT seconds to wait" in text
    assert "--state-dir STATE_DIR the devcluster's state directory" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_demo_progress_is_a_line_per_change_in_a_log_and_one_line_on_a_terminal() -> None:
    from ecs_operator_devtools.demo import Progress

    log, terminal = io.StringIO(), _Terminal()
    for stream in (log, terminal):
        progress = Progress(stream)
        for line in ("services steady 0/3", "services steady 0/3", "services steady 3/3"):
            progress.show(line)
        progress.done("steady")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[:2] == ["services steady 0/3", "services steady 3/3"]
    assert re.fullmatch(r"steady after \d+s: services steady 3/3", lines[2])
    assert terminal.getvalue() == "\rservices steady 0/3\rservices steady 3/3\n"


def test_the_demo_says_in_one_line_where_its_containers_run_and_why_not_on_a_real_node() -> None:
    from ecs_operator_devtools.demo import containers_line

    assert "real ones on node real-0" in containers_line(None, real=True)
    line = containers_line("real nodes need root (kubelet ...)", real=False)
    assert (
        line == "containers: simulated by kwok (no real node: real nodes need root (kubelet ...))"
    )
    assert "started without them" in containers_line(None, real=False)
