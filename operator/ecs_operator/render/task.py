"""A RunTask request and its task definition to bare Pods (``count`` of them).

A RunTask task runs once: its pods have ``restartPolicy: Never`` and are created with
``generateName`` (``kubectl create``), since every RunTask starts new tasks. ``overrides`` are
applied to the task definition first, with ECS's semantics: ``command`` replaces the command
(Kubernetes ``args``), ``environment`` adds or replaces variables by name, the rest replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api.models import TaskDefinitionSpec
from ..api.rules import TASK_DEFINITION_RULES
from ..api.rules.common import violations
from ..api.shapes import (
    ContainerDefinition,
    ContainerOverride,
    KeyValuePair,
    RegisterTaskDefinitionRequest,
    RunTaskRequest,
    TaskOverride,
)
from . import keys, request, workloads
from .context import Rendered
from .errors import RenderError, Violation
from .findings import Finding, FindingKind, ObjectRef, Report
from .names import dns_label
from .pod import render_pod_template

#: room left in a pod name for the 5 characters generateName appends (hostnames are ≤ 63)
GENERATE_NAME_MAX = 57

REPORTED: dict[str, tuple[FindingKind, str]] = {
    **request.COMMON_REPORTED,
    "overrides.inferenceAcceleratorOverrides": ("unsupported", "Elastic Inference is retired"),
    "referenceId": ("ignored", "used by ECS only"),
    "clientToken": (
        "ignored",
        "a Task object is created once, by its name; the ECS API's RunTask honours it",
    ),
}


@dataclass(frozen=True, slots=True)
class RenderedTask:
    """A RunTask's pods (``generateName``d) for one capacity provider (or none), the task
    definition's rendering (pod template, task-role ServiceAccount, findings about the task
    definition) and the report about the request."""

    pods: tuple[dict[str, Any], ...]
    pod: Rendered
    findings: tuple[Finding, ...]
    references: tuple[ObjectRef, ...] = ()


_CONTAINER_FIELDS = (
    "command",
    "environmentFiles",
    "cpu",
    "memory",
    "memoryReservation",
    "resourceRequirements",
)
_TASK_FIELDS = ("cpu", "memory", "taskRoleArn", "executionRoleArn", "ephemeralStorage")


def _merged_env(base: list[KeyValuePair] | None, extra: list[KeyValuePair]) -> list[KeyValuePair]:
    names = {pair.name for pair in extra}
    return [*(p for p in base or () if p.name not in names), *extra]


def _override_container(
    cd: ContainerDefinition, override: ContainerOverride
) -> ContainerDefinition:
    update: dict[str, Any] = {
        field: getattr(override, field)
        for field in _CONTAINER_FIELDS
        if getattr(override, field) is not None
    }
    if override.environment is not None:
        update["environment"] = _merged_env(cd.environment, override.environment)
    return cd.model_copy(update=update)


def apply_overrides(
    td: RegisterTaskDefinitionRequest, overrides: TaskOverride | None
) -> RegisterTaskDefinitionRequest:
    """``td`` as RunTask's ``overrides`` change it; an override of an unknown container fails,
    as does a change the task definition's rules refuse (a Fargate size not in its table, a
    container's memory above its task's)."""
    if overrides is None:
        return td
    by_name = {o.name: (k, o) for k, o in enumerate(overrides.containerOverrides or ())}
    known = {cd.name for cd in td.containerDefinitions}
    unknown = [
        Violation(f"overrides.containerOverrides[{k}].name", f"no container named {name!r}")
        for name, (k, _) in by_name.items()
        if name not in known
    ]
    if unknown:
        raise RenderError(unknown, kind="RunTask request")
    containers = [
        _override_container(cd, by_name[cd.name][1]) if cd.name in by_name else cd
        for cd in td.containerDefinitions
    ]
    update: dict[str, Any] = {
        field: getattr(overrides, field)
        for field in _TASK_FIELDS
        if getattr(overrides, field) is not None
    }
    changed = td.model_copy(update={**update, "containerDefinitions": containers})
    if isinstance(changed, TaskDefinitionSpec):
        # what RegisterTaskDefinition would refuse, RunTask refuses: the overrides did it
        broken = violations(TASK_DEFINITION_RULES, changed)
        if broken:
            raise RenderError(
                [Violation(_overridden(v.path), v.rule) for v in broken], kind="RunTask request"
            )
    return changed


def _overridden(path: str) -> str:
    """Where a rule the overridden task definition breaks is (``overrides.memory``), the
    overrides being what changed it."""
    return f"overrides.{path}" if path else "overrides"


def _annotations(run: RunTaskRequest, family: str, cluster: str) -> dict[str, str]:
    annotations = {keys.ANNOTATION_GROUP: run.group or f"family:{family}"}
    if run.startedBy:
        annotations[keys.ANNOTATION_STARTED_BY] = run.startedBy
    return {**annotations, **request.request_annotations(run, cluster)}


def render_task(
    run: RunTaskRequest,
    td: RegisterTaskDefinitionRequest,
    options: request.Options,
    revision: int | None = None,
) -> RenderedTask:
    """The pods of ``run`` (one per ``count``) running ``td`` with the overrides applied."""
    report = Report()
    ctx = request.context(run, td, options, revision, report)
    rendered = render_pod_template(apply_overrides(td, run.overrides), ctx)
    meta = workloads.Meta(
        dns_label(td.family, GENERATE_NAME_MAX) + "-",
        options.namespace,
        {},
        _annotations(run, td.family, ctx.cluster),
    )
    pods = [workloads.pod(meta, rendered.pod_template) for _ in range(max(run.count or 1, 1))]
    request.report_members(run, REPORTED, report)
    return RenderedTask(
        pods=tuple(pods),
        pod=rendered,
        findings=tuple(report.findings),
        references=tuple(report.references),
    )
