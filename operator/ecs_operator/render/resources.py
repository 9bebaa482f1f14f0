"""CPU, memory, GPU and ephemeral storage: ECS units to Kubernetes resources.

Container level (always): ``cpu`` units are Docker CPU shares, a soft weight, so they become a
cpu *request* of ceil(units * 1000 / 1024) millicores and no cpu limit (the kubelet turns the
request back into the same shares); on Windows ``cpu`` is a hard cap and becomes the limit too.
``memory`` is the hard limit (the limit), ``memoryReservation`` the soft reservation (the
request); with only ``memory`` set ECS reserves it too, so request = limit.

Task level (``cpu``/``memory``) is a cap on the whole task. With pod-level resources
(Kubernetes 1.34+, beta) it is exactly pod ``spec.resources``. Without them it is distributed by
the rule in docs/mapping.md ("Resource distribution"). Fargate tasks are first rounded up to the
nearest Fargate size, recorded like EKS's ``CapacityProvisioned`` annotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..api.rules.fargate import FARGATE_TASK_SIZES
from ..api.shapes import ContainerDefinition, RegisterTaskDefinitionRequest, ResourceRequirement
from ..quantity import parse_quantity
from .context import RenderContext
from .findings import Report

Resources = dict[str, dict[str, str]]

GPU_RESOURCE = "nvidia.com/gpu"
NEURON_RESOURCE = "aws.amazon.com/neuron"
MIB_PER_GIB = 1024


def millicores(units: int) -> int:
    """ECS cpu units (1024 per vCPU) to Kubernetes millicores, rounded up."""
    return -(-units * 1000 // 1024)


def cpu_quantity(units: int) -> str:
    """``256`` -> ``"250m"``."""
    return f"{millicores(units)}m"


def _mib(amount: int) -> str:
    return f"{amount}Mi"


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


def new_resources() -> Resources:
    """An empty requests/limits pair (empty parts are dropped when the container is built)."""
    return {"requests": {}, "limits": {}}


def container_resources(
    cd: ContainerDefinition, path: str, windows: bool, report: Report
) -> Resources:
    """The container's own cpu/memory/accelerator resources (before task-level distribution)."""
    res = new_resources()
    cpu, memory = _positive(cd.cpu), _positive(cd.memory)
    if cpu:
        res["requests"]["cpu"] = cpu_quantity(cpu)
        if windows:
            res["limits"]["cpu"] = cpu_quantity(cpu)
    if memory:
        res["limits"]["memory"] = _mib(memory)
    reserve = _positive(cd.memoryReservation) or memory
    if reserve:
        res["requests"]["memory"] = _mib(reserve)
    for j, req in enumerate(cd.resourceRequirements or ()):
        _accelerator(req, f"{path}.resourceRequirements[{j}]", res, report)
    return res


def _accelerator(req: ResourceRequirement, path: str, res: Resources, report: Report) -> None:
    if req.type == "InferenceAccelerator":
        report.unsupported(path, "Elastic Inference accelerators are retired; nothing rendered")
        return
    resource = GPU_RESOURCE if req.type == "GPU" else NEURON_RESOURCE
    if req.sharingStrategy is not None:
        report.approx(
            path + ".sharingStrategy",
            "GPU sharing (NVIDIA MPS) is device-plugin configuration on Kubernetes nodes; "
            "one shared GPU is requested",
        )
        res["limits"][resource] = "1"
    elif req.value is not None and req.value.isdigit() and int(req.value) > 0:
        res["limits"][resource] = req.value
    else:
        report.unsupported(
            path + ".value",
            f"{req.value!r} {req.type}: Kubernetes needs a whole number of {resource}",
        )


@dataclass(frozen=True, slots=True)
class TaskSize:
    """The task's cpu units and memory MiB, either of which may be absent on EC2."""

    cpu: int | None
    memory: int | None


def fargate_size(cpu: int, memory: int) -> tuple[int, int] | None:
    """The smallest Fargate size with at least ``cpu`` units and ``memory`` MiB, if any."""
    for size_cpu, mems in FARGATE_TASK_SIZES.items():
        if size_cpu < cpu or mems[-1] < memory:
            continue
        return size_cpu, next(m for m in mems if m >= memory)
    return None


def capacity_provisioned(size: TaskSize) -> str:
    """EKS's ``CapacityProvisioned`` wording: ``"0.25vCPU 0.5GB"``."""
    return f"{(size.cpu or 0) / 1024:g}vCPU {(size.memory or 0) / MIB_PER_GIB:g}GB"


def _declared(td: RegisterTaskDefinitionRequest) -> TaskSize:
    return TaskSize(
        int(td.cpu) if td.cpu is not None else None,
        int(td.memory) if td.memory is not None else None,
    )


def task_size(td: RegisterTaskDefinitionRequest, ctx: RenderContext, report: Report) -> TaskSize:
    """The task size to enforce: as declared, or on Fargate rounded up to a Fargate size
    (derived from the containers' own sizes when the task declares none)."""
    declared = _declared(td)
    if not ctx.placement.is_fargate:
        return declared
    defs = td.containerDefinitions
    cpu = declared.cpu or sum(c.cpu or 0 for c in defs)
    memory = declared.memory or sum(c.memory or c.memoryReservation or 0 for c in defs)
    rounded = fargate_size(cpu, memory)
    if rounded is None:
        report.unsupported(
            "cpu", f"no Fargate size holds {cpu} cpu units and {memory} MiB; not rounded"
        )
        return TaskSize(cpu or None, memory or None)
    if rounded != (declared.cpu, declared.memory):
        report.approx(
            "cpu" if declared.cpu is not None else "memory",
            f"not a Fargate size ({cpu} cpu units, {memory} MiB): rounded up to "
            f"{rounded[0]} cpu units, {rounded[1]} MiB",
        )
    return TaskSize(*rounded)


