"""ECS rules that span more than one field, as pure functions over a parsed spec.

Single-field limits (patterns, ranges, list lengths, required members) are field constraints
of the generated shapes (``tools/gen_shapes.py``) and reach the CRD schema from there. What is
left needs two or more fields at once; each rule is one small function returning the
violations it finds, and its docstring says where ECS states the rule (``[model doc]`` = the
botocore model's documentation, i.e. the ECS API Reference; ``[memory]`` = ECS behaviour not
written in the model; section numbers refer to ``shared/reference/ecs-api.md``).

Above each function, its registry's decorator states what the Kubernetes API server can check
of it (``common.py``): CEL, or list-map keys; a rule without them is enforced by the operator
only. A module per kind holds its registry (``TASK_DEFINITION_RULES``, ``SERVICE_RULES``,
``TASK_RULES``, ``CLUSTER_RULES``, ``SCHEDULED_TASK_RULES``); topics of their own (Fargate,
container dependencies, the placement rules a Service and a Task share) are included where
they come in order. ``crdgen`` reads the registries, ``parse.py`` runs them, and the CEL
message is the rule's message, so ``kubectl apply`` and the operator say the same.
"""

from .cluster import CLUSTER_RULES
from .common import Cel, ListMapKeys, Rule, ServerCheck
from .scheduledtask import SCHEDULED_TASK_RULES
from .service import SERVICE_RULES
from .task import CHANGEABLE_ONCE_STARTED, TASK_RULES
from .taskdefinition import TASK_DEFINITION_RULES

__all__ = [
    "CHANGEABLE_ONCE_STARTED",
    "CLUSTER_RULES",
    "SCHEDULED_TASK_RULES",
    "SERVICE_RULES",
    "TASK_DEFINITION_RULES",
    "TASK_RULES",
    "Cel",
    "ListMapKeys",
    "Rule",
    "ServerCheck",
]
