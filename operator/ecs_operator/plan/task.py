"""A Task's plan (RunTask): its task-role ServiceAccount, its ``count`` pods spread over the
capacity provider strategy as ECS spreads them (base first, then by weight), findings, the
policy's refusal and the inputs of its status.

The operator's pods have fixed names (``<task>-<i>``, so a restart never starts a task twice)
and carry the task's label and the Task's simulation hints; ``convert``, which has no Task
object, gives them a ``generateName`` (``kubectl create`` starts new tasks each time).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..api.shapes import RunTaskRequest
from ..render import keys
from ..render.capacity import placement_for
from ..render.findings import Report
from ..render.metadata import essential_containers
from ..render.names import dns_label, label_value
from ..render.task import RenderedTask, render_task
from .context import PlanContext, Reported, WorkloadPlan, provider_counts, refusal

#: annotations of a Task that its pods carry too (kwok's simulated exits, in tests and demos)
SIMULATION_PREFIX = "sim.ecs-operator.dev/"


@dataclass(frozen=True, slots=True)
class TaskStatusInputs:
    """What the Task's status takes from its plan (the rest comes from its pods)."""

    #: ``family:revision`` the pods run
    task_definition: str
    #: the containers whose exit stops the task
    essential: frozenset[str]


@dataclass(frozen=True, slots=True)
class TaskPlan(WorkloadPlan):
    """What should exist for a Task (its accounts and pods), and what to report about it."""

    #: one per task, in task order (named ``<task>-<i>`` for the operator)
    pods: tuple[dict[str, Any], ...]
    status_inputs: TaskStatusInputs

    @property
    def objects(self) -> tuple[dict[str, Any], ...]:
        """Everything to write, accounts first (what ``convert --to k8s`` prints)."""
        return (*self.accounts, *self.pods)


def pod_name(task: str, index: int) -> str:
    """The fixed name of a task's ``index``-th pod (a hash keeps long names valid)."""
    return dns_label(f"{task}-{index}", 253)


def plan_task(spec: RunTaskRequest, context: PlanContext) -> TaskPlan:
    """The plan of ``spec`` running ``context.task_definition`` (overrides applied)."""
    parts: list[RenderedTask] = []
    for item, count in provider_counts(context.strategy, max(spec.count or 1, 1)):
        if count == 0:
            continue
        update: dict[str, Any] = {"count": count}
        if item is not None:
            update["capacityProviderStrategy"] = [item]
        run = spec.model_copy(update=update)
        parts.append(render_task(run, context.task_definition, context.options, context.revision))
    pods = [pod for part in parts for pod in part.pods]
    if context.name is not None:
        hints = {k: v for k, v in context.annotations.items() if k.startswith(SIMULATION_PREFIX)}
        pods = [_named(pod, pod_name(context.name, i), hints) for i, pod in enumerate(pods)]
    first = parts[0].pod
    request = Reported.merged(
        (f for r in parts for f in r.findings), (ref for r in parts for ref in r.references)
    )
    task_definition = Reported.merged(
        (f for r in parts for f in r.pod.findings),
        (ref for r in parts for ref in r.pod.references),
    )
    annotations = first.pod_template["metadata"].get("annotations") or {}
    return TaskPlan(
        accounts=(first.service_account,),
        pods=tuple(pods),
        request=request,
        task_definition=task_definition,
        refusal=refusal(
            context, first.service_account, [*request.findings, *task_definition.findings]
        ),
        status_inputs=TaskStatusInputs(
            task_definition=context.task_definition_ref,
            essential=frozenset(essential_containers(annotations)),
        ),
    )


def to_start(
    planned: Iterable[str],
    pods: Mapping[str, dict[str, Any] | None],
    recorded: Collection[str],
    held_back: Collection[str],
    stop: bool,
) -> list[str]:
    """The tasks a pass starts: none once the Task is asked to stop; else each planned task
    with neither a pod nor a record (a task runs at most once: one recorded and gone stays
    stopped), except those ``held_back`` (their name held by another's object, or stopped
    alone by StopTask)."""
    if stop:
        return []
    return [t for t in planned if pods.get(t) is None and t not in recorded and t not in held_back]


def placed_as_planned(spec: RunTaskRequest) -> list[dict[str, str]]:
    """Where each task of ``spec`` will run, in task order, as describe-tasks shows it before
    its pod exists (``status.task.where_placed`` reads the same off the pod after): the
    ``launchType`` and ``capacityProviderName`` its pod is rendered with, spread over the
    strategy as :func:`plan_task` spreads its pods. Empty for a spec that names neither a
    launch type nor a strategy, whose placement its cluster's default strategy or its task
    definition decides (the ECS API's RunTask names one: ``ecsapi/tasks._placement_at_run``)."""
    if spec.launchType is None and not spec.capacityProviderStrategy:
        return []
    placed: list[dict[str, str]] = []
    for item, count in provider_counts(spec.capacityProviderStrategy, max(spec.count or 1, 1)):
        strategy = [item] if item is not None else None
        placement = placement_for(spec.launchType, strategy, None, Report())
        shown = {
            "launchType": placement.launch_type,
            "capacityProviderName": placement.capacity_provider,
        }
        placed += [{k: v for k, v in shown.items() if v}] * count
    return placed


def _named(pod: dict[str, Any], name: str, hints: Mapping[str, str]) -> dict[str, Any]:
    """A task's pod as the operator creates it: its fixed name instead of a generateName, the
    task's label, and the Task's simulation hints."""
    metadata = {k: v for k, v in pod["metadata"].items() if k != "generateName"}
    metadata["name"] = name
    metadata["labels"] = {**metadata.get("labels", {}), keys.LABEL_TASK: label_value(name)}
    metadata["annotations"] = {**metadata.get("annotations", {}), **hints}
    return {**pod, "metadata": metadata}
