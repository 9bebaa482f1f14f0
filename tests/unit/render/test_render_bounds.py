"""No integer overflow in rendering: for services, tasks and task definitions at the extremes
the schema allows (issue #12, "Bounds"), every integer of every rendered object fits the field
Kubernetes reads it into: 32-bit everywhere but the few 64-bit fields, and Gt/Lt node-affinity
values parse as 64-bit integers. Percentages times counts (maxSurge), memory in MiB, CPU
units, health check timings, grace periods, an autoscaler's bounds and targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ecs_operator.api import (
    EcsValidationError,
    parse_service,
    parse_task,
    parse_task_definition,
)
from ecs_operator.api.rules.service import TASKS_PER_SERVICE
from ecs_operator.plan import offline_context, plan_service, plan_task
from ecs_operator.render import Options, RenderError
from ecs_operator.render.findings import Report
from ecs_operator.render.memberof import requirement
from ecs_operator.render.strategy import split
from ecs_operator.render.workloads import daemon_update, rolling_update

from .helpers import validate

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: The Kubernetes fields (by member name) that are 64-bit; every other integer is 32-bit.
INT64_FIELDS = frozenset(
    {
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "supplementalGroups",
        "tolerationSeconds",
        "expirationSeconds",
    }
)

settings.register_profile(
    "bounds",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _edges(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in [low, high], the bounds themselves half of the time."""
    return st.sampled_from([low, high]) | st.integers(low, high)


def integers_out_of_range(obj: Any, key: str = "") -> Iterator[tuple[str, int]]:
    """(field, value) of every integer in ``obj`` that its Kubernetes field can't hold."""
    if isinstance(obj, dict):
        for name, value in obj.items():
            yield from integers_out_of_range(value, name)
    elif isinstance(obj, list):
        for value in obj:
            yield from integers_out_of_range(value, key)
    elif isinstance(obj, int) and not isinstance(obj, bool):
        limit = INT64_MAX if key in INT64_FIELDS else INT32_MAX
        if not -limit - 1 <= obj <= limit:
            yield key, obj


def _containers() -> st.SearchStrategy[list[dict[str, Any]]]:
    health = st.fixed_dictionaries(
        {
            "command": st.just(["CMD", "true"]),
            "interval": _edges(5, 300),
            "timeout": _edges(2, 60),
            "retries": _edges(1, 10),
            "startPeriod": _edges(0, 300),
        }
    )
    app = st.fixed_dictionaries(
        # every container sizes its memory, as an EC2 task definition without task-level
        # memory must (ECS refuses it otherwise, and a refused input tests nothing here)
        {"name": st.just("app"), "image": st.just("nginx:1.27"), "memory": _edges(6, INT32_MAX)},
        optional={
            "cpu": _edges(0, INT32_MAX),
            "stopTimeout": _edges(0, INT32_MAX),
            "startTimeout": _edges(0, INT32_MAX),
            "healthCheck": health,
            "user": st.sampled_from([f"{INT32_MAX}:{INT32_MAX}", "4294967295", "0"]),
            "portMappings": st.just([{"containerPort": 65535, "hostPort": 65535}]),
            "ulimits": st.just(
                [{"name": "nofile", "softLimit": INT32_MAX, "hardLimit": INT32_MAX}]
            ),
            "linuxParameters": st.fixed_dictionaries(
                {},
                optional={
                    "sharedMemorySize": _edges(1, INT32_MAX),
                    "tmpfs": st.builds(
                        lambda size: [{"containerPath": "/tmp", "size": size}],
                        _edges(1, INT32_MAX),
                    ),
                    "maxSwap": _edges(0, INT32_MAX),
                    "swappiness": _edges(0, 100),
                },
            ),
        },
    )
    sidecar = st.fixed_dictionaries(
        {
            "name": st.just("sidecar"),
            "image": st.just("busybox"),
            "essential": st.just(False),
            "memoryReservation": _edges(6, INT32_MAX),
        },
        optional={"cpu": _edges(0, INT32_MAX)},
    )
    return st.tuples(app, sidecar).map(list)


