"""ECS value types looser than botocore's model, normalised on the way in.

ECS accepts a task's ``cpu`` as ``256``, ``"256"``, ``"1 vCPU"`` or ``".25 vCPU"`` and its
``memory`` as ``512``, ``"512"`` (MiB) or ``"1GB"``; describe-task-definition returns the
normalised string of units / MiB. We store that same normalised form.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

#: ECS's integers are 32-bit (the model's ``integer`` shapes; tools/gen_shapes.py bounds them).
ECS_INTEGER_MAX = 2**31 - 1
CPU_UNITS_PER_VCPU = 1024
MIB_PER_GB = 1024

_VCPU = re.compile(r"^\s*(\d*\.?\d+)\s*vcpus?\s*$", re.IGNORECASE)
_GB = re.compile(r"^\s*(\d*\.?\d+)\s*gb\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*(\d+)\s*$")
#: The longest cpu or memory string taken ("0.25 vCPU" is 9): a bound for the CRD schema too.
MAX_LENGTH = 32


def _whole(amount: Decimal, what: str, raw: object) -> str:
    if amount != amount.to_integral_value() or amount <= 0:
        raise ValueError(f"{raw!r} is not a whole positive number of {what}")
    return str(int(amount))


def _scaled(raw: object, unit: re.Pattern[str], factor: int, what: str, example: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"must be a number or a string such as {example}")
    text = str(raw)
    if len(text) > MAX_LENGTH:
        raise ValueError(f"must be at most {MAX_LENGTH} characters, such as {example}")
    try:
        if plain := _NUMBER.match(text):
            return _whole(Decimal(plain.group(1)), what, raw)
        if scaled := unit.match(text):
            return _whole(Decimal(scaled.group(1)) * factor, what, raw)
    except InvalidOperation:
        pass
    raise ValueError(f"{raw!r} is not a valid ECS value: use {example}")


def normalise_cpu(raw: object) -> str:
    """``256`` / ``"256"`` / ``"0.25 vCPU"`` -> ``"256"`` (CPU units, 1024 per vCPU)."""
    return _scaled(raw, _VCPU, CPU_UNITS_PER_VCPU, "CPU units", '256, "256" or "1 vCPU"')


def normalise_memory(raw: object) -> str:
    """``512`` / ``"512"`` / ``"1GB"`` -> MiB as a string."""
    return _scaled(raw, _GB, MIB_PER_GB, "MiB", '512, "512" or "1GB"')


_INT_OR_STRING = {
    "x-kubernetes-int-or-string": True,
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "maxLength": MAX_LENGTH,
}

TaskCpu = Annotated[
    str,
    BeforeValidator(normalise_cpu),
    WithJsonSchema(
        {**_INT_OR_STRING, "description": 'Task CPU units: 256, "256", "1 vCPU", ".25 vCPU".'}
    ),
]
TaskMemory = Annotated[
    str,
    BeforeValidator(normalise_memory),
    WithJsonSchema({**_INT_OR_STRING, "description": 'Task memory in MiB: 512, "512", "1GB".'}),
]
