"""The devcluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on
free loopback ports, with a fake fleet of EC2 node-pool and Fargate nodes.

Like envtest, but with the controller-manager and the scheduler running, so Deployments make
ReplicaSets and Pods, Pods get scheduled, namespaces really delete and garbage collection
follows owner references; kwok plays the kubelets.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from . import binaries, fleet, network, pki, processes, realnode
from .errors import DevclusterError
from .nodeconfig import NodePaths
from .processes import free_port as free_port

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
#: the operator process ``ecs-operator demo`` starts and tracks beside the components, and the
#: file in the state directory that records its ports
OPERATOR = "ecs-operator"
OPERATOR_PORTS = "operator-ports.json"
#: the ECS API process ``ecs-operator demo`` starts (demo_api.py), and the file recording its port
API = "ecs-operator-api"
API_PORT = "api-port.json"
#: how often the HorizontalPodAutoscaler controller syncs (Kubernetes' default: 15 s): an
#: autoscaled Service reaches its minimum or maximum within seconds, and a test that checks
#: the HPA leaves a count alone waits two syncs of this, not of 15 s
HPA_SYNC_SECONDS = 5


def api_port(state_dir: Path) -> int | None:
    """The port of the ECS API ``demo`` started in ``state_dir``, if it did."""
    try:
        return int(json.loads((state_dir / API_PORT).read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def default_state_dir() -> Path:
    """``$ECS_OPERATOR_STATE_DIR``, else ``devcluster/default`` in the cache: the devcluster
    that commands without ``--state-dir`` mean (a shell, or a test, may point them elsewhere)."""
    configured = os.environ.get("ECS_OPERATOR_STATE_DIR")
    return Path(configured) if configured else binaries.cache_root() / "devcluster" / "default"


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def allocate(cls) -> Ports:
        chosen: set[int] = set()
        while len(chosen) < 6:
            chosen.add(free_port())
        return cls(*sorted(chosen))

    def rechecked(self, *names: str) -> Ports:
        """These ports, with each of ``names`` that can no longer be bound replaced by a free
        one. A port is chosen free seconds before the component that listens on it starts
        (the controllers and kwok start after etcd and the API server), and meanwhile any
        process's outgoing connection may take it as its local port: the component would
        then exit with "address already in use"."""
        taken = {name for name in names if not processes.port_free(getattr(self, name))}
        in_use = set(self.__dict__.values())
        fresh: dict[str, int] = {}
        for name in sorted(taken):
            port = free_port()
            while port in in_use:
                port = free_port()
            in_use.add(port)
            fresh[name] = port
        return dataclasses.replace(self, **fresh)


class DevCluster:
    """One devcluster, living in a state directory (PKI, data, logs, pid files, kubeconfig)."""

    def __init__(
        self,
        state_dir: Path | None = None,
        real_nodes: int = 0,
        feature_gates: Mapping[str, bool] | None = None,
    ) -> None:
        self.state_dir = (state_dir or default_state_dir()).resolve()
        #: how many real nodes (realnode.py) ``up`` starts beside the kwok fleet
        self.real_nodes = real_nodes
        #: the API server's feature gates that differ from its defaults: a cluster as an older
        #: Kubernetes would be, for the tests of what the operator does there
        self.feature_gates = dict(feature_gates or {})

    # -- paths -------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def certs(self) -> pki.Pki:
        return pki.Pki(self.state_dir / "pki")

    def state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data

    # -- status ------------------------------------------------------------------------
    def running(self) -> dict[str, bool]:
        """Component -> alive, for the processes this state directory started (the real
        nodes' containerd and kubelet among them, and their network's kube-proxy and CoreDNS)."""
        alive = {p.name: p.alive() for p in processes.tracked(self.state_dir)}
        names = [*COMPONENTS]
        if self.state().get("real_nodes"):
            names += [network.KUBE_PROXY, network.COREDNS]
        for node in realnode.node_names(self.state_dir):
            names += [f"containerd-{node}", f"kubelet-{node}"]
        return {name: alive.get(name, False) for name in names}

    def operator_ports(self) -> dict[str, int] | None:
        """The metrics and health ports of the operator ``demo`` started here, if it did."""
        try:
            ports: dict[str, int] = json.loads((self.state_dir / OPERATOR_PORTS).read_text())
        except (OSError, ValueError):
            return None
        return ports

    def is_up(self) -> bool:
        state = self.state()
        return bool(state) and all(self.running().values()) and self._apiserver_ready(state)

    def server(self) -> str:
        """The API server's URL: on loopback, or with real nodes on the host address pods
        reach it at (network.HOST_IP), where it then listens instead."""
        state = self.state()
        return f"https://{state.get('apiserver_host', '127.0.0.1')}:{state['ports']['apiserver']}"

    # -- lifecycle ---------------------------------------------------------------------
    def up(self, timeout: float = 180.0, log: Callable[[str], None] = print) -> None:
        """Start everything (building binaries on first use) and wait for a Ready fleet."""
        if self.is_up():
            log(f"devcluster already running in {self.state_dir}")
            return
        if self.state_dir.exists():
            stale = self._stop_all()
            log(
                f"cleaning a stale devcluster state in {self.state_dir}"
                + (f" (stopped {', '.join(stale)})" if stale else "")
            )
            shutil.rmtree(self.state_dir)
        real = self.real_nodes > 0 and self._real_nodes_available(log)
        if real:
            realnode.claim_host(self, log)
        bins = binaries.ensure_all()
        if real:
            realnode.build()
        started = time.monotonic()
        self.state_dir.mkdir(parents=True)
        ports = Ports.allocate()
        host = network.HOST_IP if real else "127.0.0.1"
        certs = pki.generate(self.state_dir / "pki", server_ips=(host,) if real else ())
        server = f"https://{host}:{ports.apiserver}"
        pki.write_kubeconfig(certs, server, self.kubeconfig)
        self.state_file.write_text(
            json.dumps(
                {
                    "ports": ports.__dict__,
                    "apiserver_host": host,
                    "binaries": {k: str(v) for k, v in bins.items()},
                    "real_nodes": self.real_nodes if real else 0,
                },
                indent=2,
            )
        )
        try:
            if real:
                network.add_host_address()
            self._start_etcd(bins, ports, timeout)
            extra = [*realnode.apiserver_flags(self), *network.apiserver_flags()] if real else []
            if self.feature_gates:
                gates = ",".join(f"{k}={str(v).lower()}" for k, v in self.feature_gates.items())
                extra.append(f"--feature-gates={gates}")
            self._start_apiserver(bins, ports, certs, timeout, extra)
            ports = ports.rechecked("controller_manager", "scheduler", "kwok")
            self._record_ports(ports)
            self._start_controllers(bins, ports, timeout)
            fleet.start(self, bins["kwok"], ports.kwok, timeout)
            if real:
                network.start(self, NodePaths(self.state_dir, 0).name, timeout)
                realnode.start(self, self.real_nodes, timeout, log)
                network.wait_ready(self, timeout)
        except BaseException:
            self._stop_all()
            raise
        log(f"devcluster up in {time.monotonic() - started:.1f}s: {server}")

    def _record_ports(self, ports: Ports) -> None:
        state = self.state()
        state["ports"] = ports.__dict__
        self.state_file.write_text(json.dumps(state, indent=2))

    def down(self, purge: bool = True) -> list[str]:
        """Stop exactly the processes this devcluster started, and remove what its real
        nodes put on the host; remove its state."""
        stopped = self._stop_all()
        if purge and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        return stopped

    def _stop_all(self) -> list[str]:
        # the network before the nodes: realnode.stop releases the host to the next devcluster
        network_stopped = network.stop(self.state_dir) if self.state().get("real_nodes") else []
        return [
            *network_stopped,
            *realnode.stop(self.state_dir),
            *processes.stop_all(self.state_dir),
        ]

    def _real_nodes_available(self, log: Callable[[str], None]) -> bool:
        reason = realnode.unavailable_reason()
        if reason is not None:
            log(f"{reason}; starting the kwok fleet only")
        return reason is None

    def import_image(self, archive: Path) -> None:
        """Import a docker-archive into every real node's containerd (a no-op where the
        image is there already): pods then run it without pulling."""
        realnode.import_everywhere(self.state_dir, archive)

    def restart(self, component: str, timeout: float = 60.0) -> None:
        """Restart one component in place and wait until it serves again (fault tests)."""
        processes.restart(component, self.state_dir)
        ports = self.state()["ports"]
        checks: dict[str, Callable[[], bool]] = {
            "etcd": partial(_http_ok, f"http://127.0.0.1:{ports['etcd_client']}/health"),
            "kube-apiserver": partial(self._apiserver_ready, self.state()),
        }
        self._wait(
            checks.get(component, lambda: True), timeout, f"{component} to serve again", component
        )

    # -- components --------------------------------------------------------------------
    def _start_etcd(self, bins: dict[str, Path], ports: Ports, timeout: float) -> None:
        client = f"http://127.0.0.1:{ports.etcd_client}"
        peer = f"http://127.0.0.1:{ports.etcd_peer}"
        command = [
            str(bins["etcd"]),
            "--name=devcluster",
            f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=devcluster={peer}",
            "--unsafe-no-fsync",
            "--auto-compaction-retention=1",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ]
        processes.start("etcd", command, self.state_dir)
        self._wait(lambda: _http_ok(f"{client}/health"), timeout, "etcd", "etcd")

    def _start_apiserver(
        self,
        bins: dict[str, Path],
        ports: Ports,
        certs: pki.Pki,
        timeout: float,
        extra: list[str] | None = None,
    ) -> None:
        command = [
            str(bins["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports.apiserver}",
            f"--cert-dir={self.state_dir / 'apiserver'}",
            f"--tls-cert-file={certs.server_cert}",
            f"--tls-private-key-file={certs.server_key}",
            f"--client-ca-file={certs.ca_cert}",
            f"--service-cluster-ip-range={pki.SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={certs.sa_pub}",
            f"--service-account-signing-key-file={certs.sa_key}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            "--event-ttl=1h",
            *(extra or []),
        ]
        processes.start("kube-apiserver", command, self.state_dir)
        self._wait(
            lambda: self._apiserver_ready(self.state()),
            timeout,
            "kube-apiserver /readyz",
            "kube-apiserver",
        )

    def _start_controllers(self, bins: dict[str, Path], ports: Ports, timeout: float) -> None:
        kubeconfig = str(self.kubeconfig)
        common = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
        ]
        certs = self.certs
        controller_manager = [
            str(bins["kube-controller-manager"]),
            *common,
            f"--secure-port={ports.controller_manager}",
            "--controllers=*",
            "--use-service-account-credentials=false",
            f"--service-account-private-key-file={certs.sa_key}",
            f"--root-ca-file={certs.ca_cert}",
            f"--cluster-signing-cert-file={certs.ca_cert}",
            f"--cluster-signing-key-file={certs.ca_key}",
            f"--service-cluster-ip-range={pki.SERVICE_CIDR}",
            f"--horizontal-pod-autoscaler-sync-period={HPA_SYNC_SECONDS}s",
            "--concurrent-deployment-syncs=10",
            "--concurrent-replicaset-syncs=10",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ]
        scheduler = [
            str(bins["kube-scheduler"]),
            *common,
            f"--secure-port={ports.scheduler}",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ]
        processes.start("kube-controller-manager", controller_manager, self.state_dir)
        processes.start("kube-scheduler", scheduler, self.state_dir)
        for name, port in (
            ("kube-controller-manager", ports.controller_manager),
            ("kube-scheduler", ports.scheduler),
        ):
            url = f"https://127.0.0.1:{port}/healthz"
            self._wait(partial(_http_ok, url), timeout, f"{name} /healthz", name)

    # -- clients -----------------------------------------------------------------------
    def api(self) -> Any:
        """A kubernetes client ApiClient for this devcluster (imported lazily: it is slow)."""
        from kubernetes import client, config

        return config.new_client_from_config(str(self.kubeconfig)), client  # type: ignore[no-untyped-call]

    # -- waiting -----------------------------------------------------------------------
    def _apiserver_ready(self, state: dict[str, Any]) -> bool:
        if not state:
            return False
        return _http_ok(
            f"{self.server()}/readyz",
            cafile=self.certs.ca_cert,
            cert=(self.certs.admin_cert, self.certs.admin_key),
        )

    def _wait(
        self,
        check: Callable[[], bool],
        timeout: float,
        what: str,
        component: str,
        explain: Callable[[], str] | None = None,
    ) -> None:
        """Wait for ``check``; fail at once, naming it, when any component started so far
        exits (a clash on its port, a crash), else after ``timeout`` with ``component``'s log
        and ``explain()``: what is still missing."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = next((p for p in processes.tracked(self.state_dir) if not p.alive()), None)
            if dead is not None:
                raise DevclusterError(
                    f"{dead.name} exited while waiting for {what}; its log "
                    f"({self.state_dir / 'logs' / (dead.name + '.log')}) ends with:\n"
                    + processes.log_tail(self.state_dir, dead.name)
                )
            try:
                if check():
                    return
            except Exception:  # anything short of ready means "not yet"
                pass
            time.sleep(0.2)
        missing = f" ({explain()})" if explain else ""
        raise DevclusterError(
            f"timed out after {timeout:.0f}s waiting for {what}{missing}; "
            f"{component}'s log ends with:\n" + processes.log_tail(self.state_dir, component)
        )


def _http_ok(url: str, cafile: Path | None = None, cert: tuple[Path, Path] | None = None) -> bool:
    context = None
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        if cafile is None:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if cert:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
