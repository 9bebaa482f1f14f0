"""ECS placement constraints to node affinity.

``memberOf`` expressions of the cluster query language select container instances by attribute;
Kubernetes selects nodes by label. Built-in attributes map to well-known labels
(``ecs.instance-type`` -> ``node.kubernetes.io/instance-type``, ``ecs.availability-zone`` ->
``topology.kubernetes.io/zone``, ``ecs.os-type`` -> ``kubernetes.io/os``,
``ecs.cpu-architecture`` -> ``kubernetes.io/arch``); a custom attribute ``NAME`` is the node
label ``attribute.ecs-operator.dev/NAME``. ``==``, ``!=``, ``in``, ``not_in``, ``exists``,
``!exists``, ``and`` and ``or`` translate; regular expressions, parentheses, ``task:group`` and
other non-attribute terms do not and are reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..nodes import LABEL_ARCH, LABEL_HOSTNAME, LABEL_INSTANCE_TYPE, LABEL_OS, LABEL_ZONE
from .context import Constraint
from .findings import Report

CUSTOM_ATTRIBUTE_PREFIX = "attribute.ecs-operator.dev/"
BUILTIN_ATTRIBUTES = {
    "ecs.instance-type": LABEL_INSTANCE_TYPE,
    "ecs.availability-zone": LABEL_ZONE,
    "ecs.os-type": LABEL_OS,
    "ecs.cpu-architecture": LABEL_ARCH,
}
VALUE_MAP = {LABEL_ARCH: {"x86_64": "amd64", "arm64": "arm64"}}
MAX_TERMS = 32

_TERM = re.compile(
    r"^attribute:(?P<attr>[A-Za-z0-9_.-]+)\s*"
    r"(?:(?P<op>==|!=|=~)\s*(?P<value>[^\s\[\]]+)"
    r"|(?P<set>in|not_in)\s*\[(?P<values>[^\]]*)\]"
    r"|(?P<exists>!?exists))$"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_REGEX_CHARS = re.compile(r"[*?+()|\[\]{}^$\\]")

Requirement = dict[str, Any]
Term = list[Requirement]


class Untranslatable(ValueError):
    """An expression (or part) Kubernetes node selection cannot say."""


def _label(attr: str) -> str:
    if attr in BUILTIN_ATTRIBUTES:
        return BUILTIN_ATTRIBUTES[attr]
    if attr.startswith("ecs.") or not _LABEL_NAME.match(attr):
        raise Untranslatable(f"attribute {attr!r} has no node label")
    return CUSTOM_ATTRIBUTE_PREFIX + attr


def _values(key: str, raw: Sequence[str]) -> list[str]:
    mapping = VALUE_MAP.get(key, {})
    values = [mapping.get(v.lower(), v) for v in raw]
    bad = [v for v in values if not _LABEL_VALUE.match(v)]
    if bad:
        raise Untranslatable(f"{', '.join(bad)}: not a node label value")
    return values


def requirement(text: str) -> Requirement:
    """One ``attribute:NAME OP VALUE`` term as a node selector requirement."""
    match = _TERM.match(text.strip())
    if match is None:
        raise Untranslatable(f"{text.strip()!r} is not an attribute comparison")
    key = _label(match["attr"])
    if match["exists"]:
        return {"key": key, "operator": "Exists" if match["exists"] == "exists" else "DoesNotExist"}
    if match["set"]:
        raw = [v.strip() for v in match["values"].split(",") if v.strip()]
        operator = "In" if match["set"] == "in" else "NotIn"
        return {"key": key, "operator": operator, "values": _values(key, raw)}
    if match["op"] == "=~" and _REGEX_CHARS.search(match["value"]):
        raise Untranslatable(f"regular expression {match['value']!r}")
    operator = "NotIn" if match["op"] == "!=" else "In"
    return {"key": key, "operator": operator, "values": _values(key, [match["value"]])}


def expression_terms(expression: str) -> list[Term]:
    """An expression in disjunctive form: ``or`` of ``and`` terms (``and`` binds tighter)."""
    if "(" in expression or ")" in expression:
        raise Untranslatable("parentheses")
    return [
        [requirement(part) for part in re.split(r"\s+and\s+", alternative)]
        for alternative in re.split(r"\s+or\s+", expression.strip())
    ]


def _and(left: list[Term], right: list[Term]) -> list[Term]:
    combined = [a + b for a in left for b in right]
    if len(combined) > MAX_TERMS:
        raise Untranslatable(f"more than {MAX_TERMS} alternatives")
    return combined


def node_affinity(constraints: Sequence[Constraint], report: Report) -> dict[str, Any] | None:
    """``memberOf`` constraints (all must hold) as required node affinity; untranslatable
    ones are reported and left out."""
    terms: list[Term] = [[]]
    for constraint in constraints:
        if constraint.type != "memberOf" or not constraint.argument:
            continue
        try:
            terms = _and(terms, expression_terms(constraint.argument))
        except Untranslatable as why:
            report.unsupported(constraint.path + ".expression", f"{why}; not enforced")
    if terms == [[]]:
        return None
    selector_terms = [{"matchExpressions": term} for term in terms]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": selector_terms}
        }
    }


def pod_anti_affinity(
    constraints: Sequence[Constraint], selector: dict[str, str]
) -> dict[str, Any] | None:
    """``distinctInstance``: at most one of these tasks per node, a hard rule as in ECS."""
    if not any(c.type == "distinctInstance" for c in constraints):
        return None
    term = {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": LABEL_HOSTNAME}
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


def _spread_key(field: str) -> str:
    if field.lower() in ("instanceid", "host"):
        return LABEL_HOSTNAME
    return _label(field.removeprefix("attribute:"))


def topology_spread(
    strategies: Sequence[Constraint], selector: dict[str, str], report: Report
) -> list[dict[str, Any]]:
    """``spread`` strategies as soft topology spread constraints (ECS spreads best-effort)."""
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
        elif strategy.type == "binpack":
            report.unsupported(
                strategy.path, "bin packing is a scheduler profile (MostAllocated), not a pod field"
            )
    if len(spreads) > 1:
        report.approx(
            "placementStrategy", "all spreads are weighed together, not in order of priority"
        )
    return spreads
