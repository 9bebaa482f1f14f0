"""The reconciler of each ECS kind, by the name the work queue uses."""

from __future__ import annotations

from . import cluster, identities, service, task, taskdefinition
from .queue import Reconcile

RECONCILERS: dict[str, Reconcile] = {
    "TaskDefinition": taskdefinition.reconcile,
    "Service": service.reconcile,
    "Task": task.reconcile,
    "Cluster": cluster.reconcile,
    identities.KIND: identities.sweep,
}
