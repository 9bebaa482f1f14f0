"""``ecs-operator convert``: its arguments, the options they give, and the run that writes the
YAML stream to stdout and the reports to stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import yaml

from .. import sources
from ..api.errors import EcsValidationError
from ..nodes import NodeLabels
from ..render.request import Options
from .files import Unreadable, documents_of, input_files, node_labels_of
from .kubernetes import to_kubernetes
from .resources import missing_clusters, to_custom_resources


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ecs-operator convert``."""
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="+",
        help="ECS JSON (an object or a list), a CloudFormation template, terraform show -json "
        "output, or a directory of such files (*.json, *.yaml, *.yml); - for stdin; several "
        "are read as one input",
    )
    parser.add_argument(
        "--to",
        choices=("crd", "k8s"),
        default="crd",
        help="crd: ecs-operator custom resources (default); k8s: plain Kubernetes objects",
    )
    parser.add_argument("--namespace", help="namespace of the objects (k8s default: default)")
    parser.add_argument("--cluster", help="ECS cluster name when the input names none")
    parser.add_argument(
        "--pod-level-resources",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="task cpu/memory as pod spec.resources (Kubernetes 1.34+), as `ecs-operator run` "
        "renders it by default; --no-pod-level-resources spreads it over the containers",
    )
    parser.add_argument(
        "--container-restart-rules",
        action="store_true",
        help="per-container restartPolicy/restartPolicyRules (ContainerRestartRules, 1.34+)",
    )
    parser.add_argument("--account-id", help="AWS account id completing short role names")
    parser.add_argument(
        "--task-metadata-url",
        metavar="URL",
        help="where tasks reach the ECS task metadata endpoint, as `ecs-operator run "
        "--task-metadata-url` gives it: each container's ECS_CONTAINER_METADATA_URI_V4",
    )
    parser.add_argument(
        "--emit-volumes",
        action="store_true",
        help="with --to k8s: also the PersistentVolume (EFS CSI driver, its volume handle and "
        "mount options) and claim of each EFS volume, and the claim of each shared Docker volume",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a CloudFormation template's parameter (or an Fn::ImportValue export) value; "
        "repeat for more (default: the parameter's Default)",
    )
    parser.add_argument(
        "--nodes",
        metavar="FILE",
        help="the cluster's nodes (kubectl get nodes -o json), to expand a memberOf regular "
        "expression (attribute:ecs.instance-type =~ t2.*) into the label values they have",
    )


class _Dumper(yaml.SafeDumper):
    """safe_dump without YAML aliases (Kubernetes tooling reads them poorly)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(documents: list[dict[str, Any]], out: TextIO) -> None:
    """Documents as a YAML stream (keys in rendering order)."""
    yaml.dump_all(documents, out, Dumper=_Dumper, sort_keys=False, width=100_000)


def _print_reports(reports: list[tuple[str, list[str]]], err: TextIO) -> None:
    for title, lines in reports:
        print(title, file=err)
        for line in lines:
            print(f"  {line}", file=err)


def options_of(args: argparse.Namespace, node_labels: NodeLabels | None = None) -> Options:
    """The rendering options ``convert``'s arguments give (the operator's come from its
    flags and the Cluster)."""
    return Options(
        namespace=args.namespace or "default",
        cluster=args.cluster,
        pod_level_resources=args.pod_level_resources,
        container_restart_rules=args.container_restart_rules,
        account_id=args.account_id,
        node_labels=node_labels,
        task_metadata_url=args.task_metadata_url,
    )


def inputs_of(args: argparse.Namespace) -> sources.Inputs:
    """What ``--parameter`` and ``--account-id`` give the input's templates."""
    return sources.Inputs(
        dict(p.partition("=")[::2] for p in args.parameter), account_id=args.account_id
    )


def run(args: argparse.Namespace) -> int:
    """Convert ``args.file``; 0 on success, 1 on unreadable or invalid input."""
    files = input_files(args.file)
    try:
        node_labels = node_labels_of(args.nodes)
    except (OSError, ValueError) as error:
        print(f"error: --nodes {args.nodes}: {error}", file=sys.stderr)
        return 1
    options = options_of(args, node_labels)
    inputs = inputs_of(args)
    try:
        documents = documents_of(files, inputs)
        if args.to == "crd":
            out = to_custom_resources(documents, args.namespace)
            reports = [(doc.title, doc.notes) for doc in documents if doc.notes]
            hints = missing_clusters(documents, options)
            if hints:
                reports.append(("Clusters", hints))
        else:
            conversion = to_kubernetes(documents, options, args.emit_volumes)
            out, reports = conversion.documents(), conversion.reports
    except EcsValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Unreadable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    dump(out, sys.stdout)
    _print_reports(reports, sys.stderr)
    return 0
