"""The reconciler of each queue key's kind."""

from __future__ import annotations

from . import cluster, identities, prewarm, scheduledtask, service, task, taskdefinition
from .queue import Kind, Reconcile

RECONCILERS: dict[Kind, Reconcile] = {
    Kind.TASK_DEFINITION: taskdefinition.reconcile,
    Kind.SERVICE: service.reconcile,
    Kind.TASK: task.reconcile,
    Kind.CLUSTER: cluster.reconcile,
    Kind.SCHEDULED_TASK: scheduledtask.reconcile,
    Kind.ACCOUNTS: identities.sweep,
    Kind.PREWARMED: prewarm.confirm,
}
