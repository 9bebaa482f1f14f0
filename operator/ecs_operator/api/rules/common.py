"""The machinery of the ECS rules, and the helpers that rules of several kinds share.

A :class:`Rule` pairs a check (a pure function from a parsed spec to the violations it finds)
with what the Kubernetes API server can check of it itself: a CEL expression (:class:`Cel`,
becomes ``x-kubernetes-validations``) or a list whose items are keyed (:class:`ListMapKeys`,
becomes ``x-kubernetes-list-type: map``). A rule without them is enforced by the operator only.
A :class:`Registry` collects a kind's rules where they are written, so each check's server
side sits right above it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import Violation

if TYPE_CHECKING:
    from ..models import TaskDefinitionSpec
    from ..shapes import ContainerDefinition

S = TypeVar("S")
#: A rule's check: the violations it finds in a spec, none when the spec keeps the rule.
Check = Callable[[S], list[Violation]]


@dataclass(frozen=True)
class Cel:
    """A rule the API server evaluates: ``rule`` runs with ``self`` bound to the schema node
    at ``at`` (``""`` = the spec, ``"containerDefinitions[]"`` = each container, ...).
    ``field``: the member under ``at`` the refusal names (``.memory``), as the operator's own
    check names it; ``message_expression``: CEL that words the refusal for the value at hand
    (``message`` stands when it cannot be evaluated)."""

    rule: str
    message: str
    at: str = ""
    field: str = ""
    message_expression: str = ""


@dataclass(frozen=True)
class ListMapKeys:
    """The list at ``at`` is keyed by ``keys``: the API server refuses duplicate keys."""

    at: str
    keys: tuple[str, ...]


ServerCheck = Cel | ListMapKeys


@dataclass(frozen=True)
class Rule(Generic[S]):
    """One ECS rule: the operator's check, and what the API server can check of it."""

    check: Check[S]
    server: tuple[ServerCheck, ...] = ()

    @property
    def name(self) -> str:
        """The check function's name, used in docs/crds.md and in tests."""
        return self.check.__name__

    @property
    def summary(self) -> str:
        """The first line of the check's docstring."""
        return (self.check.__doc__ or "").strip().splitlines()[0]


class Registry(Generic[S]):
    """Rules collected where they are defined: ``@registry.rule(Cel(...))`` above a check.

    ``rules`` is the tuple in the order of definition (and of :meth:`include`), which is the
    order of the violations the operator reports and of the CRD's validations."""

    def __init__(self) -> None:
        self.rules: tuple[Rule[S], ...] = ()

    def rule(self, *server: ServerCheck) -> Callable[[Check[S]], Check[S]]:
        """Register the decorated check with what the API server checks of it (nothing: the
        operator alone enforces it). The check itself is returned unchanged."""

        def register(check: Check[S]) -> Check[S]:
            self.rules = (*self.rules, Rule(check, server))
            return check

        return register

    def include(self, rules: Iterable[Rule[Any]]) -> None:
        """Append rules registered elsewhere (a topic of its own module, or shared rules)."""
        self.rules = (*self.rules, *rules)


def violations(rules: Iterable[Rule[S]], spec: S) -> list[Violation]:
    """Every violation of ``rules`` in ``spec``, in rule order."""
    return [v for rule in rules for v in rule.check(spec)]


# --- helpers -------------------------------------------------------------------------------

#: CEL applied to each container of a task definition.
EACH_CONTAINER = "containerDefinitions[]"


def containers(td: TaskDefinitionSpec) -> Iterator[tuple[str, ContainerDefinition]]:
    """Each container with its ECS path, ``containerDefinitions[i]``."""
    for index, container in enumerate(td.containerDefinitions):
        yield f"containerDefinitions[{index}]", container


def is_essential(container: ContainerDefinition) -> bool:
    """``essential`` defaults to true [model doc ContainerDefinition.essential]."""
    return container.essential is not False


def duplicates(keys: Iterable[Hashable], path: str, field: str, message: str) -> list[Violation]:
    """A violation at ``path[i].field`` for each key seen before position ``i``."""
    seen: set[Hashable] = set()
    found = []
    for index, key in enumerate(keys):
        if key in seen:
            found.append(Violation(f"{path}[{index}].{field}", f"{message}: {key!r} repeats"))
        seen.add(key)
    return found
