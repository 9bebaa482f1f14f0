"""Steps every reconciler shares: write status only when it changed, manage our finalizer,
report invalid specs, name conflicts and refused writes the same way everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecs_operator import API_GROUP
from ecs_operator.api.errors import EcsValidationError
from ecs_operator.kube.apply import NameConflict, Unwritten
from ecs_operator.kube.client import Resource
from ecs_operator.kube.owners import age
from ecs_operator.kube.resources import ECS_SERVICE
from ecs_operator.metrics import FINDINGS
from ecs_operator.render.findings import Finding
from ecs_operator.status.conditions import condition, merge
from ecs_operator.status.service import with_problem_event

from .context import Context
from .queue import CONFLICT, Outcome, Result
from .references import Unresolved

FINALIZER = f"{API_GROUP}/in-use"
#: the reasons of references that a `kubectl apply` of several files may still be creating
APPEARING = frozenset({"TaskDefinitionNotFound", "TaskDefinitionNotReady", "ClusterNotFound"})
#: the condition reason and Event reason of a name held by an object the operator did not create
NAME_CONFLICT = NameConflict.reason


async def write_status(
    ctx: Context,
    resource: Resource,
    body: dict[str, Any],
    status: dict[str, Any],
    *,
    settling: bool = False,
) -> dict[str, Any]:
    """Merge-patch ``status`` when it differs from the stored one; returns the body.
    ``settling``: a status on its way somewhere, which may wait out the writer's settle window
    (kube/writer.py)."""
    if (body.get("status") or {}) == status:
        return body
    return await ctx.writer.write_status(resource, body, status, settling=settling)


async def set_finalizer(
    ctx: Context, resource: Resource, body: dict[str, Any], present: bool
) -> dict[str, Any]:
    finalizers = list(body["metadata"].get("finalizers") or [])
    if (FINALIZER in finalizers) == present:
        return body
    finalizers = [*finalizers, FINALIZER] if present else [f for f in finalizers if f != FINALIZER]
    version = body["metadata"]["resourceVersion"]
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": version}}
    return await ctx.writer.merge_patch(resource, body, patch)


def invalid_status(body: dict[str, Any], error: EcsValidationError) -> dict[str, Any]:
    """The status of an object whose spec breaks ECS rules: Valid=False naming the fields."""
    previous = body.get("status") or {}
    generation = body["metadata"].get("generation")
    conditions = merge(
        previous.get("conditions"),
        [
            condition("Valid", False, "InvalidSpec", str(error)),
            condition("Ready", False, "InvalidSpec", "the spec breaks ECS rules"),
            condition("Degraded", True, "InvalidSpec", str(error)),
        ],
        generation,
    )
    return {**previous, "conditions": conditions, "observedGeneration": generation}


async def report_invalid(
    ctx: Context, resource: Resource, body: dict[str, Any], error: EcsValidationError
) -> None:
    ctx.events.record(body, "InvalidSpec", str(error), warning=True)
    status = _with_service_event(resource, body, invalid_status(body, error), str(error))
    await write_status(ctx, resource, body, status)


def _with_service_event(
    resource: Resource, body: dict[str, Any], status: dict[str, Any], problem: str
) -> dict[str, Any]:
    """A Service's problem among its ECS service events as well (status/service.py)."""
    if resource != ECS_SERVICE:
        return status
    name = str((body.get("spec") or {}).get("serviceName") or body["metadata"]["name"])
    return with_problem_event(status, name, problem)


#: Finding kinds that mean "this part of your ECS spec does not happen here".
NOT_HONOURED = ("unsupported", "dropped")