def task_definitions() -> st.SearchStrategy[dict[str, Any]]:
    """EC2 task definitions (EC2 allows the largest sizes) with every number at its edges."""
    return st.fixed_dictionaries(
        {"family": st.just("edge"), "containerDefinitions": _containers()},
        optional={
            "cpu": _edges(128, 196608).map(str),
            "memory": _edges(6, INT32_MAX).map(str),
            "ephemeralStorage": st.builds(lambda g: {"sizeInGiB": g}, _edges(21, 200)),
            "placementConstraints": st.builds(
                lambda n: [{"type": "memberOf", "expression": f"attribute:ecs.cpu > {n}"}],
                st.sampled_from([INT64_MAX, -(2**63), 10**30, 2**63]),
            ),
        },
    )


def services() -> st.SearchStrategy[dict[str, Any]]:
    """REPLICA and DAEMON services with every number at its edges."""
    deployment = st.fixed_dictionaries(
        {},
        optional={
            "maximumPercent": _edges(100, INT32_MAX),
            "minimumHealthyPercent": _edges(0, 100),
        },
    )
    policy = st.fixed_dictionaries(
        {
            "predefinedMetricType": st.just("ECSServiceAverageCPUUtilization"),
            "targetValue": st.sampled_from([1e-9, 0.4, 1.0, float(INT32_MAX)])
            | st.floats(1e-9, INT32_MAX),
        },
        optional={
            "scaleInCooldown": _edges(0, INT32_MAX),
            "scaleOutCooldown": _edges(0, INT32_MAX),
        },
    )
    scaling = st.builds(
        lambda low, high, policies: {
            "minCapacity": min(low, high),
            "maxCapacity": max(low, high),
            "targetTrackingScalingPolicies": policies,
        },
        _edges(0, TASKS_PER_SERVICE),
        _edges(0, TASKS_PER_SERVICE),
        st.lists(policy, max_size=1),
    )
    common = {
        "serviceName": st.just("edge"),
        "taskDefinition": st.just("edge"),
        "deploymentConfiguration": deployment,
    }
    grace = {"healthCheckGracePeriodSeconds": _edges(0, INT32_MAX)}
    replica = st.fixed_dictionaries(
        {**common, "desiredCount": _edges(0, TASKS_PER_SERVICE)},
        optional={**grace, "autoScaling": scaling},
    )
    daemon = st.fixed_dictionaries(
        {**common, "schedulingStrategy": st.just("DAEMON")}, optional=grace
    )
    return replica | daemon


def _parsed(parse: Any, data: dict[str, Any]) -> Any:
    try:
        return parse(data)
    except EcsValidationError:
        assume(False)
        raise


def _check(objects: tuple[dict[str, Any], ...]) -> None:
    for obj in objects:
        assert list(integers_out_of_range(obj)) == [], obj["kind"]
        validate(obj)


#: Every number of a service and its task definition at its largest at once.
LARGEST_SERVICE = {
    "serviceName": "edge",
    "taskDefinition": "edge",
    "desiredCount": TASKS_PER_SERVICE,
    "deploymentConfiguration": {"maximumPercent": INT32_MAX, "minimumHealthyPercent": 100},
    "healthCheckGracePeriodSeconds": INT32_MAX,
    "autoScaling": {
        "minCapacity": TASKS_PER_SERVICE,
        "maxCapacity": TASKS_PER_SERVICE,
        "targetTrackingScalingPolicies": [
            {
                "predefinedMetricType": "ECSServiceAverageCPUUtilization",
                "targetValue": float(INT32_MAX),
                "scaleInCooldown": INT32_MAX,
                "scaleOutCooldown": INT32_MAX,
            }
        ],
    },
}
LARGEST_TASK_DEFINITION = {
    "family": "edge",
    "cpu": "196608",
    "memory": str(INT32_MAX),
    "ephemeralStorage": {"sizeInGiB": 200},
    "containerDefinitions": [
        {
            "name": "app",
            "image": "nginx:1.27",
            "cpu": 196608,
            "memory": INT32_MAX,
            "stopTimeout": INT32_MAX,
            "startTimeout": INT32_MAX,
            "user": f"{INT32_MAX}:{INT32_MAX}",
            "healthCheck": {
                "command": ["CMD", "true"],
                "interval": 5,
                "timeout": 60,
                "retries": 10,
                "startPeriod": 300,
            },
            "linuxParameters": {
                "sharedMemorySize": INT32_MAX,
                "tmpfs": [{"containerPath": "/tmp", "size": INT32_MAX}],
            },
        }
    ],
}


