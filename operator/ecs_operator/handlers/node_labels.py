"""The nodes' labels for ``memberOf`` regular expressions (``attribute:ecs.instance-type =~
t2.*``): node affinity has no regular expressions, so rendering expands one into the label
values the cluster's nodes have (render/memberof.py). Those values are read only for an
object that needs them, and a change of them (a node added, removed or relabelled) renders
again the Services whose placement, or whose task definitions' placement, holds one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ecs_operator.kube.resources import ECS_SERVICE, NODE, TASK_DEFINITION
from ecs_operator.kube.store import Packed, Store
from ecs_operator.nodes import NodeLabels, label_values
from ecs_operator.render.memberof import uses_regex


def _expressions(constraints: Any) -> Iterator[str]:
    for constraint in constraints or ():
        if isinstance(constraint, dict) and isinstance(constraint.get("expression"), str):
            yield constraint["expression"]


def needed(spec: dict[str, Any]) -> bool:
    """Whether a spec's own placement constraints hold a memberOf regular expression."""
    return any(uses_regex(e) for e in _expressions(spec.get("placementConstraints")))


def node_labels(store: Store, *specs: dict[str, Any]) -> NodeLabels | None:
    """The label values of the cluster's nodes when a memberOf expression of ``specs``
    (a Service's or RunTask's, its task definition's) holds a regular expression; None (not
    read) otherwise."""
    if not any(needed(spec) for spec in specs):
        return None
    return label_values(store.all(NODE))


def labels_changed(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """Whether a node event can change what a regular expression matches."""

    def labels(node: Mapping[str, Any] | None) -> Any:
        return None if node is None else (node.get("metadata") or {}).get("labels")

    return bool(labels(before) != labels(after))


def _regex_families(store: Store, namespace: str) -> set[str]:
    families = set()
    for body in store.all(TASK_DEFINITION, namespace):
        spec = body.get("spec")
        if not isinstance(spec, Packed) or not spec.text:
            continue
        if any(marker in spec.text for marker in (b"=~", b"!~", b"matches")):
            families.add(str(spec.kept.get("family") or body["metadata"]["name"]))
    return families


def regex_services(store: Store) -> Iterable[tuple[str, str]]:
    """(namespace, name) of every Service whose placement, or whose task definition family's,
    holds a memberOf regular expression."""
    by_namespace: dict[str, set[str]] = {}
    for body in store.all(ECS_SERVICE):
        namespace = body["metadata"]["namespace"]
        spec = body.get("spec") or {}
        if namespace not in by_namespace:
            by_namespace[namespace] = _regex_families(store, namespace)
        family = str(spec.get("taskDefinition") or "").rsplit("/", 1)[-1].split(":")[0]
        if family in by_namespace[namespace] or needed(spec):
            yield namespace, body["metadata"]["name"]
