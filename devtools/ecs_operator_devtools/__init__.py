"""ecs-operator's development tools, a distribution apart from the operator (devtools/):
``devcluster`` (a local control plane built from source) and ``demo``. The operator's command
line runs them as ``ecs-operator devcluster`` and ``ecs-operator demo`` when this package is
installed (`make venv` installs it); the image and ``pip install ecs-operator`` never carry
them, nor their dependencies (cryptography, the official kubernetes client)."""