@settings(settings.get_profile("bounds"))
@given(service=services(), td=task_definitions())
@example(service=LARGEST_SERVICE, td=LARGEST_TASK_DEFINITION)
@example(
    service={**LARGEST_SERVICE, "schedulingStrategy": "DAEMON", "desiredCount": None,
             "autoScaling": None},
    td=LARGEST_TASK_DEFINITION,
)  # fmt: skip
def test_a_service_at_the_extremes_renders_within_kubernetes_integers(
    service: dict[str, Any], td: dict[str, Any]
) -> None:
    service = {key: value for key, value in service.items() if value is not None}
    svc, definition = _parsed(parse_service, service), _parsed(parse_task_definition, td)
    try:
        plan = plan_service(svc, offline_context(svc, definition, 1, Options(namespace="edge")))
    except RenderError:
        return  # refused with a message naming the field: not an overflow
    _check(plan.objects)


@settings(settings.get_profile("bounds"))
@given(count=_edges(1, 10), td=task_definitions())
def test_a_task_at_the_extremes_renders_within_kubernetes_integers(
    count: int, td: dict[str, Any]
) -> None:
    run = _parsed(parse_task, {"taskDefinition": "edge", "count": count})
    definition = _parsed(parse_task_definition, td)
    try:
        plan = plan_task(run, offline_context(run, definition, 1, Options(namespace="edge")))
    except RenderError:
        return
    _check(plan.objects)


@given(
    desired=_edges(0, TASKS_PER_SERVICE),
    max_percent=_edges(100, INT32_MAX) | st.none(),
    min_healthy=_edges(0, 100) | st.none(),
)
def test_rolling_updates_stay_in_range_and_keep_ecs_bounds(
    desired: int, max_percent: int | None, min_healthy: int | None
) -> None:
    update = rolling_update(desired, max_percent, min_healthy, Report())
    assert 0 <= update["maxSurge"] <= max(desired, 1)
    assert 0 <= update["maxUnavailable"] <= desired
    daemon = daemon_update(max_percent, min_healthy, Report())
    surge = daemon["maxSurge"]
    assert surge in (0, 1) or int(surge.removesuffix("%")) <= 100


@given(
    desired=_edges(0, TASKS_PER_SERVICE),
    first=st.fixed_dictionaries({"base": _edges(0, 100000), "weight": _edges(1, 1000)}),
    others=st.lists(st.fixed_dictionaries({"weight": _edges(0, 1000)}), max_size=19),
)
def test_a_capacity_provider_split_adds_up_to_desired_count(
    desired: int, first: dict[str, int], others: list[dict[str, int]]
) -> None:
    """Valid strategies only (ECS: a base on one provider at most, some weight above 0), so
    that hypothesis spends its examples on the arithmetic, not on refused inputs."""
    items = [first, *others]
    strategy = [{"capacityProvider": f"p{i}", **item} for i, item in enumerate(items)]
    spec = _parsed(
        parse_service,
        {"serviceName": "s", "taskDefinition": "t", "desiredCount": desired,
         "capacityProviderStrategy": strategy},
    )  # fmt: skip
    counts = [n for _, n in split(spec.capacityProviderStrategy, desired)]
    assert sum(counts) == desired
    assert all(0 <= n <= desired for n in counts)


@pytest.mark.parametrize("number", [str(INT64_MAX), str(2**63), "9" * 2000])
def test_a_comparison_beyond_64_bits_is_not_rendered(number: str) -> None:
    """Kubernetes parses Gt/Lt values as 64-bit integers: larger is untranslatable, not a
    Deployment the API server refuses (``>=`` moves the bound by one)."""
    if int(number) - 1 <= INT64_MAX:
        assert requirement(f"attribute:x >= {number}")["values"] == [str(int(number) - 1)]
        return
    with pytest.raises(ValueError, match="64-bit"):
        requirement(f"attribute:x >= {number}")
