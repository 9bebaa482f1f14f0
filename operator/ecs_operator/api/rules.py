"""ECS rules that span more than one field, as pure functions over a parsed spec.

Single-field limits (patterns, ranges, list lengths, required members) are field constraints
of the generated shapes (``tools/gen_shapes.py``) and reach the CRD schema from there. What is
left needs two or more fields at once; each rule here is one small function returning the
violations it finds, and its docstring says where ECS states the rule (``[model doc]`` = the
botocore model's documentation, i.e. the ECS API Reference; ``[memory]`` = ECS behaviour not
written in the model; section numbers refer to ``shared/reference/ecs-api.md``).

A :class:`Rule` pairs the function with the checks the Kubernetes API server can make itself:
a CEL expression (:class:`Cel`, becomes ``x-kubernetes-validations``) or a list whose items are
keyed (:class:`ListMapKeys`, becomes ``x-kubernetes-list-type: map``). A rule without them is
enforced by the operator only. ``crdgen`` reads the ``*_RULES`` registries at the bottom, and
the CEL message is the rule's message, so ``kubectl apply`` and the operator say the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import Violation

if TYPE_CHECKING:
    from .models import ClusterSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
    from .shapes import CapacityProviderStrategyItem, ContainerDefinition, DeploymentConfiguration

S = TypeVar("S")


@dataclass(frozen=True)
class Cel:
    """A rule the API server evaluates: ``rule`` runs with ``self`` bound to the schema node
    at ``at`` (``""`` = the spec, ``"containerDefinitions[]"`` = each container, ...)."""

    rule: str
    message: str
    at: str = ""


@dataclass(frozen=True)
class ListMapKeys:
    """The list at ``at`` is keyed by ``keys``: the API server refuses duplicate keys."""

    at: str
    keys: tuple[str, ...]


ServerCheck = Cel | ListMapKeys


@dataclass(frozen=True)
class Rule(Generic[S]):
    """One ECS rule: the operator's check, and what the API server can check of it."""

    check: Callable[[S], list[Violation]]
    server: tuple[ServerCheck, ...] = ()

    @property
    def name(self) -> str:
        """The check function's name, used in docs/crds.md and in tests."""
        return self.check.__name__

    @property
    def summary(self) -> str:
        """The first line of the check's docstring."""
        return (self.check.__doc__ or "").strip().splitlines()[0]


def violations(rules: Iterable[Rule[S]], spec: S) -> list[Violation]:
    """Every violation of ``rules`` in ``spec``, in rule order."""
    return [v for rule in rules for v in rule.check(spec)]


# --- helpers -------------------------------------------------------------------------------

FARGATE = "FARGATE"
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
_CEL_FARGATE = "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities"
_CEL_DAEMON = "has(self.schedulingStrategy) && self.schedulingStrategy == 'DAEMON'"


def _requires_fargate(td: TaskDefinitionSpec) -> bool:
    return FARGATE in (td.requiresCompatibilities or [])


def _is_daemon(service: ServiceSpec) -> bool:
    return service.schedulingStrategy == "DAEMON"


def _containers(td: TaskDefinitionSpec) -> Iterator[tuple[str, ContainerDefinition]]:
    """Each container with its ECS path, ``containerDefinitions[i]``."""
    for index, container in enumerate(td.containerDefinitions):
        yield f"containerDefinitions[{index}]", container


def _essential(container: ContainerDefinition) -> bool:
    """``essential`` defaults to true [model doc ContainerDefinition.essential]."""
    return container.essential is not False


def _is_set(value: object) -> bool:
    """Whether a parameter is in use: present and not false or empty."""
    return value is not None and value is not False and value != [] and value != ""


def _lookup(obj: object, dotted: str) -> object:
    """``_lookup(container, "linuxParameters.devices")``; None where a level is absent."""
    for name in dotted.split("."):
        obj = getattr(obj, name, None)
    return obj


def _duplicates(keys: Iterable[Hashable], path: str, field: str, message: str) -> list[Violation]:
    """A violation at ``path[i].field`` for each key seen before position ``i``."""
    seen: set[Hashable] = set()
    found = []
    for index, key in enumerate(keys):
        if key in seen:
            found.append(Violation(f"{path}[{index}].{field}", f"{message}: {key!r} repeats"))
        seen.add(key)
    return found


# --- task definitions ----------------------------------------------------------------------

UNIQUE_CONTAINERS = "container names must be unique within a task definition"


def unique_container_names(td: TaskDefinitionSpec) -> list[Violation]:
    """Container names are unique within a task definition. [memory] (7.1): dependsOn, links,
    volumesFrom and load balancers name containers; the API server keys the list by name."""
    names = (c.name for c in td.containerDefinitions)
    return _duplicates(names, "containerDefinitions", "name", UNIQUE_CONTAINERS)


ESSENTIAL = (
    "containerDefinitions needs at least one essential container (essential defaults to true)"
)


def essential_container(td: TaskDefinitionSpec) -> list[Violation]:
    """At least one container is essential. [model doc] ContainerDefinition.essential (7.6)."""
    if any(_essential(c) for c in td.containerDefinitions):
        return []
    return [Violation("containerDefinitions", ESSENTIAL)]


HOST_PORT = (
    "with networkMode awsvpc or host, portMappings[].hostPort must be omitted or equal to "
    "containerPort"
)


def host_port_equals_container_port(td: TaskDefinitionSpec) -> list[Violation]:
    """awsvpc and host network modes map each port to itself. [model doc] PortMapping.hostPort
    (7.3)."""
    if td.networkMode not in ("awsvpc", "host"):
        return []
    return [
        Violation(f"{path}.portMappings[{j}].hostPort", HOST_PORT)
        for path, container in _containers(td)
        for j, mapping in enumerate(container.portMappings or [])
        if None not in (mapping.hostPort, mapping.containerPort)
        and mapping.hostPort != mapping.containerPort
    ]


NO_NETWORK_PORTS = "with networkMode none, containers can't have portMappings"


