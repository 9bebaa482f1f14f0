"""The tag rules every taggable kind shares (Cluster, TaskDefinition, Service, Task; a
ScheduledTask's RunTask through ``tag_violations`` and ``tags_cel``): each tag has a key, and
no key repeats. TagResource checks the tags it adds with the same function."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..errors import Violation
from ..shapes import Tag
from .common import Cel, Registry, duplicates

TAG_KEYS = "each tag needs a key, and a resource's tag keys must be unique"


class Tagged(Protocol):
    @property
    def tags(self) -> list[Tag] | None: ...


def tags_cel(at: str = "") -> Cel:
    """The API server's side of ``tag_violations`` for the ``tags`` of the node at ``at``."""
    return Cel(
        "!has(self.tags) || self.tags.all(t, has(t.key)"
        " && self.tags.exists_one(u, has(u.key) && u.key == t.key))",
        TAG_KEYS,
        at,
        field=".tags",
    )


def tag_violations(tags: Sequence[Tag] | None, path: str = "tags") -> list[Violation]:
    """A tag without a key, or with a key an earlier tag has. [model doc] Tag: "Each tag
    consists of a key and an optional value"; ECS developer guide, tag restrictions: "each tag
    key must be unique, and each tag key can have only one value"."""
    tags = tags or []
    missing = [Violation(f"{path}[{i}].key", TAG_KEYS) for i, t in enumerate(tags) if not t.key]
    return missing + duplicates((t.key or object() for t in tags), path, "key", TAG_KEYS)


_registry = Registry[Tagged]()


@_registry.rule(tags_cel())
def tag_keys(spec: Tagged) -> list[Violation]:
    """Each tag has a key, and no key repeats (``tag_violations``)."""
    return tag_violations(spec.tags)


TAG_RULES = _registry.rules
