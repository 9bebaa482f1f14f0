"""``terraform show -json`` output (a state or a plan): the ``aws_ecs_task_definition``,
``aws_ecs_service`` and ``aws_ecs_cluster`` resources as ECS requests.

The AWS provider's attributes are ECS's members in snake_case, its nested blocks lists of one
object; a few are shaped differently (``container_definitions`` is the JSON string of the
containers, ``volume`` is ``volumes``, ``network_configuration`` is the
``awsvpcConfiguration`` with ``assign_public_ip`` a boolean, the deployment percentages sit on
the service, ``tags`` is a map). What the provider adds that no ECS request has (``arn``,
``revision``, ``tags_all``, ``wait_for_steady_state``...) is left out and named in a note, so
nothing is dropped unsaid.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..api.identifiers import short_name

#: resource type -> (kind, the attribute naming the object, its ECS member)
KINDS = {
    "aws_ecs_task_definition": ("TaskDefinition", "family"),
    "aws_ecs_service": ("Service", "name"),
    "aws_ecs_cluster": ("Cluster", "name"),
}
NAME_MEMBERS = {"TaskDefinition": "family", "Service": "serviceName", "Cluster": "clusterName"}
#: attributes of the provider's own, or ECS's output, that no request takes
PROVIDER_ONLY = frozenset(
    {
        "arn", "arn_without_revision", "revision", "id", "tags_all", "skip_destroy",
        "track_latest", "force_new_deployment", "wait_for_steady_state", "triggers",
        "force_delete", "region",
    }
)  # fmt: skip
#: attribute -> ECS member, where the member is not the attribute in camelCase
RENAMED = {
    "volume": "volumes",
    "configure_at_launch": "configuredAtLaunch",
    "load_balancer": "loadBalancers",
    "ordered_placement_strategy": "placementStrategy",
    "service_registries": "serviceRegistries",
    "capacity_provider_strategy": "capacityProviderStrategy",
    "default_capacity_provider_strategy": "defaultCapacityProviderStrategy",
    "setting": "settings",
    "elb_name": "loadBalancerName",
    "iam_role": "role",
    "enable_ecs_managed_tags": "enableECSManagedTags",
    "host_path": "host",
    "efs_volume_configuration": "efsVolumeConfiguration",
    "fsx_windows_file_server_volume_configuration": "fsxWindowsFileServerVolumeConfiguration",
    "docker_volume_configuration": "dockerVolumeConfiguration",
}
#: blocks the provider nests as a list of at most one object, which ECS has as an object
SINGLE_BLOCKS = frozenset(
    {
        "runtime_platform", "proxy_configuration", "ephemeral_storage", "deployment_controller",
        "deployment_circuit_breaker", "efs_volume_configuration", "authorization_config",
        "docker_volume_configuration", "fsx_windows_file_server_volume_configuration",
        "service_connect_configuration", "configuration", "execute_command_configuration",
        "log_configuration", "alarms", "service_connect_defaults", "inference_accelerator",
    }
)  # fmt: skip
#: maps whose keys are the user's
FREE_MAPS = frozenset({"driver_opts", "labels", "properties", "options"})


def is_show_output(data: Any) -> bool:
    """``terraform show -json``: a ``format_version`` and ``values`` or ``planned_values``."""
    return (
        isinstance(data, dict)
        and "format_version" in data
        and ("values" in data or "planned_values" in data)
    )


def _resources(module: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(module, dict):
        return
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _resources(child)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _convert(name: str, value: Any) -> Any:
    if name in FREE_MAPS and isinstance(value, dict):
        return value
    if isinstance(value, list):
        converted = [_convert(name, v) for v in value]
        return (converted[0] if converted else None) if name in SINGLE_BLOCKS else converted
    if isinstance(value, dict):
        return _members(value)
    return value


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def _members(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        converted = _convert(key, value)
        if not _empty(converted):
            out[RENAMED.get(key, _camel(key))] = converted
    return out


def _tags(tags: Any) -> list[dict[str, str]] | None:
    if not isinstance(tags, dict) or not tags:
        return None
    return [{"key": k, "value": v} for k, v in tags.items()]


def _task_definition(values: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in values.items() if k not in ("container_definitions", "tags", "name")}
    body = _members(rest)
    text = values.get("container_definitions")
    body["containerDefinitions"] = json.loads(text) if isinstance(text, str) else text
    for volume in body.get("volumes") or []:
        if isinstance(volume.get("host"), str):  # the provider's host_path is host.sourcePath
            volume["host"] = {"sourcePath": volume["host"]}
    return body


def _service(values: dict[str, Any]) -> dict[str, Any]:
    moved = (
        "network_configuration", "deployment_maximum_percent",
        "deployment_minimum_healthy_percent", "deployment_circuit_breaker", "tags", "alarms",
        "name",
    )  # fmt: skip
    body: dict[str, Any] = {"serviceName": values.get("name")}
    body.update(_members({k: v for k, v in values.items() if k not in moved}))
    network = (values.get("network_configuration") or [None])[0]
    if network:
        vpc = _members(network)
        if isinstance(network.get("assign_public_ip"), bool):
            vpc["assignPublicIp"] = "ENABLED" if network["assign_public_ip"] else "DISABLED"
        body["networkConfiguration"] = {"awsvpcConfiguration": vpc}
    deployment = _members(
        {
            "maximum_percent": values.get("deployment_maximum_percent"),
            "minimum_healthy_percent": values.get("deployment_minimum_healthy_percent"),
            "deployment_circuit_breaker": values.get("deployment_circuit_breaker"),
            "alarms": values.get("alarms"),
        }
    )
    if deployment:
        body["deploymentConfiguration"] = deployment
    if isinstance(body.get("cluster"), str):
        body["cluster"] = short_name(body["cluster"])  # the provider keeps the cluster's ARN
    return body


def _cluster(values: dict[str, Any]) -> dict[str, Any]:
    body = _members({k: v for k, v in values.items() if k not in ("tags", "name")})
    body["clusterName"] = values.get("name")
    return body


BUILDERS = {"TaskDefinition": _task_definition, "Service": _service, "Cluster": _cluster}


def requests(data: dict[str, Any]) -> list[tuple[str, Any, str, list[str]]]:
    """Each ECS resource as (where, ECS request, kind, notes)."""
    root = (data.get("values") or data.get("planned_values") or {}).get("root_module")
    found: list[tuple[str, Any, str, list[str]]] = []
    for resource in _resources(root):
        kind_and_name = KINDS.get(resource.get("type", ""))
        if kind_and_name is None or resource.get("mode", "managed") != "managed":
            continue
        kind, _ = kind_and_name
        values = dict(resource.get("values") or {})
        left_out = sorted(
            k
            for k in values
            if k in PROVIDER_ONLY and not _empty(values[k]) and values[k] is not False
        )
        body = BUILDERS[kind]({k: v for k, v in values.items() if k not in PROVIDER_ONLY})
        tags = _tags(values.get("tags"))
        if tags:
            body["tags"] = tags
        notes = [f"terraform attributes no ECS request has, left out: {', '.join(left_out)}"]
        where = str(resource.get("address", kind))
        found.append((where, body, kind, notes if left_out else []))
    return found