def no_port_mappings_without_network(td: TaskDefinitionSpec) -> list[Violation]:
    """A task without networking publishes no ports. [model doc] ContainerDefinition
    .portMappings (7.3)."""
    if td.networkMode != "none":
        return []
    return [
        Violation(f"{path}.portMappings", NO_NETWORK_PORTS)
        for path, container in _containers(td)
        if container.portMappings
    ]


LINKS = "links are supported only with networkMode bridge (the default)"


def links_need_bridge(td: TaskDefinitionSpec) -> list[Violation]:
    """Docker links exist only on the bridge network. [model doc] ContainerDefinition.links
    (7.3)."""
    if td.networkMode in (None, "bridge"):
        return []
    return [Violation(f"{path}.links", LINKS) for path, c in _containers(td) if c.links]


#: Parameters of list items that Fargate does not support: (list, parameter below each item,
#: CEL that holds when the item ``x`` leaves the parameter unset). [model doc] 7.4.
NOT_ON_FARGATE: tuple[tuple[str, str, str], ...] = (
    ("containerDefinitions", "privileged", "!has(x.privileged) || !x.privileged"),
    (
        "containerDefinitions",
        "linuxParameters.devices",
        "!has(x.linuxParameters) || !has(x.linuxParameters.devices)"
        " || size(x.linuxParameters.devices) == 0",
    ),
    (
        "containerDefinitions",
        "linuxParameters.sharedMemorySize",
        "!has(x.linuxParameters) || !has(x.linuxParameters.sharedMemorySize)",
    ),
    (
        "containerDefinitions",
        "dockerSecurityOptions",
        "!has(x.dockerSecurityOptions) || size(x.dockerSecurityOptions) == 0",
    ),
    ("volumes", "dockerVolumeConfiguration", "!has(x.dockerVolumeConfiguration)"),
    (
        "volumes",
        "host.sourcePath",
        "!has(x.host) || !has(x.host.sourcePath) || x.host.sourcePath == ''",
    ),
)


def not_on_fargate(parameter: str) -> str:
    """The message for a parameter Fargate does not support."""
    return f"Fargate tasks (requiresCompatibilities FARGATE) don't support {parameter}"


