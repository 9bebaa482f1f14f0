"""The rules of a TaskDefinition (RegisterTaskDefinition): its containers' names and ports, its
size, then (from their own modules) the Fargate rules and the containers' dependencies.

``TASK_DEFINITION_RULES`` is the kind's registry, in the order the operator reports violations
and the CRD lists its validations.
"""

from __future__ import annotations

from ..errors import Violation
from ..models import TaskDefinitionSpec
from ..types import ECS_INTEGER_MAX
from . import dependencies, fargate
from .common import (
    EACH_CONTAINER,
    Cel,
    ListMapKeys,
    Registry,
    Rule,
    containers,
    duplicates,
    is_essential,
)
from .tags import TAG_RULES

_registry = Registry[TaskDefinitionSpec]()

UNIQUE_CONTAINERS = "container names must be unique within a task definition"


@_registry.rule(ListMapKeys("containerDefinitions", ("name",)))
def unique_container_names(td: TaskDefinitionSpec) -> list[Violation]:
    """Container names are unique within a task definition. [memory] (7.1): dependsOn, links,
    volumesFrom and load balancers name containers; the API server keys the list by name."""
    names = (c.name for c in td.containerDefinitions)
    return duplicates(names, "containerDefinitions", "name", UNIQUE_CONTAINERS)


ESSENTIAL = (
    "containerDefinitions needs at least one essential container (essential defaults to true)"
)


@_registry.rule(
    Cel(
        "self.containerDefinitions.exists(c, !has(c.essential) || c.essential)",
        ESSENTIAL,
        field=".containerDefinitions",
    )
)
def essential_container(td: TaskDefinitionSpec) -> list[Violation]:
    """At least one container is essential. [model doc] ContainerDefinition.essential (7.6)."""
    if any(is_essential(c) for c in td.containerDefinitions):
        return []
    return [Violation("containerDefinitions", ESSENTIAL)]


HOST_PORT = (
    "with networkMode awsvpc or host, portMappings[].hostPort must be omitted or equal to "
    "containerPort"
)


@_registry.rule(
    Cel(
        "!has(self.networkMode) || !(self.networkMode in ['awsvpc', 'host'])"
        " || self.containerDefinitions.all(c, !has(c.portMappings)"
        " || c.portMappings.all(p, !has(p.hostPort) || !has(p.containerPort)"
        " || p.hostPort == p.containerPort))",
        HOST_PORT,
        field=".containerDefinitions",
    )
)
def host_port_equals_container_port(td: TaskDefinitionSpec) -> list[Violation]:
    """awsvpc and host network modes map each port to itself. [model doc] PortMapping.hostPort
    (7.3)."""
    if td.networkMode not in ("awsvpc", "host"):
        return []
    return [
        Violation(f"{path}.portMappings[{j}].hostPort", HOST_PORT)
        for path, container in containers(td)
        for j, mapping in enumerate(container.portMappings or [])
        if None not in (mapping.hostPort, mapping.containerPort)
        and mapping.hostPort != mapping.containerPort
    ]


NO_NETWORK_PORTS = "with networkMode none, containers can't have portMappings"


@_registry.rule(
    Cel(
        "!has(self.networkMode) || self.networkMode != 'none'"
        " || self.containerDefinitions.all(c, !has(c.portMappings) || size(c.portMappings) == 0)",
        NO_NETWORK_PORTS,
        field=".containerDefinitions",
    )
)
def no_port_mappings_without_network(td: TaskDefinitionSpec) -> list[Violation]:
    """A task without networking publishes no ports. [model doc] ContainerDefinition
    .portMappings (7.3)."""
    if td.networkMode != "none":
        return []
    return [
        Violation(f"{path}.portMappings", NO_NETWORK_PORTS)
        for path, container in containers(td)
        if container.portMappings
    ]


LINKS = "links are supported only with networkMode bridge (the default)"


@_registry.rule(
    Cel(
        "!has(self.networkMode) || self.networkMode == 'bridge'"
        " || self.containerDefinitions.all(c, !has(c.links) || size(c.links) == 0)",
        LINKS,
        field=".containerDefinitions",
    )
)
def links_need_bridge(td: TaskDefinitionSpec) -> list[Violation]:
    """Docker links exist only on the bridge network. [model doc] ContainerDefinition.links
    (7.3)."""
    if td.networkMode in (None, "bridge"):
        return []
    return [Violation(f"{path}.links", LINKS) for path, c in containers(td) if c.links]


_registry.include(fargate.FARGATE_RULES)

