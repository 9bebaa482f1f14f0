"""Start order, restarts and stopping: ``dependsOn``, ``essential``, ``restartPolicy``,
``stopTimeout``.

A container others wait for with ``COMPLETE``/``SUCCESS`` runs to completion first, so it is a
plain init container. One they wait for with ``START``/``HEALTHY`` keeps running, so it is a
native sidecar (an init container with ``restartPolicy: Always``); ``HEALTHY`` gives it a
startup probe (health.py), which the kubelet waits for before starting the next container.
Init containers are ordered by their own dependencies, ties by their ECS order; everything else
stays a regular container in ECS order. As the ECS agent does, a container logging through
``awsfirelens`` waits for the task's log router (the container with ``firelensConfiguration``)
to START unless it already depends on it, so the router is a sidecar that starts first.
Kubernetes has no "essential": the essential containers are listed in an annotation for the
operator, which stops the task when one of them exits.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..api.rules.common import is_essential
from ..api.shapes import ContainerDefinition, ContainerDependency
from .context import RenderContext
from .errors import RenderError, Violation
from .findings import Report

Role = Literal["init", "sidecar", "main"]

#: ECS's stop timeout when a container sets none (EC2 agent default and Fargate default)
DEFAULT_STOP_TIMEOUT = 30
#: the longest ``stopTimeout`` Fargate honours ("the max stop timeout value is 120 seconds")
FARGATE_MAX_STOP_TIMEOUT = 120
RUN_TO_COMPLETION = frozenset({"COMPLETE", "SUCCESS"})
FIRELENS_DRIVER = "awsfirelens"


@dataclass(frozen=True, slots=True)
class Plan:
    """Each container's role and the order of init and regular containers (ECS indexes)."""

    roles: tuple[Role, ...]
    init_order: tuple[int, ...]
    main_order: tuple[int, ...]
    healthy_targets: frozenset[int]


def _dependencies(defs: Sequence[ContainerDefinition], i: int) -> list[ContainerDependency]:
    """Container ``i``'s ``dependsOn``, with the START on the log router that the ECS agent
    adds for a container logging through ``awsfirelens`` (agent: addFirelensContainerDependency)."""
    cd = defs[i]
    declared = list(cd.dependsOn or ())
    router = next((d for d in defs if d.firelensConfiguration is not None), None)
    if (
        router is None
        or router is cd
        or cd.logConfiguration is None
        or cd.logConfiguration.logDriver != FIRELENS_DRIVER
        or any(dep.containerName == router.name for dep in declared)
    ):
        return declared
    return [*declared, ContainerDependency(containerName=router.name, condition="START")]


def plan(defs: Sequence[ContainerDefinition], report: Report) -> Plan:
    """Decide roles and order from ``dependsOn``; raise on what ECS itself rejects."""
    index = {cd.name: i for i, cd in enumerate(defs)}
    conditions: list[set[str]] = [set() for _ in defs]
    edges: list[tuple[int, int]] = []
    violations: list[Violation] = []
    for i in range(len(defs)):
        for j, dep in enumerate(_dependencies(defs, i)):
            path = f"containerDefinitions[{i}].dependsOn[{j}]"
            target = index.get(dep.containerName)
            if target is None or target == i:
                why = "names no other container" if target is None else "names the container itself"
                violations.append(Violation(path + ".containerName", why))
                continue
            violations.extend(_check_target(defs[target], dep.condition, path))
            conditions[target].add(dep.condition)
            edges.append((target, i))
            if dep.condition == "COMPLETE":
                report.approx(
                    path + ".condition",
                    "COMPLETE accepts any exit code, but an init container must exit 0",
                )
    if violations:
        raise RenderError(violations)
    roles = tuple(_role(c) for c in conditions)
    targets = [i for i, role in enumerate(roles) if role != "main"]
    init_order = _topological(targets, edges)
    main_order = tuple(i for i, role in enumerate(roles) if role == "main")
    _report_wider_waits(defs, init_order, main_order, edges, report)
    healthy = frozenset(i for i, c in enumerate(conditions) if "HEALTHY" in c)
    return Plan(roles, init_order, main_order, healthy)


def _check_target(target: ContainerDefinition, condition: str, path: str) -> list[Violation]:
    if condition in RUN_TO_COMPLETION and is_essential(target):
        return [Violation(path + ".condition", f"{condition} needs a non-essential container")]
    if condition == "HEALTHY" and target.healthCheck is None:
        return [Violation(path + ".condition", "HEALTHY needs a container with a healthCheck")]
    return []


def _role(conditions: set[str]) -> Role:
    if conditions & RUN_TO_COMPLETION:
        return "init"
    return "sidecar" if conditions else "main"


