"""The rules of task definitions that require FARGATE, and whether one can run on Fargate.

Fargate gives every task its own network interface and a fixed cpu/memory size, and refuses
host access. [model doc] sections 7.2 to 7.4. ``fargate_incompatibilities`` runs the same
rules on a task definition that requires nothing, as ECS does when it decides its
``compatibilities`` (a Service or Task on Fargate capacity needs a compatible one).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Violation
from ..models import TaskDefinitionSpec
from ..providers import FARGATE
from .common import Cel, Registry

_registry = Registry[TaskDefinitionSpec]()

#: CEL that holds when the task definition requires FARGATE.
CEL_FARGATE = "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities"


def requires_fargate(td: TaskDefinitionSpec) -> bool:
    """Whether ``requiresCompatibilities`` lists FARGATE."""
    return FARGATE in (td.requiresCompatibilities or [])


def _is_set(value: object) -> bool:
    """Whether a parameter is in use: present and not false or empty."""
    return value is not None and value is not False and value != [] and value != ""


def _lookup(obj: object, dotted: str) -> object:
    """``_lookup(container, "linuxParameters.devices")``; None where a level is absent."""
    for name in dotted.split("."):
        obj = getattr(obj, name, None)
    return obj


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


@_registry.rule(
    *(
        Cel(
            f"!({CEL_FARGATE}) || !has(self.{field}) || self.{field}.all(x, {unset})",
            not_on_fargate(f"{field}[].{parameter}"),
            field=f".{field}",
        )
        for field, parameter, unset in NOT_ON_FARGATE
    )
)
def fargate_unsupported_parameters(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate refuses privileged containers, devices, shared memory size, Docker security
    options, Docker volumes and host paths. [model doc] ContainerDefinition.privileged,
    LinuxParameters.devices/.sharedMemorySize, .dockerSecurityOptions, Volume (7.4)."""
    if not requires_fargate(td):
        return []
    return [
        Violation(f"{field}[{i}].{parameter}", not_on_fargate(f"{field}[].{parameter}"))
        for field, parameter, _ in NOT_ON_FARGATE
        for i, item in enumerate(getattr(td, field) or [])
        if _is_set(_lookup(item, parameter))
    ]


FARGATE_NAMESPACES = not_on_fargate("ipcMode, or a pidMode other than task")


@_registry.rule(
    Cel(f"!({CEL_FARGATE}) || !has(self.ipcMode)", FARGATE_NAMESPACES, field=".ipcMode"),
    Cel(
        f"!({CEL_FARGATE}) || !has(self.pidMode) || self.pidMode == 'task'",
        FARGATE_NAMESPACES,
        field=".pidMode",
    ),
)
def fargate_namespaces(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate shares no IPC namespace and only the task's PID namespace. [model doc]
    RegisterTaskDefinitionRequest.ipcMode/.pidMode (7.4)."""
    if not requires_fargate(td):
        return []
    found = [Violation("ipcMode", FARGATE_NAMESPACES)] if td.ipcMode else []
    if td.pidMode not in (None, "task"):
        found.append(Violation("pidMode", FARGATE_NAMESPACES))
    return found


FARGATE_AWSVPC = "Fargate tasks (requiresCompatibilities FARGATE) need networkMode awsvpc"


@_registry.rule(
    Cel(
        f"!({CEL_FARGATE}) || (has(self.networkMode) && self.networkMode == 'awsvpc')",
        FARGATE_AWSVPC,
        field=".networkMode",
    )
)
def fargate_requires_awsvpc(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate gives every task its own network interface. [model doc]
    RegisterTaskDefinitionRequest.networkMode (7.3)."""
    if requires_fargate(td) and td.networkMode != "awsvpc":
        return [Violation("networkMode", FARGATE_AWSVPC)]
    return []


FARGATE_SIZE = "Fargate tasks (requiresCompatibilities FARGATE) need task-level cpu and memory"


@_registry.rule(
    *(
        Cel(f"!({CEL_FARGATE}) || has(self.{field})", FARGATE_SIZE, field=f".{field}")
        for field in ("cpu", "memory")
    )
)
def fargate_requires_task_size(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate sizes the task, not the containers. [model doc] RegisterTaskDefinitionRequest
    .cpu/.memory (7.2)."""
    if not requires_fargate(td):
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


def _memory_allowed(cpu: str, choices: str) -> str:
    """The refusal of a Fargate cpu's memory: the operator's words, and (given CEL
    expressions) the API server's."""
    return f"Fargate task cpu {cpu} allows memory {choices} (MiB)"


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

_CEL_NUMERIC = "string(self.{0}).matches('^[1-9][0-9]*$')"


def _cel_fargate_cpu() -> str:
    """CEL for a Fargate cpu value, checked when it is a plain number (as below)."""
    cpus = ", ".join(f"'{c}'" for c in FARGATE_TASK_SIZES)
    return (
        f"!({CEL_FARGATE}) || !has(self.cpu) || !{_CEL_NUMERIC.format('cpu')}"
        f" || string(self.cpu) in [{cpus}]"
    )


def _cel_fargate_combinations() -> str:
    """CEL for the Fargate table, checked when both values are plain numbers ("1 vCPU" and
    "2GB" forms are left to the operator, which normalises them) and the cpu is a Fargate one
    (else the rule above says so)."""
    pairs = ", ".join(f"'{c}:{m}'" for c, ms in FARGATE_TASK_SIZES.items() for m in ms)
    cpus = ", ".join(f"'{c}'" for c in FARGATE_TASK_SIZES)
    return (
        f"!({CEL_FARGATE}) || !has(self.cpu) || !has(self.memory)"
        f" || !{_CEL_NUMERIC.format('cpu')} || !{_CEL_NUMERIC.format('memory')}"
        f" || !(string(self.cpu) in [{cpus}])"
        f" || (string(self.cpu) + ':' + string(self.memory)) in [{pairs}]"
    )


def _cel_fargate_memory_allowed() -> str:
    """CEL naming the one row of the table a refused memory is held to (the rule above holds
    only for a cpu in the table)."""
    choices = ", ".join(
        f"'{cpu}': '{_memory_choices(sizes)}'" for cpu, sizes in FARGATE_TASK_SIZES.items()
    )
    # the operator's words, with CEL's values spliced into the quoted string
    cpu = "' + string(self.cpu) + '"
    memory = "' + {" + choices + "}[string(self.cpu)] + '"
    return "'" + _memory_allowed(cpu, memory) + "'"


@_registry.rule(
    Cel(_cel_fargate_cpu(), FARGATE_CPU, field=".cpu"),
    Cel(
        _cel_fargate_combinations(),
        FARGATE_COMBINATION,
        field=".memory",
        message_expression=_cel_fargate_memory_allowed(),
    ),
)
def fargate_task_size(td: TaskDefinitionSpec) -> list[Violation]:
    """Fargate offers fixed cpu/memory combinations. [model doc]
    RegisterTaskDefinitionRequest.memory (7.2)."""
    if not requires_fargate(td) or td.cpu is None or td.memory is None:
        return []
    cpu, memory = int(td.cpu), int(td.memory)
    if cpu not in FARGATE_TASK_SIZES:
        return [Violation("cpu", FARGATE_CPU)]
    allowed = FARGATE_TASK_SIZES[cpu]
    if memory in allowed:
        return []
    return [Violation("memory", _memory_allowed(str(cpu), _memory_choices(allowed)))]


#: The rules of a task definition that requires FARGATE, in order.
FARGATE_RULES = _registry.rules


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
    return [v for rule in FARGATE_RULES for v in rule.check(as_fargate)]
