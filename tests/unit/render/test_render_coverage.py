"""Totality: every ECS task-definition and container member is rendered or reported.

The coverage table (render/coverage.py) must list every member of the generated shapes; and for
every member, setting it must change the rendered objects or produce a finding at its path, so
no member can be silently dropped. docs/mapping.md's member table is generated from the same
table and must be in sync (``UPDATE_GOLDEN=1`` rewrites it).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ecs_operator.api.base import EcsShape
from ecs_operator.api.shapes import ContainerDefinition, RegisterTaskDefinitionRequest
from ecs_operator.render import coverage
from ecs_operator.render.coverage import CONTAINER, SEE_MEMBERS, TASK_DEFINITION, Member

from .helpers import assert_generated, container, render, task

DOCS = Path(__file__).resolve().parents[3] / "docs" / "mapping.md"
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"
SM = "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg"

#: a sample value per container member, and what else the task needs for it to make sense
CONTAINER_SAMPLES: dict[str, tuple[Any, dict[str, Any]]] = {
    "name": ("other", {}),
    "image": ("httpd:2", {}),
    "repositoryCredentials": ({"credentialsParameter": SM}, {}),
    "cpu": (256, {}),
    "memory": (1024, {}),
    "memoryReservation": (128, {}),
    "links": (["db"], {}),
    "portMappings": ([{"containerPort": 80}], {}),
    "essential": (False, {"containers": [container("main")]}),
    "restartPolicy": ({"enabled": True}, {}),
    "entryPoint": (["/bin/app"], {}),
    "command": (["serve"], {}),
    "environment": ([{"name": "A", "value": "1"}], {}),
    "environmentFiles": ([{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}], {}),
    "mountPoints": ([{"sourceVolume": "v", "containerPath": "/v"}], {"volumes": [{"name": "v"}]}),
    "volumesFrom": (
        [{"sourceContainer": "src"}],
        {
            "containers": [
                container("src", mountPoints=[{"sourceVolume": "v", "containerPath": "/v"}])
            ],
            "volumes": [{"name": "v"}],
        },
    ),
    "linuxParameters": ({"initProcessEnabled": True}, {}),
    "linuxParameters.capabilities": ({"add": ["NET_ADMIN"]}, {}),
    "linuxParameters.devices": ([{"hostPath": "/dev/fuse"}], {}),
    "linuxParameters.initProcessEnabled": (True, {}),
    "linuxParameters.sharedMemorySize": (64, {}),
    "linuxParameters.tmpfs": ([{"containerPath": "/scratch", "size": 8}], {}),
    "linuxParameters.maxSwap": (100, {}),
    "linuxParameters.swappiness": (10, {}),
    "secrets": ([{"name": "PW", "valueFrom": "db-password"}], {}),
    "dependsOn": (
        [{"containerName": "proxy", "condition": "START"}],
        {"containers": [container("proxy")]},
    ),
    "startTimeout": (10, {}),
    "stopTimeout": (60, {}),
    "versionConsistency": ("disabled", {}),
    "hostname": ("web", {}),
    "user": ("1000", {}),
    "workingDirectory": ("/srv", {}),
    "disableNetworking": (True, {}),
    "privileged": (True, {}),
    "readonlyRootFilesystem": (True, {}),
    "dnsServers": (["10.0.0.2"], {}),
    "dnsSearchDomains": (["example.com"], {}),
    "extraHosts": ([{"hostname": "ldap", "ipAddress": "10.0.0.9"}], {}),
    "dockerSecurityOptions": (["no-new-privileges"], {}),
    "interactive": (True, {}),
    "pseudoTerminal": (True, {}),
    "dockerLabels": ({"team": "a"}, {}),
    "ulimits": ([{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}], {}),
    "logConfiguration": ({"logDriver": "awslogs"}, {}),
    "healthCheck": ({"command": ["CMD", "true"]}, {}),
    "systemControls": ([{"namespace": "net.ipv4.tcp_syncookies", "value": "1"}], {}),
    "resourceRequirements": ([{"type": "GPU", "value": "1"}], {}),
    "firelensConfiguration": ({"type": "fluentbit"}, {}),
    "credentialSpecs": (["arn:aws:s3:::bucket/credspec.json"], {}),
}

TASK_SAMPLES: dict[str, tuple[Any, dict[str, Any]]] = {
    "family": ("other", {}),
    "taskRoleArn": ("arn:aws:iam::123456789012:role/app", {}),
    "executionRoleArn": ("arn:aws:iam::123456789012:role/exec", {}),
    "networkMode": ("host", {}),
    "containerDefinitions": ([container(), container("second")], {}),
    "volumes": ([{"name": "v"}], {}),
    "placementConstraints": ([{"type": "memberOf", "expression": "attribute:stack == prod"}], {}),
    "requiresCompatibilities": (["EC2"], {}),
    "cpu": ("1024", {}),
    "memory": ("2048", {}),
    "tags": ([{"key": "team", "value": "a"}], {}),
    "pidMode": ("task", {}),
    "ipcMode": ("host", {}),
    "proxyConfiguration": ({"type": "APPMESH", "containerName": "app"}, {}),
    "inferenceAccelerators": ([{"deviceName": "d", "deviceType": "eia2.medium"}], {}),
    "ephemeralStorage": ({"sizeInGiB": 30}, {}),
    "runtimePlatform": ({"cpuArchitecture": "ARM64"}, {}),
    "enableFaultInjection": (True, {}),
    "trustedExecutionConfiguration": ({"isolationMode": "ISOLATED_SANDBOX"}, {}),
    "trustedExecutionConfiguration.attestationPolicy": (
        "ZXhhbXBsZQ==",
        {"trustedExecutionConfiguration": {"isolationMode": "SHARED"}},
    ),
}


def _members(shape: type[EcsShape], table: dict[str, Member]) -> set[str]:
    """The shape's members, plus the nested members of those marked "see its members"."""
    names = set(shape.model_fields)
    for name in list(names):
        if table.get(name) is not None and table[name].kubernetes == SEE_MEMBERS:
            nested = shape.model_fields[name].annotation
            nested_shape: type[EcsShape] = next(
                t for t in getattr(nested, "__args__", (nested,)) if isinstance(t, type)
            )
            names |= {f"{name}.{member}" for member in nested_shape.model_fields}
    return names


