"""The inputs of a Service's or Task's plan besides its spec, and what every plan reports.

:class:`PlanContext` holds what the operator resolves from the cluster before planning (the
task definition revision the object runs, the cluster's capacity provider definitions and the
strategy in force, the rendering options, the object's own name and annotations, the admin's
policy); :func:`offline_context` is the one ``ecs-operator convert`` makes without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..api.shapes import (
    CapacityProviderStrategyItem,
    CreateServiceRequest,
    RegisterTaskDefinitionRequest,
    RunTaskRequest,
)
from ..policy import (
    PRIVILEGE_NOT_ALLOWED,
    TASK_ROLE_NOT_ALLOWED,
    Policy,
    privilege_refusal,
    task_role_refusal,
)
from ..render import keys
from ..render.findings import Finding, ObjectRef
from ..render.request import Options
from ..render.strategy import split


@dataclass(frozen=True, slots=True)
class PlanContext:
    """Everything a Service's or Task's plan needs that its spec does not say."""

    #: the task definition the object runs (after a circuit breaker's rollback, the one it
    #: rolled back to)
    task_definition: RegisterTaskDefinitionRequest
    #: its revision number in the namespace (None: convert, given no revision)
    revision: int | None = None
    #: namespace, cluster name, the cluster's capacity provider definitions, rendering choices
    options: Options = field(default_factory=Options)
    #: the capacity provider strategy in force: the request's, else the cluster's default
    strategy: tuple[CapacityProviderStrategyItem, ...] | None = None
    #: the ECS object's name (what an HPA scales, what a task's pods are named after); None
    #: for convert, which has no object: the service name as a DNS label, generateName pods
    name: str | None = None
    #: the ECS object's annotations (the load balancers' Service type, a forced new
    #: deployment, simulation hints)
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: the admin's policy in the namespace; None (convert): nothing refused, every Service
    #: type allowed
    policy: Policy | None = None

    @property
    def task_definition_ref(self) -> str:
        """``family:revision`` (just the family without a revision)."""
        family = self.task_definition.family
        return family if self.revision is None else f"{family}:{self.revision}"


def offline_context(
    request: CreateServiceRequest | RunTaskRequest,
    task_definition: RegisterTaskDefinitionRequest,
    revision: int | None,
    options: Options,
) -> PlanContext:
    """The context of ``ecs-operator convert``: no cluster to ask, so the request's own
    strategy, no capacity provider definitions beyond the options', no policy."""
    strategy = request.capacityProviderStrategy
    return PlanContext(
        task_definition=task_definition,
        revision=revision,
        options=options,
        strategy=tuple(strategy) if strategy else None,
    )


@dataclass(frozen=True, slots=True)
class Reported:
    """What a plan reports about one source (the request, or its task definition as it runs
    here): findings (what did not map exactly) and the objects its pods need that nothing
    renders (Secrets, ConfigMaps, PVCs)."""

    findings: tuple[Finding, ...] = ()
    references: tuple[ObjectRef, ...] = ()

    @classmethod
    def merged(cls, findings: Iterable[Finding], references: Iterable[ObjectRef] = ()) -> Reported:
        """Those of several workloads of one request, each once (in first-seen order)."""
        return cls(unique(findings), unique(references))


@dataclass(frozen=True, slots=True)
class Refusal:
    """The admin's policy refuses to run the object's tasks: the condition reason and why."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class WorkloadPlan:
    """What the plans of a Service and of a Task share: the task-role ServiceAccounts, what
    they report, and the policy's refusal."""

    accounts: tuple[dict[str, Any], ...]
    #: about the request (CreateService, RunTask)
    request: Reported
    #: about the task definition as the request runs it
    task_definition: Reported
    #: the admin's policy refusing to start the tasks (None: allowed)
    refusal: Refusal | None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, the request's first (what the status lists)."""
        return (*self.request.findings, *self.task_definition.findings)


def refusal(
    context: PlanContext, account: Mapping[str, Any], findings: Iterable[Finding]
) -> Refusal | None:
    """Whether the task-role ServiceAccount ``account`` or the ``privileged`` findings break
    the namespace's policy (never without a policy: convert)."""
    if context.policy is None:
        return None
    namespace = context.options.namespace
    role = ((account.get("metadata") or {}).get("annotations") or {}).get(keys.ANNOTATION_IRSA_ROLE)
    message = task_role_refusal(context.policy, role, namespace)
    if message is not None:
        return Refusal(TASK_ROLE_NOT_ALLOWED, message)
    message = privilege_refusal(context.policy, findings, namespace)
    if message is not None:
        return Refusal(PRIVILEGE_NOT_ALLOWED, message)
    return None


_T = TypeVar("_T")


def unique(items: Iterable[_T]) -> tuple[_T, ...]:
    """``items`` without repeats, in first-seen order (by equality: an ObjectRef's details
    are a mapping, so not hashable)."""
    kept: list[_T] = []
    for item in items:
        if item not in kept:
            kept.append(item)
    return tuple(kept)


def provider_counts(
    strategy: Sequence[CapacityProviderStrategyItem] | None, desired: int
) -> list[tuple[CapacityProviderStrategyItem | None, int]]:
    """How ``desired`` tasks spread over the strategy in force, as ECS spreads them (base
    first, then by weight: render/strategy.py): one ``(item, count)`` per provider, or
    ``(None, desired)`` without a strategy."""
    if not strategy:
        return [(None, desired)]
    if len(strategy) == 1:
        return [(strategy[0], desired)]
    counts = split(strategy, desired)
    return [(item, count) for item, (_, count) in zip(strategy, counts, strict=True)]
