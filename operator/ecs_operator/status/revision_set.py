"""Sets of revision numbers as the annotations write them: ``"1-41,43"``.

A family's deregistered revisions are an annotation on its TaskDefinition. Terraform's
``aws_ecs_task_definition`` deregisters the previous revision at each change, so the set is
usually every revision but the newest: as a list of numbers it grows by about six bytes a
revision in an object every watcher decodes (and toward the API server's 256 KiB limit on
annotations), as ranges it stays a few bytes. The set is kept as ranges in memory too, so a
hostile ``"1-1000000"`` costs nothing either.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass

#: ECS's limit: a family has at most a million revisions; a number beyond it is junk
MAX_REVISION = 1_000_000
_PART = re.compile(r"^(\d{1,7})(?:-(\d{1,7}))?$")


@dataclass(frozen=True, slots=True)
class RevisionSet:
    """Revision numbers as sorted, disjoint, non-adjacent closed ranges."""

    ranges: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> RevisionSet:
        """``"1-3, 7"`` as a set; a part that is not a number or a range of them (from low to
        high, within 1..:data:`MAX_REVISION`) is ignored, as a hand-written typo should be."""
        found = []
        for part in (text or "").replace(" ", "").split(","):
            match = _PART.match(part)
            if match is None:
                continue
            low = int(match[1])
            high = int(match[2] or low)
            if 1 <= low <= high <= MAX_REVISION:
                found.append((low, high))
        return cls._merged(found)

    @classmethod
    def of(cls, numbers: Iterable[int]) -> RevisionSet:
        return cls._merged((n, n) for n in numbers)

    @classmethod
    def _merged(cls, ranges: Iterable[tuple[int, int]]) -> RevisionSet:
        merged: list[tuple[int, int]] = []
        for low, high in sorted(ranges):
            if merged and low <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
            else:
                merged.append((low, high))
        return cls(tuple(merged))

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        at = bisect.bisect_right(self.ranges, (number, MAX_REVISION + 1)) - 1
        return at >= 0 and self.ranges[at][0] <= number <= self.ranges[at][1]

    def __or__(self, other: RevisionSet) -> RevisionSet:
        return self._merged((*self.ranges, *other.ranges))

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)

    def newest_outside(self, latest: int) -> int | None:
        """The newest of revisions 1..``latest`` not in the set: the latest ACTIVE revision of
        a family whose newest is ``latest`` (its revisions are numbered without gaps)."""
        number = latest
        for low, high in reversed(self.ranges):
            if low <= number <= high:
                number = low - 1
        return number if number >= 1 else None


def newest_probes(start: int) -> Generator[int, bool, int]:
    """The search for a family's newest revision, from ``start`` (one known to be recorded, or
    0): it yields a number, is sent whether that revision is recorded, and returns the newest.
    Revisions are numbered without gaps, so it reads forward in doubling steps, then halves
    the step between the last found and the first missing: one probe when ``start`` is the
    newest, about 2·log2 of the distance otherwise. The operator probes its store, the ECS
    API the API server."""
    found, step = start, 1
    while (yield found + step):
        found, step = found + step, step * 2
    missing = found + step
    while missing - found > 1:
        middle = (found + missing) // 2
        if (yield middle):
            found = middle
        else:
            missing = middle
    return found
