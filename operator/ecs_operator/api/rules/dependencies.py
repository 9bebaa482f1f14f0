"""The rules of what a task definition's containers refer to: the containers they depend on
(``dependsOn``), the health checks a HEALTHY dependency waits for, the volumes they mount."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import Violation
from ..models import TaskDefinitionSpec
from ..shapes import ContainerDefinition
from .common import EACH_CONTAINER, Cel, Registry, containers, is_essential

_registry = Registry[TaskDefinitionSpec]()

KNOWN_DEPENDENCY = (
    "containerDefinitions[].dependsOn[].containerName must name a container of this task definition"
)


@_registry.rule(
    Cel(
        "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d,"
        " self.containerDefinitions.exists(t, t.name == d.containerName)))",
        KNOWN_DEPENDENCY,
        field=".containerDefinitions",
    )
)
def depends_on_known_containers(td: TaskDefinitionSpec) -> list[Violation]:
    """A dependency names another container of the task. [memory] (7.6)."""
    names = {c.name for c in td.containerDefinitions}
    return [
        Violation(f"{path}.dependsOn[{j}].containerName", KNOWN_DEPENDENCY)
        for path, c in containers(td)
        for j, dependency in enumerate(c.dependsOn or [])
        if dependency.containerName not in names
    ]


SELF_DEPENDENCY = "a container can't list itself in dependsOn"


@_registry.rule(
    Cel(
        "!has(self.dependsOn) || self.dependsOn.all(d, d.containerName != self.name)",
        SELF_DEPENDENCY,
        EACH_CONTAINER,
        field=".dependsOn",
    )
)
def no_self_dependency(td: TaskDefinitionSpec) -> list[Violation]:
    """A container does not wait for itself. [memory] (7.6)."""
    return [
        Violation(f"{path}.dependsOn[{j}].containerName", SELF_DEPENDENCY)
        for path, c in containers(td)
        for j, dependency in enumerate(c.dependsOn or [])
        if dependency.containerName == c.name
    ]


def _cycle_from(start: str, edges: dict[str, list[str]]) -> list[str] | None:
    """A dependency path from ``start`` back to itself, if there is one (depth-first)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        name, trail = stack.pop()
        for target in edges.get(name, []):
            if target == start and len(trail) > 1:
                return [*trail, start]
            if target not in visited and target != start:
                visited.add(target)
                stack.append((target, [*trail, target]))
    return None


@_registry.rule()
def no_dependency_cycles(td: TaskDefinitionSpec) -> list[Violation]:
    """dependsOn does not loop (a -> b -> a): no container could ever start. [memory] (7.6);
    self-dependency is no_self_dependency."""
    edges = {c.name: [d.containerName for d in c.dependsOn or []] for c in td.containerDefinitions}
    for path, container in containers(td):
        cycle = _cycle_from(container.name, edges)
        if cycle:
            return [
                Violation(f"{path}.dependsOn", f"dependsOn forms a cycle: {' -> '.join(cycle)}")
            ]
    return []


def _dependency_target_violations(
    td: TaskDefinitionSpec,
    conditions: tuple[str, ...],
    target_ok: Callable[[ContainerDefinition], bool],
    message: str,
) -> list[Violation]:
    """dependsOn entries with one of ``conditions`` whose target container fails ``target_ok``."""
    by_name = {c.name: c for c in td.containerDefinitions}
    return [
        Violation(f"{path}.dependsOn[{j}].condition", message)
        for path, c in containers(td)
        for j, dependency in enumerate(c.dependsOn or [])
        if dependency.condition in conditions
        and dependency.containerName in by_name
        and not target_ok(by_name[dependency.containerName])
    ]


def _cel_dependency_targets(conditions: tuple[str, ...], target_ok: str) -> str:
    """CEL: every dependsOn entry with one of ``conditions`` targets a container ``t`` for which
    ``target_ok`` holds."""
    listed = ", ".join(f"'{c}'" for c in conditions)
    return (
        "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, "
        f"!(d.condition in [{listed}]) || self.containerDefinitions.all(t, "
        f"t.name != d.containerName || ({target_ok}))))"
    )


EXIT_CONDITION = (
    "dependsOn condition COMPLETE or SUCCESS can't target an essential container "
    "(set essential: false on the target)"
)


@_registry.rule(
    Cel(
        _cel_dependency_targets(("COMPLETE", "SUCCESS"), "has(t.essential) && !t.essential"),
        EXIT_CONDITION,
        field=".containerDefinitions",
    )
)
def exit_conditions_target_non_essential(td: TaskDefinitionSpec) -> list[Violation]:
    """Waiting for an essential container to exit would stop the task. [model doc]
    ContainerDependency.condition (7.6)."""
    return _dependency_target_violations(
        td, ("COMPLETE", "SUCCESS"), lambda t: not is_essential(t), EXIT_CONDITION
    )


HEALTHY_CONDITION = "dependsOn condition HEALTHY needs a healthCheck on the target container"


@_registry.rule(
    Cel(
        _cel_dependency_targets(("HEALTHY",), "has(t.healthCheck)"),
        HEALTHY_CONDITION,
        field=".containerDefinitions",
    )
)
def healthy_condition_needs_health_check(td: TaskDefinitionSpec) -> list[Violation]:
    """HEALTHY waits for a health check, so the target has one. [model doc]
    ContainerDependency.condition (7.6)."""
    return _dependency_target_violations(
        td, ("HEALTHY",), lambda t: t.healthCheck is not None, HEALTHY_CONDITION
    )


MOUNT_SOURCE = "mountPoints[].sourceVolume must name a volume of the task definition (volumes)"


@_registry.rule()
def mount_points_name_volumes(td: TaskDefinitionSpec) -> list[Violation]:
    """A mount point mounts a declared volume. [model doc] MountPoint.sourceVolume (7.1)."""
    volumes = {v.name for v in td.volumes or []}
    return [
        Violation(f"{path}.mountPoints[{j}].sourceVolume", MOUNT_SOURCE)
        for path, c in containers(td)
        for j, mount in enumerate(c.mountPoints or [])
        if mount.sourceVolume is not None and mount.sourceVolume not in volumes
    ]


#: The dependency rules, in order.
DEPENDENCY_RULES = _registry.rules
