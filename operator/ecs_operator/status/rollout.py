"""What a Service's spec asks of a deployment (:class:`Rollout`), ECS's deployment circuit
breaker (:class:`CircuitBreaker`, :func:`failure_threshold`), and which task definition runs
after a failure (:func:`running_task_definition`). The plan builds a Rollout from the spec;
status/service.py records failures and rollbacks against it.

A deployment is the spec's task definition and :func:`spec_hash` of the rest of the spec: a
failure recorded in ``status.failedDeployment`` holds while both are what failed, and with
``rollback`` the last COMPLETED task definition runs instead until the spec changes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..api.shapes import DeploymentCircuitBreaker
from ..render.names import json_digest

#: ECS's failure threshold: 50 % of the desired count, at least 3 and at most 200
DEFAULT_THRESHOLD_PERCENT = 50
MIN_THRESHOLD = 3
MAX_THRESHOLD = 200


def failure_threshold(desired: int, kind: str | None = None, value: int | None = None) -> int:
    """How many failed tasks fail a deployment of ``desired`` tasks (ECS's thresholdConfiguration:
    BOUNDED_PERCENT by default, UNBOUNDED_PERCENT, or a COUNT)."""
    amount = DEFAULT_THRESHOLD_PERCENT if value is None else value
    if kind == "COUNT":
        return max(amount, 1)
    failures = math.ceil(desired * amount / 100)
    if kind == "UNBOUNDED_PERCENT":
        return max(failures, 1)
    return min(max(failures, MIN_THRESHOLD), MAX_THRESHOLD)


def deployment_id(service_uid: str, task_definition: str, replaces: str) -> str:
    """A deployment's ECS id, ``ecs-svc/`` and 19 digits, derived from the Service's uid, the
    task definition (``family:revision``) it deploys and the id of the deployment it replaces
    (``""`` for the first). The operator, which starts deployments, and the ECS API, which
    answers UpdateService before the operator has started it, so name the same deployment
    alike (``kubectl ecs describe-services`` and ``aws ecs describe-services`` agree), and a
    return to an earlier task definition is a new deployment with a new id."""
    seed = f"{service_uid}/{task_definition}/{replaces}".encode()
    return f"ecs-svc/{int(hashlib.sha256(seed).hexdigest(), 16) % 10**19:019d}"


@dataclass(frozen=True)
class CircuitBreaker:
    """An enabled deployment circuit breaker."""

    rollback: bool
    threshold: int
    reset_on_healthy: bool = True

    @classmethod
    def of(cls, config: DeploymentCircuitBreaker | None, desired: int) -> CircuitBreaker | None:
        """The breaker of ``deploymentConfiguration.deploymentCircuitBreaker`` (None if off)."""
        if config is None or not config.enable:
            return None
        limits = config.thresholdConfiguration
        threshold = failure_threshold(
            desired, limits.type if limits else None, limits.value if limits else None
        )
        return cls(config.rollback, threshold, config.resetOnHealthyTask is not False)


@dataclass(frozen=True)
class Rollout:
    """What the spec asks for: its task definition (``target``), the rest of the spec as a
    hash (a change is a new deployment), and the circuit breaker."""

    target: str
    spec_hash: str = ""
    breaker: CircuitBreaker | None = None


def spec_hash(spec: Mapping[str, Any]) -> str:
    """The spec without what scaling changes (``desiredCount``, ``autoScaling``): scaling is not
    a new deployment, any other change is."""
    return json_digest({k: v for k, v in spec.items() if k not in ("desiredCount", "autoScaling")})


def failed_deployment(previous: Mapping[str, Any], rollout: Rollout) -> dict[str, Any] | None:
    """The recorded failure, while the spec still asks for what failed."""
    marker = previous.get("failedDeployment")
    if (
        isinstance(marker, dict)
        and marker.get("taskDefinition") == rollout.target
        and marker.get("specHash") == rollout.spec_hash
    ):
        return marker
    return None


def running_task_definition(previous: Mapping[str, Any], rollout: Rollout) -> str:
    """The task definition to render: the last completed one after a rollback, else the
    spec's."""
    marker = failed_deployment(previous, rollout) or {}
    return str(marker.get("rolledBackTo") or rollout.target)