async def report_findings(
    ctx: Context, body: dict[str, Any], findings: list[Finding]
) -> dict[str, Any]:
    """Renderer findings as the status shows them, with a Warning Event (and the findings
    metric) when the set of fields that are not honoured changes. Findings the status already
    lists were reported when it was written: an operator starting again says nothing new."""
    unique = {(f.path, f.kind): f for f in findings}
    listed = [{"path": f.path, "kind": f.kind, "message": f.message} for f in unique.values()]
    missing = sorted({f.path for f in unique.values() if f.kind in NOT_HONOURED})
    if missing and (body.get("status") or {}).get("findings") != listed:
        message = f"not honoured on Kubernetes: {', '.join(missing)} (see status.findings)"
        if ctx.events.record(body, "UnsupportedFields", message, warning=True):
            for finding in unique.values():
                FINDINGS.labels(field=finding.path, kind=finding.kind).inc()
    return {"findings": listed} if listed else {}


def findings_condition(findings: list[Finding]) -> dict[str, Any]:
    missing = sorted({f.path for f in findings if f.kind in NOT_HONOURED})
    return condition(
        "FullyMapped",
        not missing,
        "UnsupportedFields" if missing else "AllFieldsMapped",
        ", ".join(missing),
    )


async def report_unresolved(
    ctx: Context, resource: Resource, body: dict[str, Any], problem: Unresolved
) -> None:
    """A reference that does not resolve: Ready=False/Degraded=True naming it, and a Warning
    Event, except while a task definition is still being registered (not a problem). A new
    object's references that may still appear are given ``reference_grace`` seconds first:
    ``kubectl apply -f dir/`` creates a Service and its TaskDefinition in no particular order,
    and reporting each such Service as Degraded cost a write and a false alarm (the
    registration enqueues its users, and the retry comes back anyway)."""
    if problem.reason in APPEARING and age(body, ctx.clock()) < ctx.timers.reference_grace:
        return
    reported = problem.reason != "TaskDefinitionNotReady"
    if reported:
        ctx.events.record(body, problem.reason, str(problem), warning=True)
    previous = body.get("status") or {}
    generation = body["metadata"].get("generation")
    conditions = merge(
        previous.get("conditions"), problem_conditions(problem.reason, str(problem)), generation
    )
    status = {**previous, "conditions": conditions, "observedGeneration": generation}
    if reported:
        status = _with_service_event(resource, body, status, str(problem))
    await write_status(ctx, resource, body, status)


def report_unwritten(
    ctx: Context, body: dict[str, Any], unwritten: Sequence[Unwritten]
) -> list[dict[str, Any]]:
    """Objects not written (a name held by another object, left alone; a write the API server
    refused) as a Warning Event of each reason (once: the same report is not posted again) and
    the conditions that say so: Ready=False and Degraded=True, reason :data:`NAME_CONFLICT`
    when a name is held, else ``WriteRefused``, naming each object."""
    reasons: dict[str, set[str]] = {}
    for problem in sorted(unwritten, key=lambda p: p.reason != NAME_CONFLICT):
        reasons.setdefault(problem.reason, set()).add(problem.message(body["kind"]))
    for reason, messages in reasons.items():
        ctx.events.record(body, reason, "; ".join(sorted(messages)), warning=True)
    message = "; ".join("; ".join(sorted(messages)) for messages in reasons.values())
    return problem_conditions(next(iter(reasons)), message)


def unwritten_outcome(unwritten: Sequence[Unwritten]) -> Outcome | None:
    """When to come back to an object some of whose objects were not written: a name held by
    another's object at the queue's slowest pace (its holder decides when it goes), a refused
    write at the backoff's pace (nothing wakes the object when the admin grants it); None when
    everything was written."""
    if any(isinstance(problem, NameConflict) for problem in unwritten):
        return CONFLICT
    return Outcome(Result.REFUSED, retry=True) if unwritten else None


def problem_conditions(reason: str, message: str) -> list[dict[str, Any]]:
    """Ready=False and Degraded=True for a problem that keeps the object from running."""
    return [
        condition("Ready", False, reason, message),
        condition("Degraded", True, reason, message),
    ]
