"""`kubectl ecs`: the aws CLI's ECS read commands (describe-services, list-tasks, ...) over the
custom resources' status, so someone who knows ``aws ecs`` reads the cluster without learning
our CRDs first.

Layers, each testable alone: ``source`` reads the API server, ``views`` turns custom resources
and pods into the aws CLI's JSON shapes (pure), ``table`` prints those shapes for people
(pure), ``cli`` wires the commands.
"""

from __future__ import annotations

import sys

#: The plugin's reads go through the official ``kubernetes`` client, an extra of the package
#: (the operator has its own client and does not need it).
INSTALL = "pip install 'ecs-operator[plugin]'"


def main() -> int:
    """The ``kubectl-ecs`` console script: the commands, or one line saying what to install
    when the client they read with is missing."""
    try:
        from . import cli
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != "kubernetes":
            raise
        print(f"kubectl ecs needs the Kubernetes client: {INSTALL}", file=sys.stderr)
        return 2
    return cli.main()
