"""The render engine: ECS shapes to Kubernetes objects, as plain dicts in Kubernetes casing.

Pure functions (no I/O, no cluster, no Kubernetes client): each returns the objects and a
report — :class:`Finding` values for everything not mapped exactly, and :class:`ObjectRef`
values for the objects the pod needs but rendering does not create. ``coverage.py`` holds the
table of every task-definition and container member and where it goes; docs/mapping.md is
generated from it.
"""

from .context import Constraint, LaunchVolume, Placement, RenderContext, Rendered
from .errors import RenderError
from .findings import Finding, FindingKind, ObjectRef
from .pod import render_pod_template
from .request import Options
from .service import RenderedService, render_service
from .task import RenderedTask, apply_overrides, render_task

__all__ = [
    "Constraint",
    "Finding",
    "FindingKind",
    "LaunchVolume",
    "ObjectRef",
    "Options",
    "Placement",
    "RenderContext",
    "RenderError",
    "Rendered",
    "RenderedService",
    "RenderedTask",
    "apply_overrides",
    "render_pod_template",
    "render_service",
    "render_task",
]
