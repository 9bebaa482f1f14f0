"""What the renderer could not say exactly in Kubernetes, and the objects it relies on.

Rendering never drops an ECS field silently: every approximation, unsupported member and safety
drop becomes a :class:`Finding` whose ``path`` is in ECS terms (``containerDefinitions[0].ulimits``)
so the operator can surface it as a condition or an Event and `ecs-operator convert` can print it
next to the field the user wrote. Objects the pod refers to but the renderer does not create
(Kubernetes Secrets holding ECS secrets, PVCs for EFS...) are :class:`ObjectRef` values, so the
operator can sync them and a user can see what to create.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

#: - ``mapped-approx``: rendered, but Kubernetes semantics differ from ECS in a way that matters;
#: - ``unsupported``: Kubernetes has no equivalent; the value is kept in an annotation at most;
#: - ``ignored``: deliberately not rendered (no runtime effect here, or superseded);
#: - ``dropped``: rendered content removed for safety (e.g. privileged on Fargate capacity);
#: - ``privileged``: rendered as is, but only the privileged Pod Security level admits it (a
#:   namespace that enforces baseline refuses the pod; see pod_security.py).
FindingKind = Literal["mapped-approx", "unsupported", "ignored", "dropped", "privileged"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One ECS member (or value) that did not map one-to-one."""

    path: str
    kind: FindingKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An object the rendered pod needs but that rendering does not create (a Secret,
    ConfigMap or PersistentVolumeClaim in the pod's namespace, or a cluster's RuntimeClass).

    ``source`` is the ECS value it stands for (a secret ARN, an EFS file system id...), ``path``
    the ECS field that asked for it; ``details`` carries what is needed to create it (e.g. the EFS
    CSI ``volumeHandle`` or the Secret ``type``).
    """

    kind: str
    name: str
    source: str
    path: str
    key: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        key = f" key {self.key!r}" if self.key else ""
        return f"{self.kind} {self.name}{key} (for {self.path}: {self.source})"


class Report:
    """The findings and references gathered while rendering one object, in rendering order.

    The renderer is pure: builders append to the report they are given rather than logging.
    """

    __slots__ = ("findings", "references")

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.references: list[ObjectRef] = []

    def add(self, path: str, kind: FindingKind, message: str) -> None:
        """Record a finding about ``path``."""
        self.findings.append(Finding(path, kind, message))

    def approx(self, path: str, message: str) -> None:
        """Record a ``mapped-approx`` finding."""
        self.add(path, "mapped-approx", message)

    def unsupported(self, path: str, message: str) -> None:
        """Record an ``unsupported`` finding."""
        self.add(path, "unsupported", message)

    def ignored(self, path: str, message: str) -> None:
        """Record an ``ignored`` finding."""
        self.add(path, "ignored", message)

    def dropped(self, path: str, message: str) -> None:
        """Record a ``dropped`` finding."""
        self.add(path, "dropped", message)

    def need(self, ref: ObjectRef) -> None:
        """Record an object the pod refers to (once per kind/name/key)."""
        if all((r.kind, r.name, r.key) != (ref.kind, ref.name, ref.key) for r in self.references):
            self.references.append(ref)


_INDEXED = re.compile(r"^(?P<head>[A-Za-z.]*)\[(?P<index>\d+)\](?P<tail>.*)$")


def _merged_paths(paths: list[str]) -> str:
    """``a[0].b``, ``a[3].b`` as ``a[0,3].b``; paths that differ otherwise, comma-separated."""
    parts = [_INDEXED.match(p) for p in paths]
    if len(paths) > 1 and all(parts):
        heads = {(m["head"], m["tail"]) for m in parts if m}
        if len(heads) == 1:
            (head, tail), indexes = heads.pop(), [m["index"] for m in parts if m]
            return f"{head}[{','.join(dict.fromkeys(indexes))}]{tail}"
    return ", ".join(dict.fromkeys(paths))


def _details(ref: ObjectRef) -> str:
    """What creating ``ref`` takes (an EFS claim's CSI driver, volume handle and mount
    options), and where convert prints it whole."""
    if not ref.details:
        return ""
    listed = ", ".join(f"{key} {value}" for key, value in ref.details.items())
    hint = "; convert --emit-volumes prints it" if ref.kind == "PersistentVolumeClaim" else ""
    return f": {listed}{hint}"


def grouped_lines(findings: Iterable[Finding], references: Iterable[ObjectRef]) -> list[str]:
    """A report as people read it: the findings grouped per kind with their count, one line
    per message (the paths that share it merged: ``containerDefinitions[0,1].logConfiguration``),
    then the objects the pods need."""
    by_kind: dict[str, dict[str, list[str]]] = {}
    for finding in findings:
        by_kind.setdefault(finding.kind, {}).setdefault(finding.message, []).append(finding.path)
    lines: list[str] = []
    for kind, messages in by_kind.items():
        count = sum(len(paths) for paths in messages.values())
        lines.append(f"{kind} ({count}):")
        lines += [f"  {_merged_paths(paths)}: {message}" for message, paths in messages.items()]
    needed = list(references)
    if needed:
        lines.append(f"requires ({len(needed)}):")
        lines += [f"  {ref}{_details(ref)}" for ref in needed]
    return lines
