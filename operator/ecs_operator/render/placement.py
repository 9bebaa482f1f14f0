"""ECS placement constraints and strategies to node affinity, pod (anti-)affinity and topology
spread.

``memberOf`` expressions of ECS's cluster query language select container instances by
attribute; Kubernetes selects nodes by label. Built-in attributes map to well-known labels
(``ecs.instance-type`` -> ``node.kubernetes.io/instance-type``, ``ecs.availability-zone`` ->
``topology.kubernetes.io/zone``, ``ecs.os-type`` -> ``kubernetes.io/os``,
``ecs.cpu-architecture`` -> ``kubernetes.io/arch``); a custom attribute ``NAME`` is the node
label ``attribute.ecs-operator.dev/NAME``.

The whole language of attribute comparisons translates: every operator in both spellings
(``==``/``equals``, ``!=``, ``in``, ``!in``/``not_in``, ``exists``, ``!exists``/``not_exists``,
``>``/``>=``/``<``/``<=`` on whole numbers, ``=~``/``!~``), ``and``/``&&``, ``or``/``||`` and
parentheses (brought to the ``or`` of ``and`` terms that node affinity is). Node affinity has no
regular expressions: ``=~ t2.*`` is expanded against the label values the cluster's nodes have
(``RenderContext.node_labels``) into ``In [t2.micro, t2.large]`` (``!~``: ``NotIn``); the
operator renders it again when those values change, and ``convert`` needs ``--nodes``. The
expression must match a whole value, as ECS's does; it runs on the linear-time engine of
pydantic-core, so no expression can stall the operator. What does not translate
(``task:group``, ``ec2InstanceId`` and the other non-attribute subjects) is an error naming the
term: a placement constraint is a hard rule in ECS, and running tasks where the user said they
must not run would be worse than not running them.

Strategies are soft, as in ECS: ``spread`` is a topology spread constraint that schedules
anyway; ``binpack`` a preferred pod affinity to the service's own tasks on the same node;
``random`` is the scheduler's own choice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import StringConstraints, TypeAdapter, ValidationError
from pydantic_core import SchemaError

from ..api.errors import Violation
from ..nodes import (
    LABEL_ARCH,
    LABEL_HOSTNAME,
    LABEL_INSTANCE_TYPE,
    LABEL_OS,
    LABEL_ZONE,
    NodeLabels,
)
from .context import Constraint
from .errors import RenderError
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
#: the weight of binpack's preference for nodes already running the service (the maximum)
BINPACK_WEIGHT = 100

#: each operator's spellings, longest first so ``!=`` is not read as ``!`` and ``=``
OPERATORS = {
    "not_exists": "!exists",
    "!exists": "!exists",
    "exists": "exists",
    "not_equals": "!=",
    "equals": "==",
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
    "not_matches": "!~",
    "matches": "=~",
    "not_in": "!in",
    "!in": "!in",
    "in": "in",
    "==": "==",
    "!=": "!=",
    ">=": ">=",
    "<=": "<=",
    ">": ">",
    "<": "<",
    "=~": "=~",
    "!~": "!~",
}
_WORD_OPERATORS = {op for op in OPERATORS if op[-1].isalpha()}
_SUBJECT = re.compile(r"^(?P<subject>[A-Za-z][A-Za-z0-9]*(?::[A-Za-z0-9_.-]+)?)\s*")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_REGEX_CHARS = re.compile(r"[*?+()|\[\]{}^$\\]")
#: a regular-expression comparison somewhere in an expression (``=~``, ``!~``, ``matches``)
_REGEX_TERM = re.compile(r"=~|!~|\bmatches\b|\bnot_matches\b")
#: the value of an ``In`` list whose regular expression matches no node's label: the list
#: cannot be empty, and no node carries this value, so the tasks wait for a matching node
NO_MATCH = "no-node-matches.ecs-operator.dev"
_INTEGER = re.compile(r"^-?[0-9]+$")
#: Gt/Lt values are parsed as 64-bit integers by the API server
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: ``and``/``or`` only between spaces or parentheses, so ``rock-and-roll`` stays a value
_CONNECTIVE = re.compile(r"(&&|\|\||(?<![^\s)])(?:and|or)(?![^\s(])|\(|\))")

Requirement = dict[str, Any]
Term = list[Requirement]


class Untranslatable(ValueError):
    """An expression (or part of one) that Kubernetes node selection cannot say."""


def _label(attr: str) -> str:
    if attr in BUILTIN_ATTRIBUTES:
        return BUILTIN_ATTRIBUTES[attr]
    if attr.startswith("ecs.") or not _LABEL_NAME.match(attr):
        raise Untranslatable(f"attribute {attr!r} has no node label")
    return CUSTOM_ATTRIBUTE_PREFIX + attr


def _values(key: str, raw: Sequence[str]) -> list[str]:
    mapping = VALUE_MAP.get(key, {})
    values = [mapping.get(v.lower(), v) for v in (v.strip().strip("'\"") for v in raw)]
    bad = [v for v in values if not _LABEL_VALUE.match(v)]
    if bad:
        raise Untranslatable(f"{', '.join(bad)}: not a node label value")
    return values


def _split_operator(rest: str) -> tuple[str, str]:
    """The operator at the start of ``rest`` and what follows it."""
    for spelling in OPERATORS:
        if not rest.startswith(spelling):
            continue
        after = rest[len(spelling) :]
        if spelling in _WORD_OPERATORS and after and not (after[0].isspace() or after[0] == "["):
            continue  # ``in`` must not match the start of ``instance``
        return OPERATORS[spelling], after.strip()
    raise Untranslatable("no comparison operator")


def _compare(key: str, op: str, argument: str, node_labels: NodeLabels | None) -> Requirement:
    if op in ("in", "!in"):
        if not (argument.startswith("[") and argument.endswith("]")):
            raise Untranslatable(f"{op} needs a list [a, b, ...]")
        raw = [v for v in argument[1:-1].split(",") if v.strip()]
        return {
            "key": key,
            "operator": "In" if op == "in" else "NotIn",
            "values": _values(key, raw),
        }
    if not argument or " " in argument:
        raise Untranslatable(f"{op} needs one value")
    if op in (">", ">=", "<", "<="):
        if not _INTEGER.match(argument):
            raise Untranslatable(f"{op} compares whole numbers only on Kubernetes")
        number = int(argument) + {">": 0, ">=": -1, "<": 0, "<=": 1}[op]
        if not INT64_MIN <= number <= INT64_MAX:
            raise Untranslatable(f"{op} {argument}: Kubernetes compares 64-bit integers")
        return {"key": key, "operator": "Gt" if op[0] == ">" else "Lt", "values": [str(number)]}
    operator = "NotIn" if op in ("!=", "!~") else "In"
    if op in ("=~", "!~") and _REGEX_CHARS.search(argument):
        return {"key": key, "operator": operator, "values": _expand(key, argument, node_labels)}
    return {"key": key, "operator": operator, "values": _values(key, [argument])}


@lru_cache(maxsize=256)
def _matcher(expression: str) -> TypeAdapter[str]:
    """A whole-value match of ``expression`` on pydantic-core's regex engine (Rust's
    ``regex``: linear time, no backtracking), for expressions tenants write."""
    try:
        return TypeAdapter(Annotated[str, StringConstraints(pattern=f"^(?:{expression})$")])
    except (SchemaError, ValueError):
        raise Untranslatable(f"{expression!r} is not a regular expression") from None


def _matches(matcher: TypeAdapter[str], value: str) -> bool:
    try:
        matcher.validate_python(value)
    except ValidationError:
        return False
    return True


def _expand(key: str, expression: str, node_labels: NodeLabels | None) -> list[str]:
    """The values of label ``key`` on the cluster's nodes that ``expression`` matches (the
    placeholder NO_MATCH when none does, since a node selector's list cannot be empty)."""
    if node_labels is None:
        raise Untranslatable(
            f"regular expression {expression!r} needs the nodes' labels (the operator reads "
            "them; convert needs --nodes FILE, the output of kubectl get nodes -o json)"
        )
    matcher = _matcher(expression.strip("'\""))
    values = sorted(v for v in node_labels.get(key, ()) if _matches(matcher, v))
    return values or [NO_MATCH]


