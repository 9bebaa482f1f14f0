"""AWS CloudFormation templates: the ``AWS::ECS::TaskDefinition``, ``AWS::ECS::Service`` and
``AWS::ECS::Cluster`` resources as ECS requests, and scheduled ECS tasks
(``AWS::Scheduler::Schedule``, ``AWS::Events::Rule``: ``schedules.py``) as ScheduledTasks.

CloudFormation spells ECS's members in PascalCase (``ContainerDefinitions``); the API's
camelCase is the same name with a lower-case head, but for the few names below
(``PlacementStrategies`` is ``placementStrategy``, ``EFSVolumeConfiguration`` is
``efsVolumeConfiguration``...). The keys of free-form maps (log driver ``Options``,
``DockerLabels``, ``DriverOpts``, ``Labels``) are the user's and stay as written.

Intrinsic functions are resolved where the template says what they are: ``Ref`` to a parameter
(``--parameter NAME=VALUE``, else its ``Default``), to a pseudo parameter
(``AWS::AccountId`` from ``--account-id``, ``AWS::Partition``, ``AWS::URLSuffix``), or to an
ECS resource of the template (a task definition's family, a cluster's or service's name);
``Fn::Sub``, ``Fn::Join``, ``Fn::Select`` over those; ``Fn::ImportValue`` from a
``--parameter`` named like the export; ``Fn::GetAtt`` of an ``AWS::IAM::Role``'s ``Arn``
(with ``--account-id``). Anything else is refused with the property's path, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..api.errors import EcsValidationError, Violation
from ..api.identifiers import role_arn
from . import schedules

#: resource type -> the kind it is
KINDS = {
    "AWS::ECS::TaskDefinition": "TaskDefinition",
    "AWS::ECS::Service": "Service",
    "AWS::ECS::Cluster": "Cluster",
}
#: scheduled ECS tasks: resource type -> its ScheduledTask specs (where, spec, notes)
SCHEDULER_SCHEDULE = "AWS::Scheduler::Schedule"
SCHEDULES = {
    SCHEDULER_SCHEDULE: lambda name, body: [("", *schedules.from_schedule(name, body))],
    "AWS::Events::Rule": schedules.from_rule,
}
#: the member naming each kind's object (CloudFormation generates one when it is absent)
NAME_MEMBERS = {"TaskDefinition": "family", "Service": "serviceName", "Cluster": "clusterName"}
#: CloudFormation property names whose API name is not the same name with a lower-case head
RENAMED = {
    "PlacementStrategies": "placementStrategy",
    "ClusterSettings": "settings",
    "ProxyConfigurationProperties": "properties",
    "EFSVolumeConfiguration": "efsVolumeConfiguration",
    "FSxWindowsFileServerVolumeConfiguration": "fsxWindowsFileServerVolumeConfiguration",
    "IAM": "iam",
    "FilesystemId": "fileSystemId",
}
#: maps whose keys are the user's (log options, labels, driver options), kept as written
FREE_MAPS = frozenset({"Options", "DockerLabels", "DriverOpts", "Labels"})
#: pseudo parameters with a value that does not depend on the stack's account or region
PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


def is_template(data: Any) -> bool:
    """A CloudFormation template: ``Resources`` of typed resources."""
    resources = data.get("Resources") if isinstance(data, dict) else None
    return isinstance(resources, dict) and all(
        isinstance(r, dict) and isinstance(r.get("Type"), str) for r in resources.values()
    )


def _api_name(key: str) -> str:
    return RENAMED.get(key) or (key[:1].lower() + key[1:])


class _Resolver:
    """Intrinsic functions against the template, the user's parameters and account id."""

    def __init__(
        self, template: dict[str, Any], parameters: Mapping[str, str], account_id: str | None
    ) -> None:
        self.resources: dict[str, Any] = template["Resources"]
        self.values: dict[str, Any] = {
            name: _typed(parameters.get(name, (spec or {}).get("Default")), spec or {})
            for name, spec in (template.get("Parameters") or {}).items()
        }
        self.parameters = parameters
        self.account_id = account_id
        self.problems: list[Violation] = []

    def ref(self, name: str, path: str) -> Any:
        if name in self.parameters and name not in self.values:
            return self.parameters[name]
        if name in self.values and self.values[name] is not None:
            return self.values[name]
        if name in self.values:
            return self._unresolved(
                path, f"Ref {name}: the parameter has no Default: give --parameter {name}=VALUE"
            )
        if name == "AWS::AccountId" and self.account_id:
            return self.account_id
        if name in PSEUDO:
            return PSEUDO[name]
        resource = self.resources.get(name) or {}
        kind = KINDS.get(resource.get("Type", ""))
        if kind:
            return object_name(name, resource, kind)
        return self._unresolved(
            path,
            f"Ref {name}: not a parameter or ECS resource of the "
            "template: give --parameter "
            f"{name}=VALUE",
        )

    def get_att(self, target: Any, path: str) -> Any:
        parts = target.split(".", 1) if isinstance(target, str) else list(target)
        joined = ".".join(str(p) for p in parts)
        if joined in self.parameters:
            return self.parameters[joined]
        resource = self.resources.get(parts[0]) or {}
        if resource.get("Type") == "AWS::IAM::Role" and parts[1:] == ["Arn"] and self.account_id:
            role = (resource.get("Properties") or {}).get("RoleName", parts[0])
            if isinstance(role, str):
                return role_arn(role, self.account_id)
        return self._unresolved(path, f"Fn::GetAtt {joined}: give --parameter {joined}=VALUE")

    def _unresolved(self, path: str, why: str) -> None:
        self.problems.append(Violation(path, why))
        return None

    def resolve(self, value: Any, path: str) -> Any:
        """``value`` with its intrinsic functions resolved (None where one is not)."""
        if isinstance(value, list):
            return [self.resolve(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self.ref(str(argument), path)
            if function == "Fn::GetAtt":
                return self.get_att(argument, path)
            if function == "Fn::ImportValue":
                name = self.resolve(argument, path)
                if name in self.parameters:
                    return self.parameters[name]
                return self._unresolved(
                    path, f"Fn::ImportValue {name}: give --parameter {name}=VALUE"
                )
            if function == "Fn::Sub":
                return self._sub(argument, path)
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                parts = self.resolve(argument[1], path)
                if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
                    return str(argument[0]).join(parts)
                return None
            if function == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
                listed = self.resolve(argument[1], path)
                index = int(self.resolve(argument[0], path) or 0)
                return listed[index] if isinstance(listed, list) and index < len(listed) else None
            if function.startswith("Fn::") or function == "Condition":
                return self._unresolved(
                    path, f"{function} is not resolved by convert: replace it with its value"
                )
        return {k: self.resolve(v, f"{path}.{k}") for k, v in value.items()}

    def _sub(self, argument: Any, path: str) -> Any:
        text, names = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        names = self.resolve(names, path)

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in names:
                return str(names[name])
            found = self.get_att(name, path) if "." in name else self.ref(name, path)
            return "" if found is None else str(found)

        return _SUB.sub(value, text)


def _typed(value: Any, spec: Mapping[str, Any]) -> Any:
    """A parameter's value as its ``Type`` makes it: a list for ``List<...>`` and
    ``CommaDelimitedList`` (given as ``a,b``), a number for ``Number``."""
    kind = str(spec.get("Type", "String"))
    if isinstance(value, str) and (kind.startswith("List<") or kind == "CommaDelimitedList"):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, str) and kind == "Number":
        try:
            return int(value)
        except ValueError:
            return float(value)
    return value


def object_name(logical_id: str, resource: Mapping[str, Any], kind: str) -> str:
    """The ECS name of a template's object: its own name property, else the logical id
    (CloudFormation would generate one from the stack's name)."""
    properties = resource.get("Properties") or {}
    named = properties.get(NAME_MEMBERS[kind][:1].upper() + NAME_MEMBERS[kind][1:])
    return named if isinstance(named, str) else logical_id


def _to_api(value: Any, tag_maps: bool = False) -> Any:
    """CloudFormation's PascalCase members as the API's camelCase, free-form maps kept;
    ``tag_maps``: ``Tags`` are string maps whose keys are the tags' own (EventBridge
    Scheduler's ``[{team: data}]``), kept as written too."""
    if isinstance(value, list):
        return [_to_api(v, tag_maps) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        _api_name(k): (v if _free(k, v, tag_maps) else _to_api(v, tag_maps))
        for k, v in value.items()
        if v is not None
    }


def _free(key: str, value: Any, tag_maps: bool) -> bool:
    """Whether ``value`` is the user's to name, its keys kept as written."""
    return (key in FREE_MAPS and isinstance(value, dict)) or (
        tag_maps and key == "Tags" and isinstance(value, list)
    )


def requests(
    template: dict[str, Any], parameters: Mapping[str, str], account_id: str | None
) -> list[tuple[str, Any, str, list[str]]]:
    """Each ECS resource of the template as (where, ECS request, kind, notes); the other
    resources named in a note of the first. Unresolved intrinsics: EcsValidationError."""
    resolver = _Resolver(template, parameters, account_id)
    found: list[tuple[str, Any, str, list[str]]] = []
    others: dict[str, int] = {}
    for logical_id, resource in template["Resources"].items():
        kind = KINDS.get(resource["Type"])
        scheduled = SCHEDULES.get(resource["Type"])
        if scheduled is not None:
            where = f"Resources.{logical_id}.Properties"
            properties = resolver.resolve(resource.get("Properties") or {}, where)
            body = _to_api(properties, tag_maps=resource["Type"] == SCHEDULER_SCHEDULE)
            produced = scheduled(logical_id, body)
            for inner, spec, notes in produced:
                found.append((f"{where}.{inner}" if inner else where, spec, "ScheduledTask", notes))
            if produced:
                continue
        if kind is None:
            others[resource["Type"]] = others.get(resource["Type"], 0) + 1
            continue
        where = f"Resources.{logical_id}.Properties"
        properties = resolver.resolve(resource.get("Properties") or {}, where)
        body = _to_api(properties)
        notes = []
        member = NAME_MEMBERS[kind]
        if member not in body:
            body[member] = logical_id
            notes.append(
                f"{member} {logical_id}: the logical id (CloudFormation names it after the stack)"
            )
        found.append((where, body, kind, notes))
    if resolver.problems:
        raise EcsValidationError(resolver.problems, "template")
    if found and others:
        listed = ", ".join(f"{t} ({n})" for t, n in sorted(others.items()))
        found[0][3].append(f"template resources that are not ECS objects, left out: {listed}")
    return found
