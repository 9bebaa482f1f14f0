"""securityContext, namespaces, sysctls, docker security options, Fargate hardening."""

from __future__ import annotations

import json

import pytest

from ecs_operator.render import keys

from .helpers import container, containers, fargate, findings_at, render, spec, task


def test_container_flags() -> None:
    cd = container(
        privileged=True,
        readonlyRootFilesystem=True,
        user="1000:2000",
        linuxParameters={"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}},
    )
    assert containers(render(task([cd])))["app"]["securityContext"] == {
        "privileged": True,
        "readOnlyRootFilesystem": True,
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
        "runAsUser": 1000,
        "runAsGroup": 2000,
    }


@pytest.mark.parametrize(
    ("user", "context"), [("root", {}), ("app:1000", {"runAsGroup": 1000}), ("0", {"runAsUser": 0})]
)
def test_user_names_are_reported(user: str, context: dict[str, int]) -> None:
    rendered = render(task([container(user=user)]))
    assert containers(rendered)["app"].get("securityContext", {}) == context
    assert bool(findings_at(rendered, "containerDefinitions[0].user")) == (user != "0")


def test_docker_security_options() -> None:
    options = [
        "no-new-privileges",
        "apparmor:hardened",
        "label:type:svirt_t",
        "seccomp:unconfined",
        "weird",
    ]
    rendered = render(task([container(dockerSecurityOptions=options)]))
    assert containers(rendered)["app"]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "appArmorProfile": {"type": "Localhost", "localhostProfile": "hardened"},
        "seLinuxOptions": {"type": "svirt_t"},
        "seccompProfile": {"type": "Unconfined"},
    }
    kept = json.loads(
        rendered.pod_template["metadata"]["annotations"][keys.ANNOTATION_DOCKER_SECURITY_OPTIONS]
    )
    assert kept == {"app": ["weird"]}


def test_task_namespaces() -> None:
    assert spec(render(task(pidMode="host", ipcMode="host")))["hostPID"] is True
    assert spec(render(task(pidMode="task")))["shareProcessNamespace"] is True
    assert spec(render(task(ipcMode="host")))["hostIPC"] is True


def test_init_process_shares_the_process_namespace() -> None:
    rendered = render(task([container(linuxParameters={"initProcessEnabled": True})]))
    assert spec(rendered)["shareProcessNamespace"] is True
    assert findings_at(rendered, "containerDefinitions[0].linuxParameters.initProcessEnabled")


def test_sysctls_merge_and_unsafe_ones_are_reported() -> None:
    td = task(
        [
            container(
                "a",
                systemControls=[
                    {"namespace": "net.ipv4.tcp_keepalive_time", "value": "200"},
                    {"namespace": "net.core.somaxconn", "value": "1024"},
                ],
            ),
            container("b", systemControls=[{"namespace": "net.core.somaxconn", "value": "4096"}]),
        ]
    )
    rendered = render(td)
    assert spec(rendered)["securityContext"]["sysctls"] == [
        {"name": "net.ipv4.tcp_keepalive_time", "value": "200"},
        {"name": "net.core.somaxconn", "value": "1024"},
    ]
    assert findings_at(rendered, "containerDefinitions[0].systemControls[1]")
    assert findings_at(rendered, "containerDefinitions[1].systemControls[0]")


def test_net_sysctls_are_dropped_in_host_network_mode() -> None:
    cd = container(systemControls=[{"namespace": "net.core.somaxconn", "value": "1"}])
    rendered = render(task([cd], networkMode="host"))
    assert "securityContext" not in spec(rendered)
    assert findings_at(rendered, "containerDefinitions[0].systemControls[0]")[0].kind == "dropped"


def test_windows_pods_carry_no_linux_settings() -> None:
    cd = container(privileged=True, user="ContainerUser")
    rendered = render(
        task(
            [cd],
            pidMode="task",
            runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2019_CORE"},
        )
    )
    assert containers(rendered)["app"]["securityContext"] == {
        "windowsOptions": {"runAsUserName": "ContainerUser"}
    }
    assert "shareProcessNamespace" not in spec(rendered)
    assert findings_at(rendered, "containerDefinitions[0].privileged") and findings_at(
        rendered, "pidMode"
    )


def test_fargate_pods_never_get_host_access() -> None:
    cd = container(
        privileged=True,
        portMappings=[{"containerPort": 80, "hostPort": 80}],
        linuxParameters={"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}},
    )
    rendered = render(task([cd], networkMode="host", pidMode="host", ipcMode="host"), **fargate())
    pod = spec(rendered)
    assert not {"hostNetwork", "hostPID", "hostIPC"} & pod.keys()
    app = containers(rendered)["app"]
    assert app["securityContext"] == {"capabilities": {"add": ["SYS_PTRACE"]}}
    assert "hostPort" not in app["ports"][0]
    assert {f.path for f in rendered.findings if f.kind == "dropped"} >= {
        "networkMode",
        "pidMode",
        "ipcMode",
        "containerDefinitions[0].privileged",
        "containerDefinitions[0].linuxParameters.capabilities.add",
    }


def test_fargate_pods_never_get_a_weakened_sandbox() -> None:
    """Fargate's profiles, labels and kernel are its own: what an EC2 task definition asks
    for never reaches a Fargate pod (render/request.py refuses such definitions before, this is
    the defence behind it)."""
    cd = container(
        dockerSecurityOptions=["seccomp:unconfined", "apparmor:unconfined", "label:type:spc_t"],
        systemControls=[
            {"namespace": "kernel.core_pattern", "value": "|/tmp/x"},
            {"namespace": "net.ipv4.tcp_keepalive_time", "value": "60"},
        ],
    )
    on_ec2 = spec(render(task([cd], networkMode="awsvpc")))
    assert on_ec2["containers"][0]["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    pod = spec(render(task([cd], networkMode="awsvpc"), **fargate()))
    assert "securityContext" not in pod["containers"][0]
    assert pod["securityContext"] == {
        "sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]
    }
