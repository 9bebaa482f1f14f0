"""The base class of every ECS shape model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class EcsShape(BaseModel):
    """An ECS structure: members keep ECS casing, unknown members are refused.

    Refusing unknown members matters: a typo such as ``memoryReservaton`` would otherwise be
    dropped silently, and ECS itself rejects unknown parameters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_ecs(self) -> dict[str, Any]:
        """The ECS JSON form: ECS field names, absent members left out."""
        return self.model_dump(mode="json", exclude_none=True)
