"""`ecs-operator devcluster build | image | up | down | status | env`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import binaries, operator_image, processes, realnode
from .cluster import API, OPERATOR, DevCluster, api_port, default_state_dir
from .errors import DevclusterError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("build", "image", "up", "down", "status", "env"),
        help="build the binaries or the operator image; start, stop or inspect the "
        "devcluster; print shell exports",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the devcluster keeps PKI, data, logs and pid files "
        f"(default {default_state_dir()})",
    )
    parser.add_argument(
        "--real-nodes",
        type=int,
        default=0,
        metavar="N",
        help="with `up`: also start N real nodes (containerd + kubelet; root, Linux) named "
        "real-0 .. real-<N-1>, in the EC2 node pool `real`; with `build`: build what they need",
    )
    parser.add_argument(
        "--import",
        dest="import_image",
        action="store_true",
        help="with `image`: also import it into the running devcluster's real nodes",
    )


def scripts_dir() -> Path:
    """Where this installation's commands are (``ecs-operator``, the ``kubectl-ecs`` plugin):
    the virtualenv's ``bin/`` after ``make venv``."""
    return Path(sys.executable).parent


def env_command(cluster: DevCluster, state_dir: Path | None) -> str:
    """The command that prints the exports of ``cluster``, runnable as it is printed."""
    command = f"{shlex.quote(str(scripts_dir() / 'ecs-operator'))} devcluster env"
    if state_dir is not None:
        command += f" --state-dir {shlex.quote(str(cluster.state_dir))}"
    return command


def _env_lines(cluster: DevCluster) -> list[str]:
    path = ":".join(str(d) for d in [*binaries.bin_dirs(), scripts_dir()])
    return [
        f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}",
        f'export PATH={shlex.quote(path)}:"$PATH"',
    ]


def status_lines(cluster: DevCluster) -> list[str]:
    """Each component, and the operator ``demo`` started if there is one, with its metrics."""
    lines = [
        f"{name:24} {'running' if alive else 'stopped'}"
        for name, alive in cluster.running().items()
    ]
    operator = next((p for p in processes.tracked(cluster.state_dir) if p.name == OPERATOR), None)
    if operator is not None:
        ports = cluster.operator_ports() or {}
        line = f"{OPERATOR:24} {'running' if operator.alive() else 'stopped'}"
        if "metrics" in ports:
            line += f"  metrics http://127.0.0.1:{ports['metrics']}/metrics"
        lines.append(f"{line}  log {cluster.state_dir / 'logs' / (OPERATOR + '.log')}")
    api = next((p for p in processes.tracked(cluster.state_dir) if p.name == API), None)
    port = api_port(cluster.state_dir)
    if api is not None and port is not None:
        lines.append(
            f"{API:24} {'running' if api.alive() else 'stopped'}  http://127.0.0.1:{port}"
            "  (make demo prints its key again)"
        )
    return lines


def _image(cluster: DevCluster, import_it: bool) -> None:
    """Build (or find) the operator image; its reference alone on stdout, for scripts
    (``IMAGE=$(ecs-operator devcluster image)``)."""
    image = operator_image.ensure_image()
    print(f"archive: {image.archive}", file=sys.stderr)
    if import_it:
        nodes = realnode.node_names(cluster.state_dir)
        if not nodes:
            raise DevclusterError(f"no real nodes in {cluster.state_dir} to import it into")
        cluster.import_image(image.archive)
        print(f"imported into {', '.join(nodes)}", file=sys.stderr)
    print(image.reference)


def run(args: argparse.Namespace) -> int:
    cluster = DevCluster(args.state_dir, real_nodes=args.real_nodes)
    try:
        if args.action == "build":
            built = binaries.ensure_all()
            if args.real_nodes > 0:
                node_binaries, task_images = realnode.build()
                built |= node_binaries | {image.name: image for image in task_images}
            for name, path in built.items():
                print(f"{name:24} {path}")
        elif args.action == "image":
            _image(cluster, args.import_image)
        elif args.action == "up":
            cluster.up(log=lambda line: print(line, file=sys.stderr))
            print(
                f"\nUse it with:\n  eval $({env_command(cluster, args.state_dir)})\n"
                "  kubectl get nodes -L topology.kubernetes.io/zone",
                file=sys.stderr,
            )
        elif args.action == "down":
            stopped = cluster.down()
            print(
                f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}",
                file=sys.stderr,
            )
        elif args.action == "status":
            print("\n".join(status_lines(cluster)))
            if cluster.is_up():
                print(
                    f"{'kube-apiserver':24} {cluster.server()}  (KUBECONFIG={cluster.kubeconfig})"
                )
                return 0
            return 1
        else:
            print("\n".join(_env_lines(cluster)))
    except DevclusterError as error:
        print(f"ecs-operator devcluster {args.action}: {error}", file=sys.stderr)
        return 1
    return 0
