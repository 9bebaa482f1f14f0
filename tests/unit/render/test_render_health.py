"""Health checks: exec probes with ECS defaults; CMD vs CMD-SHELL; start period."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_operator.api.parse import parse_task_definition
from ecs_operator.render import RenderError

from .helpers import container, containers, findings_at, kubelet_expand, render, task


def _app(**check: object) -> dict[str, Any]:
    return containers(render(task([container(healthCheck=check)])))["app"]


def test_cmd_is_execed_directly_with_ecs_defaults() -> None:
    probe = _app(command=["CMD", "curl", "-f", "http://localhost"])["livenessProbe"]
    assert probe == {
        "exec": {"command": ["curl", "-f", "http://localhost"]},
        "initialDelaySeconds": 30,
        "periodSeconds": 30,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


def test_cmd_shell_runs_through_the_shell() -> None:
    probe = _app(command=["CMD-SHELL", "curl -f http://localhost || exit 1"])["livenessProbe"]
    assert probe["exec"]["command"] == ["/bin/sh", "-c", "curl -f http://localhost || exit 1"]


def test_windows_shell() -> None:
    td = task(
        [container(healthCheck={"command": ["CMD-SHELL", "exit 0"]})],
        runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_FULL"},
    )
    probe = containers(render(td))["app"]["livenessProbe"]
    assert probe["exec"]["command"] == ["cmd", "/S", "/C", "exit 0"]


def test_start_period_becomes_a_startup_probe() -> None:
    app = _app(command=["CMD", "true"], interval=10, retries=2, startPeriod=25)
    assert app["startupProbe"]["failureThreshold"] == 3 + 2
    assert app["livenessProbe"]["failureThreshold"] == 2
    assert "startupProbe" not in _app(command=["CMD", "true"])


def test_only_essential_containers_health_is_acted_on_in_a_service() -> None:
    """ECS replaces a service's task when an essential container is unhealthy and does nothing
    about a non-essential one: a liveness probe on the sidecar would have the kubelet restart
    it, a readiness probe would take the task out of its load balancer."""
    check = {"command": ["CMD", "true"]}
    td = task(
        [
            container("main", healthCheck=check),
            container("side", essential=False, healthCheck=check),
        ]
    )
    rendered = render(td)
    pods = containers(rendered)
    assert {"livenessProbe", "readinessProbe"} <= pods["main"].keys()
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & pods["side"].keys()
    assert [f.kind for f in findings_at(rendered, "containerDefinitions[1].healthCheck")] == [
        "mapped-approx"
    ]


def test_probes_do_not_share_objects() -> None:
    app = _app(command=["CMD", "true"], startPeriod=5)
    assert app["livenessProbe"] is not app["readinessProbe"]
    assert app["livenessProbe"]["exec"] is not app["startupProbe"]["exec"]


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (["/healthcheck"], "neither CMD nor CMD-SHELL"),
        (["curl", "-f", "http://localhost/"], "neither CMD nor CMD-SHELL"),
        (["NONE"], "NONE turns the check off"),
    ],
)
def test_a_command_docker_runs_no_check_for_gets_no_probe_and_reads_unknown(
    command: list[str], why: str
) -> None:
    """ECS registers any command, and hands it to Docker as the check's ``Test``: Docker runs
    no check for a type other than CMD or CMD-SHELL ("Unknown healthcheck type", moby's
    daemon/health.go) nor for NONE, so the container's health stays UNKNOWN and nothing acts
    on it. AWS's own ADOT collector sidecar example uses ``["/healthcheck"]``."""
    td = task([container(healthCheck={"command": command})])
    parse_task_definition(td.model_dump(exclude_none=True))  # registered, as ECS registers it
    rendered = render(td, service="web")
    app = containers(rendered)["app"]
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(app)
    [finding] = findings_at(rendered, "containerDefinitions[0].healthCheck.command")
    assert finding.kind == "ignored" and why in finding.message and "UNKNOWN" in finding.message


@pytest.mark.parametrize("command", [["CMD"], ["CMD-SHELL"]])
def test_malformed_commands_are_a_render_error(command: list[str]) -> None:
    with pytest.raises(RenderError) as error:
        _app(command=command)
    assert error.value.paths == ["containerDefinitions[0].healthCheck.command"]


def test_a_run_task_reports_health_but_is_never_stopped_for_it() -> None:
    """ECS: "a task run outside a service continues its lifecycle regardless of its health
    status". A liveness probe has the kubelet kill the container of a RunTask pod
    (``restartPolicy: Never``), and the operator then stops the task. Readiness only: the
    health is reported, never acted on (tests/e2e/real: the task stays RUNNING, UNHEALTHY)."""
    check = {"command": ["CMD-SHELL", "test -f /tmp/ok"], "startPeriod": 10}
    td = task(
        [
            container("main", healthCheck=check),
            container("side", essential=False, healthCheck=check),
            container("gated", dependsOn=[{"containerName": "side", "condition": "HEALTHY"}]),
        ]
    )
    rendered = containers(render(td, standalone=True))
    for name in ("main", "side"):
        assert "livenessProbe" not in rendered[name]
        assert rendered[name]["readinessProbe"]["exec"]["command"][-1] == "test -f /tmp/ok"
    # a failing startup probe kills too: kept only where another container waits on it
    assert "startupProbe" not in rendered["main"] and "startupProbe" in rendered["side"]
    in_service = containers(render(td))["main"]
    assert "livenessProbe" in in_service and "startupProbe" in in_service


def test_the_first_check_runs_one_interval_after_the_container_starts() -> None:
    """Docker's (so ECS's) first health check runs `interval` seconds after the container
    starts. On a real kubelet an immediate probe failed every container still starting; with
    ``retries: 1`` the startup probe of a HEALTHY dependency killed it before it could pass."""
    check = {"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5, "retries": 1}
    td = task(
        [
            container("db", essential=False, healthCheck=check),
            container("app", dependsOn=[{"containerName": "db", "condition": "HEALTHY"}]),
        ]
    )
    for standalone in (False, True):
        db = containers(render(td, standalone=standalone))["db"]
        probes = [db[k] for k in ("livenessProbe", "readinessProbe", "startupProbe") if k in db]
        assert probes and all(p["initialDelaySeconds"] == 5 for p in probes)


def test_a_checks_dollar_signs_reach_the_shell_as_docker_runs_them() -> None:
    """The kubelet expands an exec probe's command as it does ``args`` (``$$`` is ``$``)."""
    check = ["CMD-SHELL", 'test $$ -gt 0 && test "$(cat /tmp/ok)" = yes || exit 1']
    probe = _app(command=check)["livenessProbe"]["exec"]["command"]
    assert [kubelet_expand(word, {}) for word in probe] == ["/bin/sh", "-c", check[1]]
