"""Building and applying ECS custom resources in tests, and reading their status."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.support.kube import Kube, kubectl, wait_for

GROUP, VERSION = "ecs-operator.dev", "v1alpha1"
#: With a health check, ECS counts a task healthy once it passes (on the devcluster: at once);
#: without one it waits 40 s (minReadySeconds), which would only slow the tests down.
HEALTH_CHECK = {"command": ["CMD-SHELL", "true"]}
PLURALS = {
    "TaskDefinition": "taskdefinitions",
    "Service": "services",
    "Task": "tasks",
    "Cluster": "clusters",
    "ScheduledTask": "scheduledtasks",
}


def resource(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name, **metadata},
        "spec": spec,
    }


def fargate_task_definition(
    family: str, image: str = "public.ecr.aws/nginx/nginx:1.27", **extra: Any
) -> dict[str, Any]:
    spec = {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": image,
                "essential": True,
                "portMappings": [{"containerPort": 80}],
                "healthCheck": HEALTH_CHECK,
            }
        ],
        **extra,
    }
    return resource("TaskDefinition", family.lower().replace("_", "-"), spec)


def ec2_task_definition(family: str, image: str = "busybox:1.36", **extra: Any) -> dict[str, Any]:
    spec = {
        "family": family,
        "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [
            {"name": "app", "image": image, "memory": 128, "cpu": 128, "healthCheck": HEALTH_CHECK}
        ],
        **extra,
    }
    return resource("TaskDefinition", family.lower().replace("_", "-"), spec)


def service(name: str, task_definition: str, **spec: Any) -> dict[str, Any]:
    return resource(
        "Service", name, {"serviceName": name, "taskDefinition": task_definition, **spec}
    )


def apply(namespace: str, *objects: dict[str, Any]) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects))


def get(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURALS[kind], name
    )
    return found


def status(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return get(kube, namespace, kind, name).get("status") or {}


def condition(obj_status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in obj_status.get("conditions") or [] if c["type"] == kind), {})


def wait_steady(
    kube: Kube, namespace: str, name: str, count: int, timeout: float = 90
) -> dict[str, Any]:
    """Wait for an ECS Service to report ``count`` running tasks and Ready=True."""

    def steady() -> dict[str, Any] | None:
        current = status(kube, namespace, "Service", name)
        ready = condition(current, "Ready").get("status") == "True"
        return current if ready and current.get("runningCount") == count else None

    return wait_for(steady, timeout, f"service {name} steady with {count} tasks")


def events(namespace: str, name: str) -> list[str]:
    listed = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    return [e["message"] for e in listed if e["involvedObject"]["name"] == name]
