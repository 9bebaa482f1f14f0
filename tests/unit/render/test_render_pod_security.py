"""The Pod Security level a rendered pod needs, and the findings that say so in ECS terms.

The cases follow what the devcluster's API server (Kubernetes 1.36, ``baseline:latest``) admits
and refuses; tests/integration/test_pod_security.py checks the rendering against it."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.render.pod_security import requirements

from .helpers import container, fargate, findings_at, render, task

PLAIN = {"containers": [{"name": "app", "image": "busybox"}]}


def _with(container_fields: dict[str, Any] | None = None, **pod: Any) -> dict[str, Any]:
    return {**pod, "containers": [{"name": "app", "image": "busybox", **(container_fields or {})}]}


def _controls(spec: dict[str, Any]) -> list[str]:
    return [r.control for r in requirements(spec)]


@pytest.mark.parametrize(
    "spec",
    [
        PLAIN,
        _with({"securityContext": {"capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE"]}}}),
        _with({"securityContext": {"capabilities": {"drop": ["ALL"]}}}),
        _with({"ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 0}]}),
        _with(
            {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "x"}}}
        ),
        _with({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}),
        _with({"securityContext": {"seLinuxOptions": {"level": "s0:c1", "type": "container_t"}}}),
        _with(securityContext={"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}]}),
        _with(shareProcessNamespace=True, volumes=[{"name": "v", "emptyDir": {}}]),
    ],
)
def test_what_baseline_admits_needs_nothing_more(spec: dict[str, Any]) -> None:
    assert requirements(spec) == []


@pytest.mark.parametrize(
    ("spec", "control", "field"),
    [
        (_with(hostNetwork=True), "host namespaces", "hostNetwork"),
        (_with(hostPID=True), "host namespaces", "hostPID"),
        (_with(hostIPC=True), "host namespaces", "hostIPC"),
        (
            _with(volumes=[{"name": "v", "hostPath": {"path": "/var/log"}}]),
            "hostPath volumes",
            "volumes[0].hostPath",
        ),
        (
            _with(securityContext={"sysctls": [{"name": "net.core.somaxconn", "value": "1"}]}),
            "forbidden sysctls",
            "securityContext.sysctls[0]: net.core.somaxconn",
        ),
        (
            _with({"securityContext": {"privileged": True}}),
            "privileged",
            "containers[0].securityContext.privileged",
        ),
        (
            _with({"securityContext": {"capabilities": {"add": ["CHOWN", "SYS_PTRACE"]}}}),
            "non-default capabilities",
            "containers[0].securityContext.capabilities.add: SYS_PTRACE",
        ),
        (
            _with({"ports": [{"containerPort": 80, "hostPort": 8080}]}),
            "hostPort",
            "containers[0].ports[0].hostPort",
        ),
        (
            _with({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
            "seccompProfile",
            "containers[0].securityContext.seccompProfile",
        ),
        (
            _with({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
            "forbidden AppArmor profile",
            "containers[0].securityContext.appArmorProfile",
        ),
        (
            _with({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}),
            "seLinuxOptions",
            "containers[0].securityContext.seLinuxOptions",
        ),
        (
            _with({"securityContext": {"seLinuxOptions": {"user": "system_u"}}}),
            "seLinuxOptions",
            "containers[0].securityContext.seLinuxOptions",
        ),
    ],
)
def test_what_baseline_refuses_needs_privileged(
    spec: dict[str, Any], control: str, field: str
) -> None:
    [need] = requirements(spec)
    assert (need.control, need.field) == (control, field)


def test_init_containers_count_and_every_field_is_listed() -> None:
    spec = {
        "hostPID": True,
        "initContainers": [{"name": "setup", "securityContext": {"privileged": True}}],
        "containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": 80}]}],
    }
    assert [r.field for r in requirements(spec)] == [
        "hostPID",
        "initContainers[0].securityContext.privileged",
        "containers[0].ports[0].hostPort",
    ]


def test_an_ordinary_task_definition_renders_at_baseline() -> None:
    td = task(
        [
            container(
                portMappings=[{"containerPort": 80}], healthCheck={"command": ["CMD", "true"]}
            ),
            container("sidecar", essential=False, readonlyRootFilesystem=True, user="1000"),
        ],
        volumes=[{"name": "scratch"}],
    )
    assert [f for f in render(td).findings if f.kind == "privileged"] == []


def test_each_member_that_needs_more_is_a_finding_at_its_ecs_path() -> None:
    td = task(
        [
            container(
                privileged=True,
                linuxParameters={"capabilities": {"add": ["SYS_ADMIN"]}},
                portMappings=[{"containerPort": 80, "hostPort": 8080}],
                mountPoints=[{"sourceVolume": "logs", "containerPath": "/logs"}],
                dockerSecurityOptions=["seccomp:unconfined"],
            )
        ],
        pidMode="host",
        volumes=[{"name": "logs", "host": {"sourcePath": "/var/log"}}],
    )
    rendered = render(td)
    paths = {f.path for f in rendered.findings if f.kind == "privileged"}
    assert paths == {
        "pidMode",
        "volumes[0].host.sourcePath",
        "containerDefinitions[0].privileged",
        "containerDefinitions[0].linuxParameters.capabilities.add",
        "containerDefinitions[0].portMappings",
        "containerDefinitions[0].dockerSecurityOptions",
    }
    [privileged] = [f for f in findings_at(rendered, "pidMode") if f.kind == "privileged"]
    assert (
        "needs the privileged Pod Security level (host namespaces: hostPID)" in privileged.message
    )


def test_fargate_keeps_only_what_it_allows_and_sys_ptrace_still_needs_privileged() -> None:
    td = task(
        [container(linuxParameters={"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}})],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
    )
    rendered = render(td, **fargate())
    [need] = [f for f in rendered.findings if f.kind == "privileged"]
    assert need.path == "containerDefinitions[0].linuxParameters.capabilities.add"
    assert "SYS_PTRACE" in need.message and "NET_ADMIN" not in need.message
