"""What the operator makes of one ECS object, decided in pure code: the plan.

A plan is the whole answer to "what should exist for this spec": the objects to write (named
fields, never positions), the findings to report, a refusal of the admin's policy, and what the
status needs besides the live objects. Its only inputs are the parsed spec and a
:class:`PlanContext` of what was resolved from the cluster, so ``ecs-operator convert --to k8s``
(with a context made offline) and the operator's reconcilers (with one read from the store) call
the same functions and get the same objects. Layering: api -> render -> status -> plan ->
handlers; nothing here reads or writes the cluster.
"""

from .context import PlanContext, Refusal, Reported, WorkloadPlan, offline_context
from .service import ServicePlan, ServiceStatusInputs, plan_service
from .task import TaskPlan, TaskStatusInputs, plan_task
from .taskdefinition import (
    RecordedRevision,
    TaskDefinitionContext,
    TaskDefinitionPlan,
    TaskDefinitionStatusInputs,
    plan_taskdefinition,
)

__all__ = [
    "PlanContext",
    "RecordedRevision",
    "Refusal",
    "Reported",
    "ServicePlan",
    "ServiceStatusInputs",
    "TaskDefinitionContext",
    "TaskDefinitionPlan",
    "TaskDefinitionStatusInputs",
    "TaskPlan",
    "TaskStatusInputs",
    "WorkloadPlan",
    "offline_context",
    "plan_service",
    "plan_task",
    "plan_taskdefinition",
]
