"""The devcluster's pieces that need no cluster: PKI, pid tracking, binary cache keys."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ecs_operator_devtools.devcluster import binaries, pki, processes
from ecs_operator_devtools.devcluster.cli import status_lines
from ecs_operator_devtools.devcluster.cluster import (
    API,
    API_PORT,
    OPERATOR,
    OPERATOR_PORTS,
    DevCluster,
    Ports,
)
from ecs_operator_devtools.devcluster.errors import DevclusterError


def test_pki_issues_a_server_cert_for_loopback_and_an_admin_in_system_masters(
    tmp_path: Path,
) -> None:
    certs = pki.generate(tmp_path)
    server = x509.load_pem_x509_certificate(certs.server_cert.read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "10.96.0.1",
    }
    admin = x509.load_pem_x509_certificate(certs.admin_cert.read_bytes())
    assert (
        admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    )
    usage = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert oct(certs.admin_key.stat().st_mode & 0o777) == "0o600"


def test_kubeconfig_embeds_credentials(tmp_path: Path) -> None:
    certs = pki.generate(tmp_path)
    path = pki.write_kubeconfig(certs, "https://127.0.0.1:1234", tmp_path / "kubeconfig")
    config = yaml.safe_load(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1234"
    assert config["users"][0]["user"]["client-key-data"]


def test_stop_all_stops_what_it_started_and_nothing_else(tmp_path: Path) -> None:
    ours = processes.start("sleeper", ["/bin/sleep", "60"], tmp_path)
    stranger = subprocess.Popen(["/bin/sleep", "60"])
    try:
        # A pid file left by a crash whose pid now belongs to another program is not ours.
        (tmp_path / "pids" / "reused.pid").write_text(f"{stranger.pid} /usr/bin/not-sleep\n")
        assert ours.alive()
        stopped = processes.stop_all(tmp_path)
        assert stopped == ["sleeper"]
        assert not ours.alive()
        assert stranger.poll() is None
        assert not list((tmp_path / "pids").iterdir())
    finally:
        stranger.kill()
        stranger.wait()


def test_cache_entry_is_keyed_by_version_and_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_OPERATOR_CACHE", str(tmp_path))
    kube = binaries.MODULES[0]
    entry = binaries.cache_dir(kube)
    assert entry.parent == tmp_path / "bin"
    assert entry.name.startswith(f"kube-{binaries.KUBE_VERSION}-")
    assert len({binaries.cache_dir(m) for m in binaries.MODULES}) == len(binaries.MODULES)
    # the real nodes' entries: one module may build several (other packages, flags or tags)
    every = (*binaries.MODULES, *binaries.NODE_MODULES)
    assert len({binaries.cache_dir(m) for m in every}) == len(every)


def test_a_superseded_entry_is_pruned_only_after_a_week_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worktrees on older pins share the cache: their entries stay while they are used."""
    monkeypatch.setenv("ECS_OPERATOR_CACHE", str(tmp_path))
    etcd = next(m for m in binaries.MODULES if m.directory == "etcd")
    current = binaries.cache_dir(etcd)
    recent, old = (tmp_path / "bin" / f"etcd-v0.0.{n}-000000000000" for n in (1, 2))
    for entry in (current, recent, old):
        entry.mkdir(parents=True)
        (entry / ".complete").write_text("built\n")
    week = 7 * 24 * 3600
    os.utime(old / ".complete", (time.time() - week - 60,) * 2)
    os.utime(recent / ".complete", (time.time() - week + 3600,) * 2)
    binaries._prune_superseded(etcd, current)
    assert current.exists() and recent.exists() and not old.exists()


def test_missing_go_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(binaries.os, "access", lambda *_: False)
    with pytest.raises(DevclusterError, match=r"Install Go 1\.26"):
        binaries.find_go()


def test_cli_env_prints_exports() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ecs_operator.cli", "devcluster", "env", "--state-dir", "/tmp/x"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "export KUBECONFIG=/tmp/x/kubeconfig" in out
    assert "export PATH=" in out
    # `kubectl ecs` and `ecs-operator` work after the eval, as the README uses them
    assert str(Path(sys.executable).parent) in out


def test_status_shows_the_operator_the_demo_started_and_its_metrics(tmp_path: Path) -> None:
    cluster = DevCluster(tmp_path)
    assert not [line for line in status_lines(cluster) if line.startswith(OPERATOR)]
    operator = processes.start(OPERATOR, ["/bin/sleep", "60"], tmp_path)
    (tmp_path / OPERATOR_PORTS).write_text(json.dumps({"metrics": 8123, "health": 8124}))
    try:
        line = status_lines(cluster)[-1]
        assert line.split()[:2] == [OPERATOR, "running"]
        assert "metrics http://127.0.0.1:8123/metrics" in line
    finally:
        processes.stop(operator)
    assert status_lines(cluster)[-1].split()[:2] == [OPERATOR, "stopped"]
    # the ECS API the demo started, and where it listens (a user who lost the demo's output)
    api = processes.start(API, ["/bin/sleep", "60"], tmp_path)
    (tmp_path / API_PORT).write_text(json.dumps({"port": 8130}))
    try:
        line = status_lines(cluster)[-1]
        assert line.split()[:3] == [API, "running", "http://127.0.0.1:8130"]
    finally:
        processes.stop(api)


def test_a_wait_fails_at_once_naming_any_component_that_exited(tmp_path: Path) -> None:
    """A component that dies during ``up`` (here: its port taken) is named with its log,
    whichever component's readiness was being waited for."""
    waited_for = processes.start("kwok", ["/bin/sleep", "60"], tmp_path)
    processes.start(
        "kube-controller-manager",
        ["/bin/sh", "-c", "echo 'failed to listen: bind: address already in use'; exit 1"],
        tmp_path,
    )
    started = time.monotonic()
    try:
        with pytest.raises(DevclusterError) as raised:
            DevCluster(tmp_path)._wait(lambda: False, 60, "the node fleet to become Ready", "kwok")
    finally:
        processes.stop(waited_for)
    assert time.monotonic() - started < 10
    assert str(raised.value).startswith(
        "kube-controller-manager exited while waiting for the node fleet to become Ready"
    )
    assert "address already in use" in str(raised.value)


def test_a_wait_that_times_out_says_what_is_still_missing(tmp_path: Path) -> None:
    with pytest.raises(
        DevclusterError, match=r"Ready \(general-0: tainted node.kubernetes.io/not-ready"
    ):
        DevCluster(tmp_path)._wait(
            lambda: False,
            0.3,
            "the node fleet to become Ready",
            "kwok",
            explain=lambda: "general-0: tainted node.kubernetes.io/not-ready:NoSchedule",
        )


def test_a_port_taken_since_it_was_chosen_is_chosen_again() -> None:
    """An outgoing connection may take a port chosen for a component that starts later."""
    ports = Ports.allocate()
    with socket.socket() as taker:
        taker.bind(("127.0.0.1", ports.kwok))
        taker.listen()
        rechecked = ports.rechecked("controller_manager", "scheduler", "kwok")
    assert rechecked.kwok != ports.kwok
    assert rechecked.kwok not in {ports.etcd_client, ports.etcd_peer, ports.apiserver}
    assert dataclasses.replace(rechecked, kwok=ports.kwok) == ports
