"""`kubectl ecs`: the aws CLI's ECS read commands (describe-services, list-tasks, ...) over the
custom resources' status, so someone who knows ``aws ecs`` reads the cluster without learning
our CRDs first.

Layers, each testable alone: ``source`` reads the API server, ``views`` turns custom resources
and pods into the aws CLI's JSON shapes (pure), ``table`` prints those shapes for people
(pure), ``cli`` wires the commands.
"""