def fargate_unsupported_parameters(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate refuses privileged containers, devices, shared memory size, Docker security
    options, Docker volumes and host paths. [model doc] ContainerDefinition.privileged,
    LinuxParameters.devices/.sharedMemorySize, .dockerSecurityOptions, Volume (7.4)."""
    if not _requires_fargate(td):
        return []
    return [
        Violation(f"{field}[{i}].{parameter}", not_on_fargate(f"{field}[].{parameter}"))
        for field, parameter, _ in NOT_ON_FARGATE
        for i, item in enumerate(getattr(td, field) or [])
        if _is_set(_lookup(item, parameter))
    ]


FARGATE_NAMESPACES = not_on_fargate("ipcMode, or a pidMode other than task")


def fargate_namespaces(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate shares no IPC namespace and only the task's PID namespace. [model doc]
    RegisterTaskDefinitionRequest.ipcMode/.pidMode (7.4)."""
    if not _requires_fargate(td):
        return []
    found = [Violation("ipcMode", FARGATE_NAMESPACES)] if td.ipcMode else []
    if td.pidMode not in (None, "task"):
        found.append(Violation("pidMode", FARGATE_NAMESPACES))
    return found


FARGATE_AWSVPC = "Fargate tasks (requiresCompatibilities FARGATE) need networkMode awsvpc"


def fargate_requires_awsvpc(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate gives every task its own network interface. [model doc]
    RegisterTaskDefinitionRequest.networkMode (7.3)."""
    if _requires_fargate(td) and td.networkMode != "awsvpc":
        return [Violation("networkMode", FARGATE_AWSVPC)]
    return []


FARGATE_SIZE = "Fargate tasks (requiresCompatibilities FARGATE) need task-level cpu and memory"


def fargate_requires_task_size(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate sizes the task, not the containers. [model doc] RegisterTaskDefinitionRequest
    .cpu/.memory (7.2)."""
    if not _requires_fargate(td):
        return []
    return [Violation(f, FARGATE_SIZE) for f in ("cpu", "memory") if getattr(td, f) is None]


def _steps(first: int, last: int, step: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1, step))


#: Fargate (Linux) task cpu units -> the memory sizes (MiB) it can have. [model doc]
#: RegisterTaskDefinitionRequest.memory (7.2); 8192 and 16384 need platform version >= 1.4.0.
FARGATE_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


def _memory_choices(sizes: Sequence[int]) -> str:
    if len(sizes) <= 3:
        return ", ".join(map(str, sizes))
    return f"{sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"


FARGATE_CPU = (
    f"Fargate task cpu must be one of {', '.join(map(str, FARGATE_TASK_SIZES))} (CPU units)"
)
FARGATE_COMBINATION = (
    "Fargate task cpu and memory (MiB) must be a supported combination ("
    + "; ".join(
        f"cpu {cpu}: memory {_memory_choices(sizes)}" for cpu, sizes in FARGATE_TASK_SIZES.items()
    )
    + ")"
)


def fargate_task_size(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate offers fixed cpu/memory combinations. [model doc]
    RegisterTaskDefinitionRequest.memory (7.2)."""
    if not _requires_fargate(td) or td.cpu is None or td.memory is None:
        return []
    cpu, memory = int(td.cpu), int(td.memory)
    if cpu not in FARGATE_TASK_SIZES:
        return [Violation("cpu", FARGATE_CPU)]
    allowed = FARGATE_TASK_SIZES[cpu]
    if memory in allowed:
        return []
    message = f"Fargate task cpu {cpu} allows memory {_memory_choices(allowed)} (MiB)"
    return [Violation("memory", message)]


_CEL_NUMERIC = "string(self.{0}).matches('^[1-9][0-9]*$')"


def _cel_fargate_cpu() -> str:
    """CEL for a Fargate cpu value, checked when it is a plain number (as below)."""
    cpus = ", ".join(f"'{c}'" for c in FARGATE_TASK_SIZES)
    return (
        f"!({_CEL_FARGATE}) || !has(self.cpu) || !{_CEL_NUMERIC.format('cpu')}"
        f" || string(self.cpu) in [{cpus}]"
    )


def _cel_fargate_combinations() -> str:
    """CEL for the Fargate table, checked when both values are plain numbers ("1 vCPU" and
    "2GB" forms are left to the operator, which normalises them) and the cpu is a Fargate one
    (else the rule above says so)."""
    pairs = ", ".join(f"'{c}:{m}'" for c, ms in FARGATE_TASK_SIZES.items() for m in ms)
    cpus = ", ".join(f"'{c}'" for c in FARGATE_TASK_SIZES)
    return (
        f"!({_CEL_FARGATE}) || !has(self.cpu) || !has(self.memory)"
        f" || !{_CEL_NUMERIC.format('cpu')} || !{_CEL_NUMERIC.format('memory')}"
        f" || !(string(self.cpu) in [{cpus}])"
        f" || (string(self.cpu) + ':' + string(self.memory)) in [{pairs}]"
    )


TASK_CPU_RANGE = "task cpu must be between 128 and 196608 CPU units (0.125 to 192 vCPU)"


def task_cpu_range(td: TaskDefinitionSpec) -> list[Violation]:
    """EC2 task cpu is 128 to 196608 units. [model doc] RegisterTaskDefinitionRequest.cpu (7.2);
    Fargate's own table is fargate_task_size."""
    if td.cpu is None or _requires_fargate(td) or 128 <= int(td.cpu) <= 196608:
        return []
    return [Violation("cpu", TASK_CPU_RANGE)]


#: ECS's integers are 32-bit (the model's ``integer`` shapes; tools/gen_shapes.py bounds them).
ECS_INTEGER_MAX = 2**31 - 1
TASK_MEMORY_RANGE = f"task memory must be at most {ECS_INTEGER_MAX} MiB (ECS's 32-bit integer)"


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


def memory_covers_reservation(td: TaskDefinitionSpec) -> list[Violation]:
    """The hard memory limit is not below the reservation. [model doc] ContainerDefinition
    .memoryReservation ("memory must be greater than memoryReservation"; 7.5, equality allowed)."""
    return [
        Violation(f"{path}.memoryReservation", RESERVATION)
        for path, c in _containers(td)
        if c.memory is not None and c.memoryReservation is not None
        if c.memory < c.memoryReservation
    ]


CONTAINER_MEMORY = (
    "without task-level memory, every container needs memory or memoryReservation "
    "(containerDefinitions[].memory)"
)


def container_memory_without_task_memory(td: TaskDefinitionSpec) -> list[Violation]:
    """Something must size each container. [model doc] ContainerDefinition.memory/
    .memoryReservation (7.5)."""
    if td.memory is not None:
        return []
    return [
        Violation(f"{path}.memory", CONTAINER_MEMORY)
        for path, c in _containers(td)
        if c.memory is None and c.memoryReservation is None
    ]


def containers_fit_task_memory(td: TaskDefinitionSpec) -> list[Violation]:
    """Containers fit in the task's memory: each hard limit, and the sum of reservations
    (memoryReservation, else memory). [model doc] ContainerDefinition.memory (7.2)."""
    if td.memory is None:
        return []
    task = int(td.memory)
    found = [
        Violation(f"{path}.memory", f"container memory {c.memory} exceeds task memory {task}")
        for path, c in _containers(td)
        if c.memory is not None and c.memory > task
    ]
    reserved = sum(c.memoryReservation or c.memory or 0 for c in td.containerDefinitions)
    if reserved > task:
        message = f"the containers reserve {reserved} MiB, more than task memory {task} MiB"
        found.append(Violation("memory", message))
    return found


def containers_fit_task_cpu(td: TaskDefinitionSpec) -> list[Violation]:
    """The containers' cpu units add up to no more than the task's. [model doc + memory] (7.2)."""
    if td.cpu is None:
        return []
    total = sum(c.cpu or 0 for c in td.containerDefinitions)
    if total <= int(td.cpu):
        return []
    message = f"the containers' cpu adds up to {total} units, more than task cpu {td.cpu}"
    return [Violation("cpu", message)]


KNOWN_DEPENDENCY = (
    "containerDefinitions[].dependsOn[].containerName must name a container of this task definition"
)


def depends_on_known_containers(td: TaskDefinitionSpec) -> list[Violation]:
    """A dependency names another container of the task. [memory] (7.6)."""
    names = {c.name for c in td.containerDefinitions}
    return [
        Violation(f"{path}.dependsOn[{j}].containerName", KNOWN_DEPENDENCY)
        for path, c in _containers(td)
        for j, dependency in enumerate(c.dependsOn or [])
        if dependency.containerName not in names
    ]


SELF_DEPENDENCY = "a container can't list itself in dependsOn"


def no_self_dependency(td: TaskDefinitionSpec) -> list[Violation]:
    """A container does not wait for itself. [memory] (7.6)."""
    return [
        Violation(f"{path}.dependsOn[{j}].containerName", SELF_DEPENDENCY)
        for path, c in _containers(td)
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


def no_dependency_cycles(td: TaskDefinitionSpec) -> list[Violation]:
    """dependsOn does not loop (a -> b -> a): no container could ever start. [memory] (7.6);
    self-dependency is no_self_dependency."""
    edges = {c.name: [d.containerName for d in c.dependsOn or []] for c in td.containerDefinitions}
    for path, container in _containers(td):
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
        for path, c in _containers(td)
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


def exit_conditions_target_non_essential(td: TaskDefinitionSpec) -> list[Violation]:
    """Waiting for an essential container to exit would stop the task. [model doc]
    ContainerDependency.condition (7.6)."""
    return _dependency_target_violations(
        td, ("COMPLETE", "SUCCESS"), lambda t: not _essential(t), EXIT_CONDITION
    )


HEALTHY_CONDITION = "dependsOn condition HEALTHY needs a healthCheck on the target container"


def healthy_condition_needs_health_check(td: TaskDefinitionSpec) -> list[Violation]:
    """HEALTHY waits for a health check, so the target has one. [model doc]
    ContainerDependency.condition (7.6)."""
    return _dependency_target_violations(
        td, ("HEALTHY",), lambda t: t.healthCheck is not None, HEALTHY_CONDITION
    )


HEALTH_CHECK_COMMAND = (
    "healthCheck.command must start with CMD (run the arguments) or CMD-SHELL (run a shell command)"
)


def health_check_command(td: TaskDefinitionSpec) -> list[Violation]:
    """The health check command says how to run it. [model doc] HealthCheck.command (7.7)."""
    return [
        Violation(f"{path}.healthCheck.command[0]", HEALTH_CHECK_COMMAND)
        for path, c in _containers(td)
        if c.healthCheck is not None and c.healthCheck.command[:1] not in (["CMD"], ["CMD-SHELL"])
    ]


MOUNT_SOURCE = "mountPoints[].sourceVolume must name a volume of the task definition (volumes)"


def mount_points_name_volumes(td: TaskDefinitionSpec) -> list[Violation]:
    """A mount point mounts a declared volume. [model doc] MountPoint.sourceVolume (7.1)."""
    volumes = {v.name for v in td.volumes or []}
    return [
        Violation(f"{path}.mountPoints[{j}].sourceVolume", MOUNT_SOURCE)
        for path, c in _containers(td)
        for j, mount in enumerate(c.mountPoints or [])
        if mount.sourceVolume is not None and mount.sourceVolume not in volumes
    ]


# --- services and tasks --------------------------------------------------------------------

LAUNCH_TYPE_XOR = "launchType and capacityProviderStrategy are mutually exclusive: set one"


def launch_type_xor_strategy(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """A launch type or a capacity provider strategy, not both. [model doc]
    CreateServiceRequest.launchType/.capacityProviderStrategy (7.9)."""
    if spec.launchType is not None and spec.capacityProviderStrategy:
        return [Violation("capacityProviderStrategy", LAUNCH_TYPE_XOR)]
    return []


ONE_BASE = "at most one capacity provider in a strategy can have a base greater than 0"
SOME_WEIGHT = "at least one capacity provider in a strategy must have a weight greater than 0"


def _strategy_violations(
    items: Sequence[CapacityProviderStrategyItem] | None, path: str
) -> list[Violation]:
    items = items or []
    based = [i for i, item in enumerate(items) if (item.base or 0) > 0]
    found = [Violation(f"{path}[{i}].base", ONE_BASE) for i in based[1:]]
    if items and not any((item.weight or 0) > 0 for item in items):
        found.append(Violation(path, SOME_WEIGHT))
    return found


def _strategy_cel(at: str) -> tuple[Cel, Cel]:
    return (
        Cel("size(self.filter(i, has(i.base) && i.base > 0)) <= 1", ONE_BASE, at),
        Cel("size(self) == 0 || self.exists(i, has(i.weight) && i.weight > 0)", SOME_WEIGHT, at),
    )


def capacity_provider_strategy(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """One base at most, some weight at least. [model doc] CapacityProviderStrategyItem
    .base/.weight (7.9)."""
    return _strategy_violations(spec.capacityProviderStrategy, "capacityProviderStrategy")


DISTINCT_INSTANCE = "a distinctInstance placement constraint takes no expression"


def distinct_instance_without_expression(spec: ServiceSpec | TaskSpec) -> list[Violation]:
    """distinctInstance is a fixed rule; memberOf takes the expression. [model doc]
    PlacementConstraint.expression (7.8)."""
    return [
        Violation(f"placementConstraints[{i}].expression", DISTINCT_INSTANCE)
        for i, constraint in enumerate(spec.placementConstraints or [])
        if constraint.type == "distinctInstance" and constraint.expression
    ]


DAEMON_COUNT = "a DAEMON service has no desiredCount (it runs one task per container instance)"
REPLICA_COUNT = "desiredCount is required unless schedulingStrategy is DAEMON"


def desired_count_by_scheduling_strategy(service: ServiceSpec) -> list[Violation]:
    """REPLICA services need desiredCount; DAEMON services have none. [model doc]
    CreateServiceRequest.desiredCount (7.9, 7.10; rejecting it for DAEMON is our reading)."""
    if _is_daemon(service) and service.desiredCount is not None:
        return [Violation("desiredCount", DAEMON_COUNT)]
    if not _is_daemon(service) and service.desiredCount is None:
        return [Violation("desiredCount", REPLICA_COUNT)]
    return []


def _uses_fargate(service: ServiceSpec) -> bool:
    providers = {item.capacityProvider for item in service.capacityProviderStrategy or []}
    return service.launchType == FARGATE or bool(providers & set(FARGATE_PROVIDERS))


#: What a DAEMON service can't have: (field, why, CEL that holds when the service is fine,
#: operator check that is true when it is not). [model doc] CreateServiceRequest
#: .schedulingStrategy (7.10), .volumeConfigurations (7.9); autoScaling is ours.
DAEMON_LIMITS: tuple[tuple[str, str, str, Callable[[ServiceSpec], bool]], ...] = (
    (
        "launchType",
        "a DAEMON service can't run on Fargate (launchType FARGATE or capacity provider "
        "FARGATE/FARGATE_SPOT)",
        "(!has(self.launchType) || self.launchType != 'FARGATE') && "
        "(!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.all(i, "
        "!(i.capacityProvider in ['FARGATE', 'FARGATE_SPOT'])))",
        _uses_fargate,
    ),
    (
        "deploymentController",
        "a DAEMON service needs the ECS deployment controller (not CODE_DEPLOY or EXTERNAL)",
        "!has(self.deploymentController) || !has(self.deploymentController.type) "
        "|| self.deploymentController.type == 'ECS'",
        lambda s: (
            s.deploymentController is not None and s.deploymentController.type not in (None, "ECS")
        ),
    ),
    (
        "placementStrategy",
        "a DAEMON service has no placementStrategy",
        "!has(self.placementStrategy) || size(self.placementStrategy) == 0",
        lambda s: bool(s.placementStrategy),
    ),
    (
        "volumeConfigurations",
        "a DAEMON service can't have volumeConfigurations",
        "!has(self.volumeConfigurations) || size(self.volumeConfigurations) == 0",
        lambda s: bool(s.volumeConfigurations),
    ),
    (
        "autoScaling",
        "a DAEMON service can't have autoScaling (it runs one task per container instance)",
        "!has(self.autoScaling)",
        lambda s: s.autoScaling is not None,
    ),
)


def daemon_limits(service: ServiceSpec) -> list[Violation]:
    """DAEMON services run one task per EC2 container instance, so no Fargate, no CODE_DEPLOY
    or EXTERNAL controller, no placement strategy, no volumes configured at launch, no scaling.
    [model doc] CreateServiceRequest.schedulingStrategy (7.10)."""
    if not _is_daemon(service):
        return []
    return [Violation(field, why) for field, why, _, broken in DAEMON_LIMITS if broken(service)]


TASK_DEFINITION_REQUIRED = (
    "taskDefinition is required unless the deploymentController type is EXTERNAL"
)


def task_definition_required(service: ServiceSpec) -> list[Violation]:
    """ECS and CODE_DEPLOY services run a task definition. [model doc]
    CreateServiceRequest.taskDefinition."""
    controller = service.deploymentController
    external = controller is not None and controller.type == "EXTERNAL"
    if service.taskDefinition is None and not external:
        return [Violation("taskDefinition", TASK_DEFINITION_REQUIRED)]
    return []


ECS_CONTROLLER = (
    "deploymentConfiguration.deploymentCircuitBreaker and .alarms work only with the ECS "
    "deployment controller"
)


def rollback_needs_ecs_controller(service: ServiceSpec) -> list[Violation]:
    """Circuit breaker and alarm rollbacks are ECS-controller features. [model doc]
    DeploymentCircuitBreaker, DeploymentAlarms (7.9)."""
    controller, config = service.deploymentController, service.deploymentConfiguration
    if controller is None or controller.type in (None, "ECS") or config is None:
        return []
    return [
        Violation(f"deploymentConfiguration.{field}", ECS_CONTROLLER)
        for field in ("deploymentCircuitBreaker", "alarms")
        if getattr(config, field) is not None
    ]


#: deploymentConfiguration settings that belong to one strategy: (setting, strategy, required?).
#: [model doc] DeploymentConfiguration.bakeTimeInMinutes/.linearConfiguration/
#: .canaryConfiguration (7.9).
STRATEGY_SETTINGS = (
    ("bakeTimeInMinutes", "BLUE_GREEN", True),
    ("linearConfiguration", "LINEAR", False),
    ("canaryConfiguration", "CANARY", False),
)


def strategy_setting_message(setting: str, strategy: str, required: bool) -> str:
    """The message for a strategy-specific deploymentConfiguration setting."""
    if required:
        return f"deploymentConfiguration strategy {strategy} requires {setting}"
    return f"deploymentConfiguration.{setting} is only for strategy {strategy}"


def _misplaced(
    config: DeploymentConfiguration, setting: str, strategy: str, required: bool
) -> bool:
    """A required setting missing under its strategy, or an optional one under another."""
    chosen = config.strategy == strategy
    present = getattr(config, setting) is not None
    return (chosen and not present) if required else (present and not chosen)


def deployment_strategy_settings(service: ServiceSpec) -> list[Violation]:
    """BLUE_GREEN needs a bake time; linear and canary settings need their strategy. [model doc]
    DeploymentConfiguration.bakeTimeInMinutes ("You must provide this parameter when you use the
    BLUE_GREEN deployment strategy"), .linearConfiguration, .canaryConfiguration (7.9)."""
    config = service.deploymentConfiguration
    if config is None:
        return []
    return [
        Violation(f"deploymentConfiguration.{entry[0]}", strategy_setting_message(*entry))
        for entry in STRATEGY_SETTINGS
        if _misplaced(config, *entry)
    ]


def _strategy_settings_cel(setting: str, strategy: str, required: bool) -> str:
    if required:
        return f"!has(self.strategy) || self.strategy != '{strategy}' || has(self.{setting})"
    return f"!has(self.{setting}) || (has(self.strategy) && self.strategy == '{strategy}')"


MANAGED_TAGS = "enableECSManagedTags requires propagateTags"


def managed_tags_need_propagate_tags(service: ServiceSpec) -> list[Violation]:
    """ECS managed tags are propagated ones. [model doc] CreateServiceRequest
    .enableECSManagedTags (7.9)."""
    if service.enableECSManagedTags and service.propagateTags is None:
        return [Violation("propagateTags", MANAGED_TAGS)]
    return []


LOAD_BALANCER = (
    "each loadBalancers[] entry names either targetGroupArn (ALB/NLB) or loadBalancerName "
    "(Classic), not both"
)


def load_balancer_target(service: ServiceSpec) -> list[Violation]:
    """A load balancer entry is either a target group or a Classic ELB. [model doc]
    LoadBalancer.targetGroupArn/.loadBalancerName (7.3)."""
    return [
        Violation(f"loadBalancers[{i}]", LOAD_BALANCER)
        for i, lb in enumerate(service.loadBalancers or [])
        if (lb.targetGroupArn is None) == (lb.loadBalancerName is None)
    ]


#: Amazon ECS service quota "Tasks per service": 5,000 [memory: Amazon ECS service quotas].
TASKS_PER_SERVICE = 5000


def tasks_per_service(member: str) -> str:
    """The message for a task count over the quota."""
    return f"{member} must be at most {TASKS_PER_SERVICE} (ECS quota: tasks per service)"


def tasks_per_service_quota(service: ServiceSpec) -> list[Violation]:
    """A service runs at most 5,000 tasks, however it is scaled. [memory] Amazon ECS service
    quotas, "Tasks per service" (not adjustable); autoScaling.maxCapacity is the most
    desiredCount may become."""
    scaling = service.autoScaling
    counts = {
        "desiredCount": service.desiredCount,
        "autoScaling.maxCapacity": None if scaling is None else scaling.maxCapacity,
    }
    return [
        Violation(member, tasks_per_service(member))
        for member, count in counts.items()
        if count is not None and count > TASKS_PER_SERVICE
    ]


SCALING_BOUNDS = "autoScaling.minCapacity must not exceed autoScaling.maxCapacity"


def auto_scaling_bounds(service: ServiceSpec) -> list[Violation]:
    """The scalable target's bounds are ordered, as Application Auto Scaling's
    RegisterScalableTarget requires."""
    scaling = service.autoScaling
    if scaling is not None and scaling.minCapacity > scaling.maxCapacity:
        return [Violation("autoScaling.minCapacity", SCALING_BOUNDS)]
    return []


UNIQUE_METRICS = "each predefinedMetricType may have one target tracking policy"


def unique_scaling_metrics(service: ServiceSpec) -> list[Violation]:
    """One policy per metric (ours: one metric maps to one HorizontalPodAutoscaler metric)."""
    if service.autoScaling is None:
        return []
    policies = service.autoScaling.targetTrackingScalingPolicies or []
    return _duplicates(
        (p.predefinedMetricType for p in policies),
        "autoScaling.targetTrackingScalingPolicies",
        "predefinedMetricType",
        UNIQUE_METRICS,
    )


OVERRIDES_SIZE = "overrides may be at most 8192 characters of JSON"


def overrides_size(task: TaskSpec) -> list[Violation]:
    """ECS caps the size of a RunTask's overrides. [model doc] RunTaskRequest.overrides: "up to
    8192 characters" of JSON (7.12)."""
    if task.overrides is None:
        return []
    if len(json.dumps(task.overrides.to_ecs(), separators=(",", ":"))) <= 8192:
        return []
    return [Violation("overrides", OVERRIDES_SIZE)]


# --- clusters ------------------------------------------------------------------------------


def default_capacity_provider_strategy(cluster: ClusterSpec) -> list[Violation]:
    """One base at most, some weight at least. [model doc] CapacityProviderStrategyItem
    .base/.weight (7.9)."""
    return _strategy_violations(
        cluster.defaultCapacityProviderStrategy, "defaultCapacityProviderStrategy"
    )


DEFAULT_STRATEGY_PROVIDERS = (
    "defaultCapacityProviderStrategy[].capacityProvider must be listed in capacityProviders"
)


def default_strategy_uses_cluster_providers(cluster: ClusterSpec) -> list[Violation]:
    """A strategy uses providers associated with the cluster. [model doc]
    CreateClusterRequest.capacityProviders."""
    providers = set(cluster.capacityProviders or [])
    return [
        Violation(
            f"defaultCapacityProviderStrategy[{i}].capacityProvider", DEFAULT_STRATEGY_PROVIDERS
        )
        for i, item in enumerate(cluster.defaultCapacityProviderStrategy or [])
        if item.capacityProvider not in providers
    ]


UNIQUE_DEFINITIONS = "capacityProviderDefinitions names must be unique"


def unique_capacity_provider_definitions(cluster: ClusterSpec) -> list[Violation]:
    """One node pool per capacity provider (ours)."""
    names = (d.name for d in cluster.capacityProviderDefinitions or [])
    return _duplicates(names, "capacityProviderDefinitions", "name", UNIQUE_DEFINITIONS)


DEFINITION_LISTED = "capacityProviderDefinitions[].name must be listed in capacityProviders"


def capacity_provider_definitions_listed(cluster: ClusterSpec) -> list[Violation]:
    """A definition describes a provider of this cluster (ours: an unlisted one is a typo)."""
    providers = set(cluster.capacityProviders or [])
    return [
        Violation(f"capacityProviderDefinitions[{i}].name", DEFINITION_LISTED)
        for i, definition in enumerate(cluster.capacityProviderDefinitions or [])
        if definition.name not in providers
    ]


PROVIDER_PREFIX = (
    "an EC2 capacity provider name can't start with aws, ecs or fargate "
    "(FARGATE and FARGATE_SPOT are built in)"
)


def capacity_provider_definition_names(cluster: ClusterSpec) -> list[Violation]:
    """EC2 capacity provider names avoid AWS's reserved prefixes. [model doc]
    CreateCapacityProviderRequest.name: "can't be prefixed with aws, ecs, or fargate" (7.1);
    FARGATE and FARGATE_SPOT are built in and need no definition (nodes.py)."""
    return [
        Violation(f"capacityProviderDefinitions[{i}].name", PROVIDER_PREFIX)
        for i, definition in enumerate(cluster.capacityProviderDefinitions or [])
        if definition.name.lower().startswith(("aws", "ecs", "fargate"))
    ]


CONTAINER_INSIGHTS = "the containerInsights setting value is enhanced, enabled or disabled"
CONTAINER_INSIGHTS_VALUES = ("enhanced", "enabled", "disabled")


def container_insights_value(cluster: ClusterSpec) -> list[Violation]:
    """Container Insights has three levels. [model doc] ClusterSetting.value (7.12)."""
    return [
        Violation(f"settings[{i}].value", CONTAINER_INSIGHTS)
        for i, setting in enumerate(cluster.settings or [])
        if setting.value is not None and setting.value not in CONTAINER_INSIGHTS_VALUES
    ]


TOLERATION_EXISTS = "a toleration with operator Exists takes no value"


def toleration_exists_without_value(cluster: ClusterSpec) -> list[Violation]:
    """Exists tolerates any value, so a value is a mistake. Kubernetes core/v1 Toleration: "If
    the operator is Exists, the value should be empty"."""
    return [
        Violation(f"capacityProviderDefinitions[{i}].tolerations[{j}].value", TOLERATION_EXISTS)
        for i, definition in enumerate(cluster.capacityProviderDefinitions or [])
        for j, toleration in enumerate(definition.tolerations or [])
        if toleration.operator == "Exists" and toleration.value
    ]


FARGATE_RULES = (
    fargate_unsupported_parameters,
    fargate_namespaces,
    fargate_requires_awsvpc,
    fargate_requires_task_size,
    fargate_task_size,
)


def fargate_incompatibilities(td: TaskDefinitionSpec) -> list[Violation]:
    """Why ``td`` cannot run on Fargate capacity (none when it can), as ECS decides a task
    definition's ``compatibilities``: one that requires compatibilities without FARGATE is
    EC2-only; one that requires none is Fargate-compatible only if it meets Fargate's rules."""
    if td.requiresCompatibilities:
        if FARGATE in td.requiresCompatibilities:
            return []
        listed = ", ".join(td.requiresCompatibilities)
        return [
            Violation(
                "requiresCompatibilities",
                f"the task definition requires {listed}: it does not support launch type "
                "FARGATE (ECS: Task definition does not support launch_type FARGATE)",
            )
        ]
    as_fargate = td.model_copy(update={"requiresCompatibilities": [FARGATE]})
    return [v for check in FARGATE_RULES for v in check(as_fargate)]


# --- registries ----------------------------------------------------------------------------

_EACH_CONTAINER = "containerDefinitions[]"
_HAS_NO_PORTS = "!has(c.portMappings) || size(c.portMappings) == 0"

TASK_DEFINITION_RULES: tuple[Rule[TaskDefinitionSpec], ...] = (
    Rule(unique_container_names, (ListMapKeys("containerDefinitions", ("name",)),)),
    Rule(
        essential_container,
        (Cel("self.containerDefinitions.exists(c, !has(c.essential) || c.essential)", ESSENTIAL),),
    ),
    Rule(
        host_port_equals_container_port,
        (
            Cel(
                "!has(self.networkMode) || !(self.networkMode in ['awsvpc', 'host'])"
                " || self.containerDefinitions.all(c, !has(c.portMappings)"
                " || c.portMappings.all(p, !has(p.hostPort) || !has(p.containerPort)"
                " || p.hostPort == p.containerPort))",
                HOST_PORT,
            ),
        ),
    ),
    Rule(
        no_port_mappings_without_network,
        (
            Cel(
                "!has(self.networkMode) || self.networkMode != 'none'"
                f" || self.containerDefinitions.all(c, {_HAS_NO_PORTS})",
                NO_NETWORK_PORTS,
            ),
        ),
    ),
    Rule(
        links_need_bridge,
        (
            Cel(
                "!has(self.networkMode) || self.networkMode == 'bridge'"
                " || self.containerDefinitions.all(c, !has(c.links) || size(c.links) == 0)",
                LINKS,
            ),
        ),
    ),
    Rule(
        fargate_unsupported_parameters,
        tuple(
            Cel(
                f"!({_CEL_FARGATE}) || !has(self.{field}) || self.{field}.all(x, {unset})",
                not_on_fargate(f"{field}[].{parameter}"),
            )
            for field, parameter, unset in NOT_ON_FARGATE
        ),
    ),
    Rule(
        fargate_namespaces,
        (
            Cel(
                f"!({_CEL_FARGATE}) || (!has(self.ipcMode)"
                " && (!has(self.pidMode) || self.pidMode == 'task'))",
                FARGATE_NAMESPACES,
            ),
        ),
    ),
    Rule(
        fargate_requires_awsvpc,
        (
            Cel(
                f"!({_CEL_FARGATE}) || (has(self.networkMode) && self.networkMode == 'awsvpc')",
                FARGATE_AWSVPC,
            ),
        ),
    ),
    Rule(
        fargate_requires_task_size,
        (Cel(f"!({_CEL_FARGATE}) || (has(self.cpu) && has(self.memory))", FARGATE_SIZE),),
    ),
    Rule(
        fargate_task_size,
        (
            Cel(_cel_fargate_cpu(), FARGATE_CPU),
            Cel(_cel_fargate_combinations(), FARGATE_COMBINATION),
        ),
    ),
    Rule(task_cpu_range),
    Rule(task_memory_range),
    Rule(
        memory_covers_reservation,
        (
            Cel(
                "!has(self.memory) || !has(self.memoryReservation)"
                " || self.memory >= self.memoryReservation",
                RESERVATION,
                _EACH_CONTAINER,
            ),
        ),
    ),
    Rule(
        container_memory_without_task_memory,
        (
            Cel(
                "has(self.memory) || self.containerDefinitions.all(c,"
                " has(c.memory) || has(c.memoryReservation))",
                CONTAINER_MEMORY,
            ),
        ),
    ),
    Rule(containers_fit_task_memory),
    Rule(containers_fit_task_cpu),
    Rule(
        depends_on_known_containers,
        (
            Cel(
                "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d,"
                " self.containerDefinitions.exists(t, t.name == d.containerName)))",
                KNOWN_DEPENDENCY,
            ),
        ),
    ),
    Rule(
        no_self_dependency,
        (
            Cel(
                "!has(self.dependsOn) || self.dependsOn.all(d, d.containerName != self.name)",
                SELF_DEPENDENCY,
                _EACH_CONTAINER,
            ),
        ),
    ),
    Rule(no_dependency_cycles),
    Rule(
        exit_conditions_target_non_essential,
        (
            Cel(
                _cel_dependency_targets(
                    ("COMPLETE", "SUCCESS"), "has(t.essential) && !t.essential"
                ),
                EXIT_CONDITION,
            ),
        ),
    ),
    Rule(
        healthy_condition_needs_health_check,
        (Cel(_cel_dependency_targets(("HEALTHY",), "has(t.healthCheck)"), HEALTHY_CONDITION),),
    ),
    Rule(
        health_check_command,
        (
            Cel(
                "size(self.command) == 0 || self.command[0] in ['CMD', 'CMD-SHELL']",
                HEALTH_CHECK_COMMAND,
                f"{_EACH_CONTAINER}.healthCheck",
            ),
        ),
    ),
    Rule(mount_points_name_volumes),
)

_LAUNCH_TYPE_XOR_CEL = Cel(
    "!has(self.launchType) || !has(self.capacityProviderStrategy)"
    " || size(self.capacityProviderStrategy) == 0",
    LAUNCH_TYPE_XOR,
)
_DISTINCT_INSTANCE_CEL = Cel(
    "self.type != 'distinctInstance' || !has(self.expression) || self.expression == ''",
    DISTINCT_INSTANCE,
    "placementConstraints[]",
)
#: Rules that CreateService and RunTask share.
_PLACEMENT_RULES: tuple[Rule[Any], ...] = (
    Rule(launch_type_xor_strategy, (_LAUNCH_TYPE_XOR_CEL,)),
    Rule(capacity_provider_strategy, _strategy_cel("capacityProviderStrategy")),
    Rule(distinct_instance_without_expression, (_DISTINCT_INSTANCE_CEL,)),
)

SERVICE_RULES: tuple[Rule[ServiceSpec], ...] = (
    *_PLACEMENT_RULES,
    Rule(
        desired_count_by_scheduling_strategy,
        (
            Cel(f"!({_CEL_DAEMON}) || !has(self.desiredCount)", DAEMON_COUNT),
            Cel(f"({_CEL_DAEMON}) || has(self.desiredCount)", REPLICA_COUNT),
        ),
    ),
    Rule(
        daemon_limits,
        tuple(Cel(f"!({_CEL_DAEMON}) || ({ok})", why) for _, why, ok, _ in DAEMON_LIMITS),
    ),
    Rule(
        task_definition_required,
        (
            Cel(
                "has(self.taskDefinition) || (has(self.deploymentController)"
                " && has(self.deploymentController.type)"
                " && self.deploymentController.type == 'EXTERNAL')",
                TASK_DEFINITION_REQUIRED,
            ),
        ),
    ),
    Rule(
        rollback_needs_ecs_controller,
        (
            Cel(
                "!has(self.deploymentController) || !has(self.deploymentController.type)"
                " || self.deploymentController.type == 'ECS'"
                " || !has(self.deploymentConfiguration)"
                " || (!has(self.deploymentConfiguration.deploymentCircuitBreaker)"
                " && !has(self.deploymentConfiguration.alarms))",
                ECS_CONTROLLER,
            ),
        ),
    ),
    Rule(
        deployment_strategy_settings,
        tuple(
            Cel(
                _strategy_settings_cel(*entry),
                strategy_setting_message(*entry),
                "deploymentConfiguration",
            )
            for entry in STRATEGY_SETTINGS
        ),
    ),
    Rule(
        managed_tags_need_propagate_tags,
        (
            Cel(
                "!has(self.enableECSManagedTags) || !self.enableECSManagedTags"
                " || has(self.propagateTags)",
                MANAGED_TAGS,
            ),
        ),
    ),
    Rule(
        load_balancer_target,
        (
            Cel(
                "has(self.targetGroupArn) != has(self.loadBalancerName)",
                LOAD_BALANCER,
                "loadBalancers[]",
            ),
        ),
    ),
    Rule(
        tasks_per_service_quota,
        (
            Cel(
                f"!has(self.desiredCount) || self.desiredCount <= {TASKS_PER_SERVICE}",
                tasks_per_service("desiredCount"),
            ),
            Cel(
                f"self.maxCapacity <= {TASKS_PER_SERVICE}",
                tasks_per_service("autoScaling.maxCapacity"),
                "autoScaling",
            ),
        ),
    ),
    Rule(
        auto_scaling_bounds,
        (Cel("self.minCapacity <= self.maxCapacity", SCALING_BOUNDS, "autoScaling"),),
    ),
    Rule(
        unique_scaling_metrics,
        (ListMapKeys("autoScaling.targetTrackingScalingPolicies", ("predefinedMetricType",)),),
    ),
)

TASK_RULES: tuple[Rule[TaskSpec], ...] = (*_PLACEMENT_RULES, Rule(overrides_size))

CLUSTER_RULES: tuple[Rule[ClusterSpec], ...] = (
    Rule(default_capacity_provider_strategy, _strategy_cel("defaultCapacityProviderStrategy")),
    Rule(
        default_strategy_uses_cluster_providers,
        (
            Cel(
                "!has(self.defaultCapacityProviderStrategy)"
                " || self.defaultCapacityProviderStrategy.all(i, has(self.capacityProviders)"
                " && i.capacityProvider in self.capacityProviders)",
                DEFAULT_STRATEGY_PROVIDERS,
            ),
        ),
    ),
    Rule(
        unique_capacity_provider_definitions,
        (ListMapKeys("capacityProviderDefinitions", ("name",)),),
    ),
    Rule(
        capacity_provider_definitions_listed,
        (
            Cel(
                "!has(self.capacityProviderDefinitions)"
                " || self.capacityProviderDefinitions.all(d, has(self.capacityProviders)"
                " && d.name in self.capacityProviders)",
                DEFINITION_LISTED,
            ),
        ),
    ),
    Rule(
        capacity_provider_definition_names,
        (
            Cel(
                "!self.name.matches('^(?i)(aws|ecs|fargate)')",
                PROVIDER_PREFIX,
                "capacityProviderDefinitions[]",
            ),
        ),
    ),
    Rule(
        container_insights_value,
        (
            Cel(
                "self.name != 'containerInsights' || !has(self.value)"
                " || self.value in ['enhanced', 'enabled', 'disabled']",
                CONTAINER_INSIGHTS,
                "settings[]",
            ),
        ),
    ),
    Rule(
        toleration_exists_without_value,
        (
            Cel(
                "!has(self.operator) || self.operator != 'Exists' || !has(self.value)"
                " || self.value == ''",
                TOLERATION_EXISTS,
                "capacityProviderDefinitions[].tolerations[]",
            ),
        ),
    ),
)
