"""The first steps of a Service's and a Task's reconcile, shared: read the object from the store,
parse its spec (reporting what breaks ECS rules), resolve what it names (its cluster, the
capacity provider strategy in force, its task definition's revision) and gather the rendering
options. Each step that cannot go on reports why on the object and ends the reconcile with
its :class:`Outcome`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.models import ServiceSpec, TaskSpec
from ecs_operator.api.parse import parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.kube.client import Resource
from ecs_operator.kube.store import Store
from ecs_operator.plan import PlanContext
from ecs_operator.policy import Policy
from ecs_operator.render import request
from ecs_operator.status.cluster import cluster_name_of

from . import target_cluster, tenancy
from .common import report_invalid, report_unresolved
from .context import Context
from .indexes import ecs_spec
from .node_labels import node_labels
from .queue import Outcome, Result
from .references import Resolved, Unresolved, resolve_task_definition

Spec = TypeVar("Spec", ServiceSpec, TaskSpec)


@dataclass(frozen=True)
class Read(Generic[Spec]):
    """An ECS object that exists, is not being deleted, and whose spec is valid."""

    body: dict[str, Any]
    spec: Spec

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def previous(self) -> dict[str, Any]:
        """The status as it is (what the reconcile reports on top of)."""
        return self.body.get("status") or {}


@dataclass(frozen=True)
class Prepared(Generic[Spec]):
    """An ECS object ready to render: what it names resolved, the rendering options set."""

    read: Read[Spec]
    cluster: dict[str, Any]
    strategy: list[CapacityProviderStrategyItem] | None
    task_definition: Resolved
    options: request.Options
    #: the admin's policy in the object's namespace
    policy: Policy


async def read(
    ctx: Context,
    resource: Resource,
    namespace: str,
    name: str,
    parse: Callable[[Mapping[str, Any]], Spec],
) -> Read[Spec] | Outcome:
    """The stored object with its spec parsed; ``OK`` when there is nothing to do (gone or
    being deleted: its children follow through owner references), ``INVALID`` once reported."""
    body = ctx.store.get(resource, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return Outcome()
    try:
        return Read(body, parse(ecs_spec(body, resource.kind)))
    except EcsValidationError as error:
        return await invalid(ctx, resource, body, error)


async def resolve(
    ctx: Context,
    resource: Resource,
    found: Read[Spec],
    claim: Callable[[Store, str, dict[str, Any]], None] | None = None,
) -> Prepared[Spec] | Outcome:
    """What ``found`` names, resolved; then ``claim`` (a check of its own that may raise
    :class:`Unresolved`). ``WAITING`` once a reference that does not resolve is reported."""
    spec, namespace = found.spec, found.namespace
    try:
        if spec.taskDefinition is None:
            raise Unresolved(
                "InvalidReference",
                "taskDefinition: required (the ECS deployment controller)",
                False,
            )
        cluster = await target_cluster.resolve(ctx, namespace, spec.cluster)
        # A strategy the cluster refuses is the user's to fix: say so even while the task
        # definition is still being registered.
        strategy = target_cluster.strategy_for(
            cluster, spec.launchType, spec.capacityProviderStrategy
        )
        task_definition = resolve_task_definition(
            ctx.store, namespace, spec.taskDefinition, found.previous.get("taskDefinition")
        )
        if claim is not None:
            claim(ctx.store, namespace, found.body)
        namespace_policy = await tenancy.policy_for(ctx, namespace)
    except Unresolved as problem:
        return await unresolved(ctx, resource, found.body, problem)
    options = request.Options(
        namespace=namespace,
        cluster=cluster_name_of(cluster),
        capacity_providers=target_cluster.capacity_providers(cluster),
        pod_level_resources=ctx.settings.pod_level_resources,
        # the admin's account first: an access key's is a placeholder unless the admin set it
        account_id=ctx.settings.account_id or task_definition.account,
        node_labels=node_labels(
            ctx.store, ecs_spec(found.body, resource.kind), task_definition.spec
        ),
        task_metadata_url=ctx.settings.task_metadata_url,
    )
    return Prepared(found, cluster, strategy, task_definition, options, namespace_policy)


def plan_context(
    ctx: Context, ready: Prepared[Any], running: Resolved | None = None
) -> PlanContext:
    """What the object's plan needs besides its spec, as resolved here: the task definition
    revision it runs (``running``: a Service's after a circuit breaker's rollback, else the
    resolved one), the options, the strategy in force, the object's name and annotations, and
    the namespace's policy. :class:`EcsValidationError` when the revision's spec is invalid."""
    body = ready.read.body
    resolved = running or ready.task_definition
    return PlanContext(
        task_definition=parse_task_definition(resolved.spec),
        revision=resolved.revision,
        options=ready.options,
        strategy=tuple(ready.strategy) if ready.strategy else None,
        name=body["metadata"]["name"],
        annotations=body["metadata"].get("annotations") or {},
        policy=ready.policy,
    )


async def invalid(
    ctx: Context, resource: Resource, body: dict[str, Any], error: EcsValidationError
) -> Outcome:
    """Report a spec (or a spec with its task definition) that breaks ECS rules."""
    await report_invalid(ctx, resource, body, error)
    return Outcome(Result.INVALID)


async def unresolved(
    ctx: Context,
    resource: Resource,
    body: dict[str, Any],
    problem: Unresolved,
    result: Result = Result.WAITING,
) -> Outcome:
    """Report what keeps the object from running (a reference, the tenancy policy)."""
    await report_unresolved(ctx, resource, body, problem)
    return Outcome(result, retry=problem.retry)