def uses_regex(expression: str | None) -> bool:
    """Whether a memberOf expression holds a regular expression (rendering needs the nodes)."""
    return bool(expression) and bool(_REGEX_TERM.search(expression or ""))


def requirement(text: str, node_labels: NodeLabels | None = None) -> Requirement:
    """One ``attribute:NAME OPERATOR [ARGUMENT]`` comparison as a node selector requirement."""
    text = text.strip()
    match = _SUBJECT.match(text)
    subject = match["subject"] if match else text
    if match is None or not subject.startswith("attribute:"):
        named = subject.split()[0] if subject else "an empty comparison"
        raise Untranslatable(f"{named} has no node label (only attribute:NAME comparisons do)")
    key = _label(subject.removeprefix("attribute:"))
    op, argument = _split_operator(text[match.end() :])
    if op in ("exists", "!exists"):
        if argument:
            raise Untranslatable(f"{op} takes no value")
        return {"key": key, "operator": "Exists" if op == "exists" else "DoesNotExist"}
    return _compare(key, op, argument, node_labels)


@dataclass
class _Parser:
    """Recursive descent over ``or`` / ``and`` / parentheses; terms become requirements, and
    every node its disjunctive form (``or`` of ``and`` terms)."""

    tokens: list[str]
    node_labels: NodeLabels | None = None
    at: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def disjunction(self) -> list[Term]:
        terms = self.conjunction()
        while self.peek() in ("or", "||"):
            self.take()
            terms = terms + self.conjunction()
            if len(terms) > MAX_TERMS:
                raise Untranslatable(f"more than {MAX_TERMS} alternatives")
        return terms

    def conjunction(self) -> list[Term]:
        terms = self.operand()
        while self.peek() in ("and", "&&"):
            self.take()
            terms = _and(terms, self.operand())
        return terms

    def operand(self) -> list[Term]:
        token = self.peek()
        if token is None or token in (")", "and", "&&", "or", "||"):
            raise Untranslatable("a comparison is missing")
        self.take()
        if token != "(":
            return [[requirement(token, self.node_labels)]]
        terms = self.disjunction()
        if self.peek() != ")":
            raise Untranslatable("unbalanced parentheses")
        self.take()
        return terms