def _nested_ok(shape: type[EcsShape], dotted: str) -> bool:
    current: Any = shape
    for part in dotted.split("."):
        if (
            not (isinstance(current, type) and issubclass(current, EcsShape))
            or part not in current.model_fields
        ):
            return False
        annotation = current.model_fields[part].annotation
        current = next(
            (t for t in getattr(annotation, "__args__", (annotation,)) if isinstance(t, type)), None
        )
    return True


@pytest.mark.parametrize(
    ("shape", "table"),
    [(RegisterTaskDefinitionRequest, TASK_DEFINITION), (ContainerDefinition, CONTAINER)],
)
def test_table_lists_every_member(shape: type[EcsShape], table: dict[str, Member]) -> None:
    top = {name for name in table if "." not in name}
    assert top == set(shape.model_fields), "coverage.py must list exactly the shape's members"
    assert _members(shape, table) <= set(table), "members of a 'see its members' entry are missing"
    assert all(_nested_ok(shape, name) for name in table), "a nested entry names no member"


def test_every_member_has_a_sample() -> None:
    assert set(CONTAINER_SAMPLES) == set(CONTAINER)
    assert set(TASK_SAMPLES) == set(TASK_DEFINITION)


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = (
            _merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def _outcome(td: RegisterTaskDefinitionRequest) -> tuple[str, list[tuple[str, str]]]:
    rendered = render(td)
    objects = json.dumps([rendered.pod_template, rendered.service_account], sort_keys=True)
    return objects, [(f.path, f.kind) for f in rendered.findings]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _check_member(
    name: str,
    member: Member,
    baseline: RegisterTaskDefinitionRequest,
    variant: RegisterTaskDefinitionRequest,
    path: str,
) -> None:
    before, _ = _outcome(baseline)
    after, findings = _outcome(variant)
    reported = [kind for at, kind in findings if _under(at, path)]
    assert after != before or reported, f"{name}: neither rendered nor reported"
    if member.finding:
        assert member.finding in reported, (
            f"{name}: the table's {member.finding} finding is missing"
        )


@pytest.mark.parametrize("name", sorted(CONTAINER_SAMPLES))
def test_container_member_is_rendered_or_reported(name: str) -> None:
    value, extra = CONTAINER_SAMPLES[name]
    app = container()
    others = extra.get("containers", [])
    members = {k: v for k, v in extra.items() if k != "containers"}
    baseline = task([app, *others], **members)
    variant = task([_merge(app, _nest(name, value)), *others], **members)
    _check_member(name, CONTAINER[name], baseline, variant, f"containerDefinitions[0].{name}")


@pytest.mark.parametrize("name", sorted(TASK_SAMPLES))
def test_task_member_is_rendered_or_reported(name: str) -> None:
    value, extra = TASK_SAMPLES[name]
    base = {"family": "demo", "containerDefinitions": [container()], **extra}
    baseline = RegisterTaskDefinitionRequest.model_validate(base)
    variant = RegisterTaskDefinitionRequest.model_validate(_merge(base, _nest(name, value)))
    _check_member(name, TASK_DEFINITION[name], baseline, variant, name)


def test_table_modules_exist() -> None:
    import importlib

    for member in [*TASK_DEFINITION.values(), *CONTAINER.values()]:
        importlib.import_module(f"ecs_operator.render.{member.module}")


def test_docs_mapping_is_generated_from_the_table() -> None:
    assert_generated(DOCS, BEGIN, END, coverage.markdown_table())
