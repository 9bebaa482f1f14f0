"""`ecs-operator`: the command line. Each subcommand lives in its own module, which exposes
``configure(parser)`` (its arguments) and ``run(args) -> int``; this file only wires them.

``run``, ``api``, ``convert`` and ``crds`` are the product. ``devcluster`` and ``demo`` are
developers' tools from the sibling distribution in devtools/ (docs/design/2026-12-03-runtime-
and-dev-tools.md): listed always, imported only when chosen, and named with how to install them when
they are missing (as in the image)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("ecs_operator.runner", "run the operator"),
    "crds": ("ecs_operator.crdgen", "write the CustomResourceDefinitions generated from api/"),
    "convert": ("ecs_operator.convert", "convert ECS JSON to custom resources or Kubernetes YAML"),
    "devcluster": (
        "ecs_operator_devtools.devcluster.cli",
        "the local control plane: build|up|down|status|env (dev tools)",
    ),
    "demo": (
        "ecs_operator_devtools.demo",
        "run the examples on the devcluster and show the ECS view (dev tools)",
    ),
    "api": ("ecs_operator.ecsapi.server", "serve the ECS API (aws ecs, boto3) over the resources"),
}
#: The distribution of the developers' tools: its package, and how to install it.
DEV_TOOLS = "ecs_operator_devtools"
DEV_TOOLS_INSTALL = "pip install -e ./devtools from a checkout of the repository (make venv does)"

DESCRIPTION = """\
Run Amazon ECS task definitions, services and tasks on Kubernetes: the operator itself, the
converter of ECS JSON, and a local control plane to try them on.

  ecs-operator demo                      the operator on a local control plane, running examples/
  ecs-operator convert td.json --to k8s  what the operator would make of ECS JSON
  ecs-operator run                       the operator (needs the CRDs of crds/ installed)

`ecs-operator COMMAND --help` describes a command. Docs: README.md and docs/ (user-guide.md)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ecs-operator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            try:
                modules[name] = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if (error.name or "").partition(".")[0] != DEV_TOOLS:
                    raise
                print(
                    f"ecs-operator {name} is a development tool: {DEV_TOOLS_INSTALL}",
                    file=sys.stderr,
                )
                return 2
            modules[name].configure(sub_parser)
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args))


if __name__ == "__main__":
    raise SystemExit(main())