def _tokens(expression: str) -> list[str]:
    """Connectives and parentheses as tokens, the comparisons between them as one token each
    (a list argument ``[a, b]`` never holds a connective)."""
    parts = (p.strip() for p in _CONNECTIVE.split(expression))
    return [p for p in parts if p]


def expression_terms(expression: str, node_labels: NodeLabels | None = None) -> list[Term]:
    """A ``memberOf`` expression as the ``or`` of ``and`` terms (``and`` binds tighter)."""
    parser = _Parser(_tokens(expression), node_labels)
    terms = parser.disjunction()
    if parser.peek() is not None:
        raise Untranslatable(f"unexpected {parser.peek()!r}")
    return terms


def _and(left: list[Term], right: list[Term]) -> list[Term]:
    combined = [a + b for a in left for b in right]
    if len(combined) > MAX_TERMS:
        raise Untranslatable(f"more than {MAX_TERMS} alternatives")
    return combined


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
    constraints: Sequence[Constraint], node_labels: NodeLabels | None = None
) -> dict[str, Any] | None:
    """``memberOf`` constraints (all must hold) as required node affinity; raises
    :class:`RenderError` at the first one that does not translate."""
    terms: list[Term] = [[]]
    for constraint in constraints:
        if constraint.type != "memberOf" or not constraint.argument:
            continue
        try:
            terms = _and(terms, expression_terms(constraint.argument, node_labels))
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
) -> dict[str, Any]:
    """The pod's ``affinity``: memberOf, distinctInstance and binpack (empty when none)."""
    parts = {
        "nodeAffinity": node_affinity(constraints, node_labels),
        "podAffinity": pod_affinity(strategies, selector, report),
        "podAntiAffinity": pod_anti_affinity(constraints, selector),
    }
    return {key: value for key, value in parts.items() if value}


def _spread_key(field: str) -> str:
    if field.lower() in ("instanceid", "host"):
        return LABEL_HOSTNAME
    return _label(field.removeprefix("attribute:"))


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
