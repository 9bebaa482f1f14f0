"""The one error an ECS spec can fail with.

Callers (the reconciler, the CLI's ``convert``, tests) should not have to tell pydantic's
``ValidationError`` from an ECS rule violation: both become an :class:`EcsValidationError`
whose violations name the field by its ECS path (``containerDefinitions[1].memory``), the way
ECS's own ``ClientException`` messages do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (an ECS field path, ``""`` for the whole spec) and what ECS says."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}" if self.path else self.rule

    def under(self, prefix: str) -> Violation:
        """The same violation seen from an enclosing object at ``prefix``."""
        if not prefix:
            return self
        joined = f"{prefix}{self.path}" if self.path.startswith("[") else f"{prefix}.{self.path}"
        return Violation(joined if self.path else prefix, self.rule)


class EcsValidationError(ValueError):
    """An ECS spec that ECS would refuse, with every violation found."""

    def __init__(self, violations: Iterable[Violation], kind: str = "spec") -> None:
        self.violations: list[Violation] = list(violations)
        self.kind = kind
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"invalid {kind} ({len(self.violations)} problem(s)):\n{lines}")

    @property
    def paths(self) -> list[str]:
        """The ECS field paths of the violations, in order."""
        return [v.path for v in self.violations]

    @classmethod
    def from_pydantic(cls, error: ValidationError, kind: str = "spec") -> EcsValidationError:
        """Translate pydantic's errors (field by field: the ECS rules run after, ``parse.py``)."""
        return cls([_violation(e) for e in error.errors()], kind)


def path_of(location: Sequence[int | str]) -> str:
    """pydantic's location ``("containerDefinitions", 1, "memory")`` as an ECS path:
    ``containerDefinitions[1].memory``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


#: pydantic's wording for the errors a user meets most, restated the way ECS puts them.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not an ECS parameter (ECS rejects unknown parameters; check spelling)",
}


def _violation(error: ErrorDetails) -> Violation:
    message = _MESSAGES.get(error["type"], error["msg"]).removeprefix("Value error, ")
    return Violation(path_of(error["loc"]), message)
