"""`ecs-operator`: the command line. Each subcommand lives in its own module, which exposes
``configure(parser)`` (its arguments) and ``run(args) -> int``; this file only wires them."""

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
        "ecs_operator.devcluster.cli",
        "the local control plane: build|up|down|status|env",
    ),
    "demo": ("ecs_operator.demo", "run the examples on the devcluster and show the ECS view"),
}
#: subcommand -> modules it runs without. kopf imports the official ``kubernetes`` client when
#: it is installed (only to recognise that client's objects, which the operator never hands
#: it); the operator talks to the API server through its own client, and the official one
#: would be a sixth of its memory on an empty cluster.
WITHOUT: dict[str, tuple[str, ...]] = {"run": ("kubernetes",)}


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
            for module in WITHOUT.get(name, ()):
                sys.modules.setdefault(module, None)  # type: ignore[arg-type]  # import fails
            modules[name] = importlib.import_module(module_name)
            modules[name].configure(sub_parser)
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args))


if __name__ == "__main__":
    raise SystemExit(main())