def pod_resources(size: TaskSize) -> Resources:
    """Task size as pod-level ``spec.resources``: request = limit, the whole task's cap."""
    res = new_resources()
    if size.cpu:
        res["requests"]["cpu"] = res["limits"]["cpu"] = cpu_quantity(size.cpu)
    if size.memory:
        res["requests"]["memory"] = res["limits"]["memory"] = _mib(size.memory)
    return res


def _split(total: int, parts: int) -> list[int]:
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def _proportional(weights: list[int], total: int) -> list[int]:
    """``total`` split in proportion to ``weights``, exactly (largest remainders get the rest)."""
    whole = sum(weights)
    shares = [w * total // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: -(weights[i] * total % whole))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _amount(quantity: str) -> Decimal:
    """A quantity this module wrote (``250m``, ``512Mi``, ``20Gi``, ``1``), in base units."""
    amount = parse_quantity(quantity)
    if amount is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    return amount


def _in_units(quantity: str, unit: str) -> int:
    """A quantity this module wrote, as a whole number of ``unit`` (``m``, ``Mi``)."""
    return int(_amount(quantity) / _amount(f"1{unit}"))


def _distribute(
    resources: list[Resources], total: int, kind: str, unit: str, proportional: bool
) -> int:
    """Give containers without a ``kind`` request an even share of what the task has left;
    when all have one and ``proportional``, scale them so they add up to the task. Returns
    what is left unassigned."""
    requests = [res["requests"] for res in resources]
    given = [_in_units(req[kind], unit) for req in requests if kind in req]
    missing = [req for req in requests if kind not in req]
    surplus = total - sum(given)
    if surplus <= 0 or not resources:
        return 0
    if missing:
        for req, share in zip(missing, _split(surplus, len(missing)), strict=True):
            if share > 0:
                req[kind] = f"{share}{unit}"
        return 0
    if not proportional:
        return surplus
    for res, share in zip(resources, _proportional(given, total), strict=True):
        if kind in res["limits"]:
            share = min(share, _in_units(res["limits"][kind], unit))
        res["requests"][kind] = f"{max(share, 1)}{unit}"
    return 0


def distribute(size: TaskSize, resources: list[Resources], report: Report) -> None:
    """Spread the task size over the containers (docs/mapping.md, "Resource distribution").

    Requests: containers keep their own; the task's remainder goes evenly to containers without
    one (cpu: proportionally to all when every container has cpu, keeping the relative shares).
    Limits: a container without its own limit is capped at the task size, as a lone container
    in an ECS task may use the whole task. Run-to-completion init containers are not given a
    share (see :func:`whole_task`).
    """
    if size.cpu:
        task_milli = millicores(size.cpu)
        _distribute(resources, task_milli, "cpu", "m", proportional=True)
        for res in resources:
            res["limits"].setdefault("cpu", f"{task_milli}m")
    if size.memory:
        left = _distribute(resources, size.memory, "memory", "Mi", proportional=False)
        for res in resources:
            res["limits"].setdefault("memory", _mib(size.memory))
        if left:
            report.approx(
                "memory",
                f"the task reserves {left} MiB more than its containers; Kubernetes schedules "
                "by the containers' requests (pod-level resources keep the task size)",
            )
    if len(resources) > 1 and (size.cpu or size.memory):
        report.approx(
            "cpu" if size.cpu else "memory",
            "the task size caps all containers together; without pod-level resources each "
            "container is capped at the task size and the task size is split into requests",
        )


def clamp_requests(res: Resources, path: str, report: Report) -> None:
    """Kubernetes refuses a request above its limit; ECS refuses it too (a reservation above
    the task size), so this only guards input that bypassed validation."""
    for kind, limit in res["limits"].items():
        request = res["requests"].get(kind)
        if request is not None and _amount(request) > _amount(limit):
            res["requests"][kind] = limit
            report.approx(path, f"the {kind} request exceeds the task's {kind}; capped at {limit}")


def whole_task(size: TaskSize, res: Resources) -> None:
    """A run-to-completion init container runs before the others, alone: it may use the whole
    task (and requests it, which adds nothing: a pod requests the larger of its largest init
    container and the sum of the others)."""
    for kind, amount in (
        ("cpu", size.cpu and f"{millicores(size.cpu)}m"),
        ("memory", size.memory and _mib(size.memory)),
    ):
        if amount:
            res["requests"].setdefault(kind, amount)
            res["limits"].setdefault(kind, amount)


def ephemeral_storage(size_gib: int, res: Resources) -> None:
    """The task's ephemeral storage on one container: the kubelet evicts a pod whose total
    use exceeds the sum of its containers' limits, so one container's limit caps the task."""
    res["requests"]["ephemeral-storage"] = res["limits"]["ephemeral-storage"] = f"{size_gib}Gi"


_RESOURCE_ORDER = {"cpu": 0, "memory": 1, "ephemeral-storage": 2}


def compact(res: Resources) -> dict[str, Any]:
    """Drop the empty parts of a requests/limits pair; cpu, memory, storage first."""
    return {
        part: dict(sorted(values.items(), key=lambda kv: (_RESOURCE_ORDER.get(kv[0], 3), kv[0])))
        for part, values in res.items()
        if values
    }
