"""Hypothesis strategies for ECS task definitions and ECS API requests, derived from the
generated shape models.

Every member of every shape reachable from RegisterTaskDefinitionRequest is generated (so new
members are exercised without touching this file); members whose values must be meaningful for
anything to render (names, references, paths, ARNs...) are drawn from small pools that mix valid
and invalid values, so both the rendering and the error paths are reached often.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ecs_operator.api import shapes

NAMES = ["app", "web", "Side_Car", "db", "proxy", "x" * 70]
SM = "arn:aws:secretsmanager:us-east-1:123456789012:secret"
OVERRIDES: dict[tuple[type[BaseModel], str], st.SearchStrategy[Any]] = {
    (shapes.RegisterTaskDefinitionRequest, "family"): st.sampled_from(
        ["demo", "Web_App", "f" * 255]
    ),
    (shapes.RegisterTaskDefinitionRequest, "cpu"): st.sampled_from(
        ["256", "1024", ".5 vCPU", "4096"]
    ),
    (shapes.RegisterTaskDefinitionRequest, "memory"): st.sampled_from(
        ["512", "2GB", "3000", "200000"]
    ),
    (shapes.RegisterTaskDefinitionRequest, "taskRoleArn"): st.sampled_from(
        ["", "Role_1", "arn:aws:iam::123456789012:role/path/App"]
    ),
    (shapes.ContainerDefinition, "name"): st.sampled_from(NAMES),
    (shapes.ContainerDefinition, "image"): st.sampled_from(
        ["nginx:1.27", "example.com/a/b@sha256:" + "0" * 64]
    ),
    (shapes.ContainerDefinition, "hostname"): st.sampled_from(["web", "Web_01.example.com", "a.b"]),
    (shapes.ContainerDefinition, "user"): st.sampled_from(
        ["1000", "1000:1000", "root", "app:99", "99999999999"]
    ),
    (shapes.ContainerDefinition, "dnsServers"): st.lists(
        st.sampled_from(["10.0.0.2", "::1", "bad", "10.0.0.3", "1.1.1.1", "8.8.8.8"]), max_size=3
    ),
    (shapes.ContainerDefinition, "dnsSearchDomains"): st.lists(
        st.sampled_from(["example.com", "Corp.Local.", "bad domain"]), max_size=3
    ),
    (shapes.ContainerDefinition, "links"): st.lists(
        st.sampled_from(["db", "db:database", "Side_Car:sc"]), max_size=3
    ),
    (shapes.ContainerDefinition, "dockerSecurityOptions"): st.lists(
        st.sampled_from(
            [
                "no-new-privileges",
                "apparmor:p",
                "label:type:t",
                "label:bad",
                "seccomp:unconfined",
                "x",
            ]
        )
    ),
    (shapes.HealthCheck, "command"): st.sampled_from(
        [["CMD", "true"], ["CMD-SHELL", "exit 0"], ["bad"]]
    ),
    (shapes.ContainerDependency, "containerName"): st.sampled_from(NAMES),
    (shapes.VolumeFrom, "sourceContainer"): st.sampled_from(NAMES),
    (shapes.MountPoint, "sourceVolume"): st.sampled_from(["data", "Cache_1", "missing"]),
    (shapes.MountPoint, "containerPath"): st.sampled_from(
        ["/data", "/tmp", "/dev/shm", "/var/log"]
    ),
    (shapes.Tmpfs, "containerPath"): st.sampled_from(["/tmp", "/run"]),
    (shapes.Volume, "name"): st.sampled_from(["data", "Cache_1", "app-shm"]),
    (shapes.HostVolumeProperties, "sourcePath"): st.sampled_from(["/var/run/docker.sock", "/srv"]),
    (shapes.HostEntry, "hostname"): st.sampled_from(["ldap", "Bad_Host", "db.example.com"]),
    (shapes.HostEntry, "ipAddress"): st.sampled_from(["10.1.1.1", "fe80::1", "nope"]),
    (shapes.Secret, "valueFrom"): st.sampled_from(
        [
            f"{SM}:db-AbCdEf",
            f"{SM}:db:password::",
            f"{SM}:db:k:AWSCURRENT:v",
            "/ssm/param",
            "arn:aws:ssm:us-east-1:1:parameter/p",
        ]
    ),
    (shapes.RepositoryCredentials, "credentialsParameter"): st.sampled_from([f"{SM}:registry"]),
    (shapes.EnvironmentFile, "value"): st.sampled_from(
        ["arn:aws:s3:::bucket/prod.env", "arn:aws:s3:::b/Weird Name.env"]
    ),
    (shapes.SystemControl, "namespace"): st.sampled_from(
        ["net.core.somaxconn", "kernel.shm_rmid_forced", "kernel.msgmax", "Not A Sysctl", None]
    ),
    (shapes.PortMapping, "containerPortRange"): st.sampled_from([None, "7000-7002", "1-500", "x"]),
    (shapes.PortMapping, "name"): st.sampled_from([None, "http", "web_http_endpoint_long", "9000"]),
    (shapes.TaskDefinitionPlacementConstraint, "expression"): st.sampled_from(
        [
            "attribute:ecs.instance-type == t3.large",
            "attribute:stack in [a, b] or attribute:x exists",
            "attribute:ecs.instance-type =~ t2.*",
            "task:group == x",
            "attribute:zone == bad value",
        ]
    ),
    (shapes.Tag, "key"): st.sampled_from(["team", "cost-center"]),
    (shapes.Tag, "value"): st.sampled_from(["a", ""]),
    (shapes.EFSVolumeConfiguration, "fileSystemId"): st.sampled_from(["fs-1", "fs-ABC"]),
    (shapes.EFSVolumeConfiguration, "rootDirectory"): st.sampled_from([None, "/", "/data"]),
    (shapes.ResourceRequirement, "value"): st.sampled_from([None, "1", "2", "ALL", "0"]),
}

#: how the property tests that drive reconcilers or API operations run in CI: the same
#: examples every run (a failure reproduces; a new one comes from a changed strategy, never
#: from the draw) and no deadline (each example runs whole passes on a fake API server)
DETERMINISTIC = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


@functools.cache
def for_type(annotation: Any) -> st.SearchStrategy[Any]:
    """A strategy for ECS JSON values of ``annotation`` (a shape, list, dict, scalar...)."""
    annotation = _unwrap(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_type(a) for a in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(for_type(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.sampled_from(["a", "b.c", "team"]), _TEXT, max_size=2)
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return shape(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(-3, 70000)
    if annotation is float:  # ECS's doubles (a step's percent, a task set's scale)
        return st.floats(-3, 1000, allow_nan=False)
    return _TEXT


def _constrained(info: FieldInfo) -> st.SearchStrategy[Any]:
    """The member's strategy within its model constraints (ge/le, max_length)."""
    bounds = {type(m).__name__: m for m in info.metadata}
    annotation = _unwrap(info.annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    kind = typing.get_origin(args[0]) or args[0]
    if kind is int and ("Ge" in bounds or "Le" in bounds):
        low = getattr(bounds.get("Ge"), "ge", -3)
        strategy: st.SearchStrategy[Any] = st.integers(
            low, getattr(bounds.get("Le"), "le", low + 70000)
        )
    elif kind is list and "MaxLen" in bounds:
        item = typing.get_args(args[0])[0]
        strategy = st.lists(for_type(item), max_size=min(3, bounds["MaxLen"].max_length))
    else:
        whole: Any = info.annotation
        return st.deferred(lambda: for_type(whole))
    return st.none() | strategy if not info.is_required() else strategy


@functools.cache
def shape(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """ECS JSON for ``model``: required members always, optional ones half of the time."""
    return request(model, {})


def request(
    model: type[BaseModel], members: typing.Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """ECS JSON for ``model`` whose own members named in ``members`` are drawn from them (an
    API request's names of what exists, say); the rest as ``shape`` draws them."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        key = (model, name)
        if name in members:
            strategy = members[name]
        else:
            strategy = OVERRIDES[key] if key in OVERRIDES else _constrained(info)
        (required if info.is_required() else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def stored(value: Any) -> Any:
    """``value`` as the API server stores a custom resource drawn here: a null member is
    dropped (the CRDs' members are not nullable)."""
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [stored(v) for v in value]
    return value


def task_definitions() -> st.SearchStrategy[dict[str, Any]]:
    """register-task-definition JSON with 1-4 containers."""
    return shape(shapes.RegisterTaskDefinitionRequest).flatmap(
        lambda td: st.lists(
            shape(shapes.ContainerDefinition), min_size=1, max_size=4, unique_by=lambda c: c["name"]
        ).map(lambda defs: {**td, "containerDefinitions": defs})
    )
