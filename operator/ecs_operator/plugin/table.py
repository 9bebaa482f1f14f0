"""The aws CLI's JSON shapes (``views``) as tables for people: ``kubectl ecs``'s default output.

Each function takes exactly what ``-o json`` would print, so the two outputs cannot disagree:
the table is a projection of the JSON, never a second reading of the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ecs_operator.api.identifiers import short_name

Body = dict[str, Any]

#: How many of a service's events the table shows (the status keeps the last 10).
LAST_EVENTS = 5
NONE = "-"


def grid(headers: Sequence[str], rows: Iterable[Sequence[object]], indent: str = "") -> str:
    """Left-aligned columns, two spaces apart, like ``kubectl get``."""
    cells = [list(headers), *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(indent + line.rstrip() for line in lines)


def _cell(value: object) -> str:
    if value is None or value == "" or value == []:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def short_task_definition(arn: str | None) -> str | None:
    """``family:revision`` out of a task definition ARN (a short reference stays as it is)."""
    return short_name(arn) if arn else arn


def _launch(item: Body) -> str | None:
    strategy = item.get("capacityProviderStrategy") or []
    return item.get("launchType") or ",".join(s["capacityProvider"] for s in strategy) or None


def _failures(described: Body) -> list[str]:
    failures = described.get("failures") or []
    if not failures:
        return []
    return ["", "Failures:", grid(["ARN", "REASON"], ([f["arn"], f["reason"]] for f in failures))]


def services(described: Body) -> str:
    """describe-services: one row per service, then each one's deployments and last events."""
    items = described.get("services") or []
    parts = [
        grid(
            ["SERVICE", "STATUS", "DESIRED", "RUNNING", "PENDING", "TASK DEFINITION", "LAUNCH"],
            (
                [
                    s["serviceName"],
                    "DEGRADED" if _degraded(s) else s.get("status"),
                    s.get("desiredCount"),
                    s.get("runningCount"),
                    s.get("pendingCount"),
                    short_task_definition(s.get("taskDefinition")),
                    _launch(s),
                ]
                for s in items
            ),
        )
    ]
    for service in items:
        parts += _service_details(service)
    return "\n".join(parts + _failures(described))


def _degraded(service: Body) -> Body | None:
    """The service's Degraded condition when it is True (not while it is being deleted)."""
    if service.get("status") == "DRAINING":
        return None
    conditions = service.get("conditions") or []
    return next((c for c in conditions if c["type"] == "Degraded" and c["status"] == "True"), None)


def _service_details(service: Body) -> list[str]:
    name = service["serviceName"]
    parts = [""]
    degraded = _degraded(service)
    if degraded:
        parts.append(f"{name}: Degraded ({degraded.get('reason')}): {degraded.get('message')}")
    parts.append(f"{name}: deployments")
    parts.append(
        grid(
            ["ID", "STATUS", "TASK DEFINITION", "DESIRED", "RUNNING", "PENDING", "ROLLOUT"],
            (
                [
                    d.get("id"),
                    d.get("status"),
                    short_task_definition(d.get("taskDefinition")),
                    d.get("desiredCount"),
                    d.get("runningCount"),
                    d.get("pendingCount"),
                    d.get("rolloutState"),
                ]
                for d in service.get("deployments") or []
            ),
            indent="  ",
        )
    )
    events = (service.get("events") or [])[:LAST_EVENTS]
    parts.append(f"{name}: last events")
    parts += [f"  {e.get('createdAt', NONE)}  {e.get('message', '')}" for e in events] or [
        f"  {NONE}"
    ]
    return parts


def tasks(described: Body) -> str:
    rows = (
        [
            t["taskId"],
            t.get("group"),
            t.get("lastStatus"),
            t.get("desiredStatus"),
            short_task_definition(t.get("taskDefinitionArn")),
            t.get("capacityProviderName") or t.get("launchType"),
            t.get("cpu"),
            t.get("memory"),
            t.get("startedAt"),
            t.get("stopCode"),
        ]
        for t in described.get("tasks") or []
    )
    headers = ["TASK", "GROUP", "LAST STATUS", "DESIRED", "TASK DEFINITION", "CAPACITY"]
    table = grid([*headers, "CPU", "MEMORY", "STARTED", "STOP CODE"], rows)
    return "\n".join([table, *_failures(described)])


def task_definition(described: Body) -> str:
    td = described["taskDefinition"]
    head = grid(
        ["FAMILY", "REVISION", "STATUS", "COMPATIBILITIES", "CPU", "MEMORY", "NETWORK MODE"],
        [
            [
                td["family"],
                td["revision"],
                td.get("status"),
                td.get("requiresCompatibilities") or td.get("compatibilities"),
                td.get("cpu"),
                td.get("memory"),
                td.get("networkMode"),
            ]
        ],
    )
    containers = grid(
        ["NAME", "IMAGE", "ESSENTIAL", "CPU", "MEMORY", "PORTS"],
        (
            [
                c["name"],
                c.get("image"),
                c.get("essential", True),
                c.get("cpu"),
                c.get("memory") or c.get("memoryReservation"),
                [p.get("containerPort") for p in c.get("portMappings") or []],
            ]
            for c in td.get("containerDefinitions") or []
        ),
        indent="  ",
    )
    return "\n".join([head, "", "containers", containers])


def clusters(described: Body) -> str:
    rows = []
    for c in described.get("clusters") or []:
        stats = {s["name"]: s["value"] for s in c.get("statistics") or []}
        ec2, fargate = stats.get("runningEC2TasksCount"), stats.get("runningFargateTasksCount")
        rows.append(
            [
                c["clusterName"],
                c.get("status"),
                c.get("activeServicesCount"),
                c.get("runningTasksCount"),
                c.get("pendingTasksCount"),
                c.get("registeredContainerInstancesCount"),
                f"{ec2 or 0}/{fargate or 0}",
                c.get("capacityProviders"),
            ]
        )
    headers = ["CLUSTER", "STATUS", "SERVICES", "RUNNING", "PENDING", "INSTANCES"]
    table = grid([*headers, "RUNNING EC2/FARGATE", "CAPACITY PROVIDERS"], rows)
    return "\n".join([table, *_failures(described)])


def arns(listed: Body, key: str) -> str:
    """list-services / list-tasks: one ARN per line."""
    return "\n".join(listed.get(key) or [])
