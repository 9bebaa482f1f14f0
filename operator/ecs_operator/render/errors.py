"""The one exception rendering raises: the input cannot become a valid pod at all.

Anything Kubernetes can express approximately becomes a finding instead; this is reserved for
inputs ECS itself rejects and that have no sensible rendering (a dependency cycle, a mount of an
undeclared volume, an override for a container that does not exist). The operator validates ECS
rules before rendering, so in practice it meets this only for input that bypassed validation.
It is an :class:`~ecs_operator.api.errors.EcsValidationError`, so callers handle one error type.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..api.errors import EcsValidationError, Violation

__all__ = ["RenderError", "Violation", "fail"]


class RenderError(EcsValidationError):
    """The input cannot be rendered; ``violations`` say where (ECS paths) and why."""

    def __init__(self, violations: Iterable[Violation], kind: str = "task definition") -> None:
        super().__init__(violations, kind)


def fail(path: str, rule: str) -> RenderError:
    """A RenderError for a single violation (``raise fail(...)``)."""
    return RenderError([Violation(path, rule)])
