"""ECS placement constraints and strategies to node affinity, pod (anti-)affinity and topology
spread.

``memberOf`` expressions become required node affinity (render/memberof.py translates ECS's
cluster query language); ``distinctInstance`` a required pod anti-affinity.

Strategies are soft, as in ECS: ``spread`` is a topology spread constraint that schedules
anyway; ``binpack`` a preferred pod affinity to the service's own tasks on the same node;
``random`` is the scheduler's own choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..api.errors import Violation
from ..nodes import LABEL_HOSTNAME, LABEL_VK_TYPE, VK_TYPE, NodeLabels
from .context import Constraint
from .errors import RenderError
from .findings import Report
from .memberof import Term, Untranslatable, and_terms, expression_terms, label_of

#: the weight of binpack's preference for nodes already running the service (the maximum)
BINPACK_WEIGHT = 100


def _untranslatable(constraint: Constraint, why: Untranslatable) -> RenderError:
    return RenderError(
        [
            Violation(
                constraint.path + ".expression",
                f"{why} in {constraint.argument!r}: a memberOf expression must translate to "
                "node affinity (attribute comparisons joined by and/or)",
            )
        ],
        "placement",
    )


def node_affinity(
    constraints: Sequence[Constraint],
    node_labels: NodeLabels | None = None,
    pools: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any] | None:
    """The nodes of one of ``pools`` (if any are given) where ``memberOf`` constraints (all
    must hold) hold, as required node affinity; raises :class:`RenderError` at the first
    constraint that does not translate."""
    terms: list[Term] = [
        [{"key": key, "operator": "In", "values": [value]} for key, value in sorted(pool.items())]
        for pool in pools
    ] or [[]]
    for constraint in constraints:
        if constraint.type != "memberOf" or not constraint.argument:
            continue
        try:
            terms = and_terms(terms, expression_terms(constraint.argument, node_labels))
        except Untranslatable as why:
            raise _untranslatable(constraint, why) from None
    if terms == [[]]:
        return None
    selector_terms = [{"matchExpressions": term} for term in terms]
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": selector_terms}}


def pod_anti_affinity(
    constraints: Sequence[Constraint], selector: dict[str, str]
) -> dict[str, Any] | None:
    """``distinctInstance``: at most one of these tasks per node, a hard rule as in ECS."""
    if not any(c.type == "distinctInstance" for c in constraints):
        return None
    term = {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": LABEL_HOSTNAME}
    return {"requiredDuringSchedulingIgnoredDuringExecution": [term]}


def pod_affinity(
    strategies: Sequence[Constraint], selector: dict[str, str], report: Report
) -> dict[str, Any] | None:
    """``binpack``: prefer nodes that already run this service's tasks, so its tasks fill a
    node before the next one. ECS packs by the cpu or memory left on an instance across all
    tasks, which on Kubernetes is the scheduler's ``MostAllocated`` scoring (a cluster
    setting), hence an approximation."""
    packs = [s for s in strategies if s.type == "binpack"]
    for strategy in packs:
        report.approx(
            strategy.path,
            "tasks prefer nodes already running this service (preferred pod affinity); packing "
            f"by the {strategy.argument or 'resources'} left on a node is the scheduler's "
            "MostAllocated scoring, a cluster setting",
        )
    if not packs:
        return None
    term = {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": LABEL_HOSTNAME}
    preferred = [{"weight": BINPACK_WEIGHT, "podAffinityTerm": term}]
    return {"preferredDuringSchedulingIgnoredDuringExecution": preferred}


def affinity(
    constraints: Sequence[Constraint],
    strategies: Sequence[Constraint],
    selector: dict[str, str],
    report: Report,
    node_labels: NodeLabels | None = None,
    pools: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The pod's ``affinity``: the node pools to choose from, memberOf, distinctInstance and
    binpack (empty when none)."""
    parts = {
        "nodeAffinity": node_affinity(constraints, node_labels, pools),
        "podAffinity": pod_affinity(strategies, selector, report),
        "podAntiAffinity": pod_anti_affinity(constraints, selector),
    }
    return {key: value for key, value in parts.items() if value}


def keep_off_fargate_nodes(spec: dict[str, Any]) -> None:
    """Make pod spec ``spec`` require a node that is not one of Fargate's virtual nodes, in
    every term of its required node affinity (once: a term that requires it already is left
    as it is). For pods that tolerate Fargate's taint without being Fargate tasks: a
    DaemonSet's (many tolerate every taint), an EC2 capacity provider's whose tolerations do."""
    away = {"key": LABEL_VK_TYPE, "operator": "NotIn", "values": [VK_TYPE]}
    required = (
        spec.setdefault("affinity", {})
        .setdefault("nodeAffinity", {})
        .setdefault("requiredDuringSchedulingIgnoredDuringExecution", {"nodeSelectorTerms": [{}]})
    )
    for term in required["nodeSelectorTerms"]:
        expressions = term.setdefault("matchExpressions", [])
        if away not in expressions:
            expressions.append(dict(away))


def _spread_key(field: str) -> str:
    if field.lower() in ("instanceid", "host"):
        return LABEL_HOSTNAME
    return label_of(field.removeprefix("attribute:"))


def topology_spread(
    strategies: Sequence[Constraint], selector: dict[str, str], report: Report
) -> list[dict[str, Any]]:
    """``spread`` strategies as soft topology spread constraints (ECS spreads best-effort);
    ``random`` asks for nothing: the scheduler's own scoring places the tasks."""
    spreads: list[dict[str, Any]] = []
    for strategy in strategies:
        if strategy.type == "spread" and strategy.argument:
            try:
                key = _spread_key(strategy.argument)
            except Untranslatable as why:
                report.unsupported(strategy.path + ".field", str(why))
                continue
            spreads.append(
                {
                    "maxSkew": 1,
                    "topologyKey": key,
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": dict(selector)},
                }
            )
        elif strategy.type == "random":
            report.ignored(strategy.path, "the scheduler's own scoring places the tasks")
    if len(spreads) > 1:
        report.approx(
            "placementStrategy", "all spreads are weighed together, not in order of priority"
        )
    return spreads