def _topological(nodes: list[int], edges: list[tuple[int, int]]) -> tuple[int, ...]:
    """Kahn's algorithm, smallest ECS index first among the ready ones; raise on a cycle."""
    members = set(nodes)
    waiting = {n: 0 for n in nodes}
    after: dict[int, list[int]] = {n: [] for n in nodes}
    for before, then in edges:
        if before in members and then in members:
            waiting[then] += 1
            after[before].append(then)
    ready = [n for n in nodes if waiting[n] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for then in after[node]:
            waiting[then] -= 1
            if waiting[then] == 0:
                heapq.heappush(ready, then)
    if len(order) < len(nodes):
        stuck = sorted(members - set(order))
        raise RenderError(
            [Violation(f"containerDefinitions[{i}].dependsOn", "dependency cycle") for i in stuck]
        )
    return tuple(order)


def _report_wider_waits(
    defs: Sequence[ContainerDefinition],
    init_order: tuple[int, ...],
    main_order: tuple[int, ...],
    edges: list[tuple[int, int]],
    report: Report,
) -> None:
    """Init containers hold *every* regular container, not only those that depend on them."""
    depends: dict[int, set[int]] = {}
    for before, then in edges:
        depends.setdefault(then, set()).add(before)
    for main in main_order:
        seen: set[int] = set()
        stack = [main]
        while stack:
            for dep in depends.get(stack.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        extra = [defs[i].name for i in init_order if i not in seen]
        if extra:
            report.approx(
                f"containerDefinitions[{main}].dependsOn",
                f"also waits for {', '.join(extra)}: init containers hold every regular container",
            )


def restart_fields(
    cd: ContainerDefinition, path: str, role: Role, ctx: RenderContext, report: Report
) -> dict[str, Any]:
    """The container's own ``restartPolicy`` (and rules) for its role and the pod's kind."""
    if role == "sidecar":
        if cd.restartPolicy is not None:
            report.approx(path + ".restartPolicy", "a sidecar container always restarts")
        elif not is_essential(cd):
            report.approx(
                path + ".essential",
                "others wait for it to START or be HEALTHY, so it runs as a sidecar, which the "
                "kubelet restarts whenever it exits; on ECS a non-essential container that "
                "exits stays stopped (a setup step others need done first: COMPLETE or SUCCESS)",
            )
        return {"restartPolicy": "Always"}
    if role == "init":
        if cd.restartPolicy is not None:
            report.unsupported(
                path + ".restartPolicy", "a run-to-completion init container is not restarted"
            )
        return {}
    policy = cd.restartPolicy
    if policy is not None and policy.enabled:
        return _enabled_restarts(cd, path, ctx, report)
    if ctx.standalone or is_essential(cd):
        # A task's pod never restarts containers; an essential exit stops the task (operator).
        return {}
    # Either way a pod is ready only while every container is: a deployment waits for a
    # non-essential container that has exited, where on ECS its task runs on, healthy.
    if ctx.container_restart_rules:
        report.approx(
            path + ".essential",
            "a non-essential container that exits stays stopped, as on ECS, but Kubernetes "
            "counts its task not ready from then on, so a deployment waits for it",
        )
        return {"restartPolicy": "Never"}
    report.approx(
        path + ".essential",
        "a non-essential container that exits stays stopped on ECS; Kubernetes restarts it "
        "(per-container restartPolicy needs ContainerRestartRules, Kubernetes 1.34+), and "
        "counts its task not ready while it is down, so a deployment waits for it",
    )
    return {}


def _enabled_restarts(
    cd: ContainerDefinition, path: str, ctx: RenderContext, report: Report
) -> dict[str, Any]:
    policy = cd.restartPolicy
    assert policy is not None
    if policy.restartAttemptPeriod is not None:
        report.approx(
            path + ".restartPolicy.restartAttemptPeriod",
            "Kubernetes paces restarts with its own back-off",
        )
    ignored = list(policy.ignoredExitCodes or ())
    if ctx.container_restart_rules:
        if not ignored:
            return {"restartPolicy": "Always"}
        rule = {"action": "Restart", "exitCodes": {"operator": "NotIn", "values": ignored}}
        return {"restartPolicy": "Never", "restartPolicyRules": [rule]}
    if ctx.standalone:
        report.unsupported(
            path + ".restartPolicy",
            "restarting one container of a task's pod needs ContainerRestartRules "
            "(Kubernetes 1.34+)",
        )
    elif ignored:
        report.approx(
            path + ".restartPolicy.ignoredExitCodes",
            "the pod restarts the container whatever its exit code",
        )
    return {}


def termination_grace(
    defs: Sequence[ContainerDefinition], report: Report, fargate: bool = False
) -> int | None:
    """The pod's grace period: the longest container ``stopTimeout`` (ECS default 30 s), at
    most 120 s on Fargate, which stops a container that long after SIGTERM at the latest."""
    timeouts = [cd.stopTimeout for cd in defs]
    if all(t is None for t in timeouts):
        return None
    if fargate:
        for i, timeout in enumerate(timeouts):
            if timeout is not None and timeout > FARGATE_MAX_STOP_TIMEOUT:
                report.ignored(
                    f"containerDefinitions[{i}].stopTimeout",
                    f"Fargate stops a container at most {FARGATE_MAX_STOP_TIMEOUT} seconds after"
                    f" SIGTERM: {timeout} s counts as {FARGATE_MAX_STOP_TIMEOUT}",
                )
        timeouts = [t if t is None else min(t, FARGATE_MAX_STOP_TIMEOUT) for t in timeouts]
    effective = [DEFAULT_STOP_TIMEOUT if t is None else max(t, 0) for t in timeouts]
    if len(set(effective)) > 1:
        report.approx(
            "containerDefinitions[].stopTimeout",
            "Kubernetes has one grace period per pod: the longest stopTimeout applies to all",
        )
    return max(effective)


def essential_names(defs: Sequence[ContainerDefinition], names: Sequence[str]) -> list[str]:
    """The Kubernetes names of the essential containers, for the operator's annotation."""
    return [name for cd, name in zip(defs, names, strict=True) if is_essential(cd)]
