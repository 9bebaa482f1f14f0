"""ECS's cluster query language (``memberOf`` expressions) as Kubernetes node selector terms.

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

Placement (render/placement.py) joins the terms of every memberOf constraint into the pod's
required node affinity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import StringConstraints, TypeAdapter, ValidationError
from pydantic_core import SchemaError

from ..nodes import LABEL_ARCH, LABEL_INSTANCE_TYPE, LABEL_OS, LABEL_ZONE, NodeLabels

CUSTOM_ATTRIBUTE_PREFIX = "attribute.ecs-operator.dev/"
BUILTIN_ATTRIBUTES = {
    "ecs.instance-type": LABEL_INSTANCE_TYPE,
    "ecs.availability-zone": LABEL_ZONE,
    "ecs.os-type": LABEL_OS,
    "ecs.cpu-architecture": LABEL_ARCH,
}
VALUE_MAP = {LABEL_ARCH: {"x86_64": "amd64", "arm64": "arm64"}}
MAX_TERMS = 32

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


def label_of(attr: str) -> str:
    """The node label of container instance attribute ``attr`` (built-in or custom)."""
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
    key = label_of(subject.removeprefix("attribute:"))
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
            terms = and_terms(terms, self.operand())
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


def and_terms(left: list[Term], right: list[Term]) -> list[Term]:
    """``left and right``, each the ``or`` of ``and`` terms, in that form again."""
    combined = [a + b for a in left for b in right]
    if len(combined) > MAX_TERMS:
        raise Untranslatable(f"more than {MAX_TERMS} alternatives")
    return combined