TASK_CPU_RANGE = "task cpu must be between 128 and 196608 CPU units (0.125 to 192 vCPU)"


@_registry.rule()
def task_cpu_range(td: TaskDefinitionSpec) -> list[Violation]:
    """EC2 task cpu is 128 to 196608 units. [model doc] RegisterTaskDefinitionRequest.cpu (7.2);
    Fargate's own table is fargate_task_size."""
    if td.cpu is None or fargate.requires_fargate(td) or 128 <= int(td.cpu) <= 196608:
        return []
    return [Violation("cpu", TASK_CPU_RANGE)]


TASK_MEMORY_RANGE = f"task memory must be at most {ECS_INTEGER_MAX} MiB (ECS's 32-bit integer)"


@_registry.rule()
def task_memory_range(td: TaskDefinitionSpec) -> list[Violation]:
    """Task memory fits the integer ECS registers it as. [model doc]
    RegisterTaskDefinitionRequest.memory: "String values are converted to an integer indicating
    the MiB when the task definition is registered"; TaskDefinition.memory: on EC2 "any value can
    be used". [inferred] That integer is 32-bit like every integer of the model (the container
    memory that must fit in it is one), so 10^12 MiB is refused, not read as a 1 EiB task (7.2).
    Fargate's own table is fargate_task_size."""
    if td.memory is None or int(td.memory) <= ECS_INTEGER_MAX:
        return []
    return [Violation("memory", TASK_MEMORY_RANGE)]


RESERVATION = (
    "containerDefinitions[].memory (hard limit) must be greater than or equal to "
    "memoryReservation (soft limit)"
)


@_registry.rule(
    Cel(
        "!has(self.memory) || !has(self.memoryReservation)"
        " || self.memory >= self.memoryReservation",
        RESERVATION,
        EACH_CONTAINER,
        field=".memoryReservation",
    )
)
def memory_covers_reservation(td: TaskDefinitionSpec) -> list[Violation]:
    """The hard memory limit is not below the reservation. [model doc] ContainerDefinition
    .memoryReservation ("memory must be greater than memoryReservation"; 7.5, equality allowed)."""
    return [
        Violation(f"{path}.memoryReservation", RESERVATION)
        for path, c in containers(td)
        if c.memory is not None and c.memoryReservation is not None
        if c.memory < c.memoryReservation
    ]


CONTAINER_MEMORY = (
    "without task-level memory, every container needs memory or memoryReservation "
    "(containerDefinitions[].memory)"
)


@_registry.rule(
    Cel(
        "has(self.memory) || self.containerDefinitions.all(c,"
        " has(c.memory) || has(c.memoryReservation))",
        CONTAINER_MEMORY,
        field=".containerDefinitions",
    )
)
def container_memory_without_task_memory(td: TaskDefinitionSpec) -> list[Violation]:
    """Something must size each container. [model doc] ContainerDefinition.memory/
    .memoryReservation (7.5)."""
    if td.memory is not None:
        return []
    return [
        Violation(f"{path}.memory", CONTAINER_MEMORY)
        for path, c in containers(td)
        if c.memory is None and c.memoryReservation is None
    ]


@_registry.rule()
def containers_fit_task_memory(td: TaskDefinitionSpec) -> list[Violation]:
    """Containers fit in the task's memory: each hard limit, and the sum of reservations
    (memoryReservation, else memory). [model doc] ContainerDefinition.memory (7.2)."""
    if td.memory is None:
        return []
    task = int(td.memory)
    found = [
        Violation(f"{path}.memory", f"container memory {c.memory} exceeds task memory {task}")
        for path, c in containers(td)
        if c.memory is not None and c.memory > task
    ]
    reserved = sum(c.memoryReservation or c.memory or 0 for c in td.containerDefinitions)
    if reserved > task:
        message = f"the containers reserve {reserved} MiB, more than task memory {task} MiB"
        found.append(Violation("memory", message))
    return found


@_registry.rule()
def containers_fit_task_cpu(td: TaskDefinitionSpec) -> list[Violation]:
    """The containers' cpu units add up to no more than the task's. [model doc + memory] (7.2)."""
    if td.cpu is None:
        return []
    total = sum(c.cpu or 0 for c in td.containerDefinitions)
    if total <= int(td.cpu):
        return []
    message = f"the containers' cpu adds up to {total} units, more than task cpu {td.cpu}"
    return [Violation("cpu", message)]


_registry.include(dependencies.DEPENDENCY_RULES)

_registry.include(TAG_RULES)

TASK_DEFINITION_RULES: tuple[Rule[TaskDefinitionSpec], ...] = _registry.rules
