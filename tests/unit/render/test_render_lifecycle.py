"""dependsOn, essential, restart policies and stop timeouts."""

from __future__ import annotations

import json

import pytest

from ecs_operator.render import RenderError, keys

from .helpers import container, containers, fargate, findings_at, render, spec, task

HEALTH = {"command": ["CMD", "true"]}


def _dep(name: str, condition: str) -> dict[str, str]:
    return {"containerName": name, "condition": condition}


def test_start_and_healthy_targets_become_native_sidecars() -> None:
    td = task(
        [
            container("app", dependsOn=[_dep("proxy", "HEALTHY"), _dep("logs", "START")]),
            container("proxy", healthCheck=HEALTH),
            container("logs", essential=False),
        ]
    )
    pod = spec(render(td))
    assert [c["name"] for c in pod["initContainers"]] == ["proxy", "logs"]
    assert all(c["restartPolicy"] == "Always" for c in pod["initContainers"])
    assert "startupProbe" in pod["initContainers"][0]
    assert [c["name"] for c in pod["containers"]] == ["app"]


def test_complete_and_success_targets_become_init_containers_in_dependency_order() -> None:
    td = task(
        [
            container("app", dependsOn=[_dep("migrate", "SUCCESS")]),
            container("migrate", essential=False, dependsOn=[_dep("fetch", "COMPLETE")]),
            container("fetch", essential=False, healthCheck=HEALTH),
        ]
    )
    rendered = render(td)
    init = spec(rendered)["initContainers"]
    assert [c["name"] for c in init] == ["fetch", "migrate"]
    assert all("restartPolicy" not in c and "livenessProbe" not in c for c in init)
    kinds = {f.path: f.kind for f in rendered.findings}
    assert kinds["containerDefinitions[1].dependsOn[0].condition"] == "mapped-approx"
    assert kinds["containerDefinitions[2].healthCheck"] == "ignored"


def test_regular_containers_waiting_without_depending_are_reported() -> None:
    td = task([container("a", dependsOn=[_dep("b", "START")]), container("b"), container("c")])
    assert findings_at(render(td), "containerDefinitions[2].dependsOn")


@pytest.mark.parametrize(
    ("defs", "path"),
    [
        (
            [container("a", dependsOn=[_dep("zz", "START")])],
            "containerDefinitions[0].dependsOn[0].containerName",
        ),
        (
            [container("a", dependsOn=[_dep("a", "START")])],
            "containerDefinitions[0].dependsOn[0].containerName",
        ),
        (
            [container("a", dependsOn=[_dep("b", "SUCCESS")]), container("b")],
            "containerDefinitions[0].dependsOn[0].condition",
        ),
        (
            [container("a", dependsOn=[_dep("b", "HEALTHY")]), container("b")],
            "containerDefinitions[0].dependsOn[0].condition",
        ),
    ],
)
def test_what_ecs_rejects_is_a_render_error(defs: list[dict[str, object]], path: str) -> None:
    with pytest.raises(RenderError) as error:
        render(task(defs))
    assert path in error.value.paths


def test_dependency_cycles_are_a_render_error() -> None:
    td = task(
        [
            container("a", dependsOn=[_dep("b", "START")]),
            container("b", dependsOn=[_dep("a", "START")]),
        ]
    )
    with pytest.raises(RenderError) as error:
        render(td)
    assert error.value.paths == [
        "containerDefinitions[0].dependsOn",
        "containerDefinitions[1].dependsOn",
    ]


def test_essential_containers_are_annotated() -> None:
    td = task([container("a"), container("B_side", essential=False)])
    annotations = render(td).pod_template["metadata"]["annotations"]
    assert json.loads(annotations[keys.ANNOTATION_ESSENTIAL]) == ["a"]


def test_stop_timeout_is_the_longest_grace_period() -> None:
    assert "terminationGracePeriodSeconds" not in spec(render(task()))
    rendered = render(task([container("a", stopTimeout=90), container("b")]))
    assert spec(rendered)["terminationGracePeriodSeconds"] == 90
    assert findings_at(rendered, "containerDefinitions[].stopTimeout")


def test_fargate_stops_a_container_at_most_120_seconds_after_sigterm() -> None:
    """ECS: "For tasks that use the Fargate launch type, the max stop timeout value is 120
    seconds"; on EC2 the agent waits as long as the definition says."""
    td = task([container("a", stopTimeout=300), container("b", stopTimeout=60)])
    on_fargate = render(td, **fargate())
    assert spec(on_fargate)["terminationGracePeriodSeconds"] == 120
    [found] = findings_at(on_fargate, "containerDefinitions[0].stopTimeout")
    assert found.kind == "ignored" and "120" in found.message
    assert not findings_at(on_fargate, "containerDefinitions[1].stopTimeout")
    assert spec(render(td))["terminationGracePeriodSeconds"] == 300


def test_a_non_essential_sidecar_that_may_exit_is_reported() -> None:
    """A non-essential container others wait for with START becomes a native sidecar, which
    the kubelet restarts whenever it exits (a setup script would run again and again), where
    ECS leaves it stopped: said, in services and RunTask tasks alike."""
    td = task(
        [container("setup", essential=False), container("app", dependsOn=[_dep("setup", "START")])]
    )
    for standalone in (False, True):
        rendered = render(td, standalone=standalone)
        assert spec(rendered)["initContainers"][0]["restartPolicy"] == "Always"
        [found] = findings_at(rendered, "containerDefinitions[0].essential")
        assert found.kind == "mapped-approx" and "COMPLETE" in found.message


def test_non_essential_containers_without_restart_rules_are_reported() -> None:
    rendered = render(task([container("a"), container("b", essential=False)]))
    assert findings_at(rendered, "containerDefinitions[1].essential")
    standalone = render(task([container("a"), container("b", essential=False)]), standalone=True)
    assert not findings_at(standalone, "containerDefinitions[1].essential")
    assert spec(standalone)["restartPolicy"] == "Never"


def test_container_restart_rules() -> None:
    policy = {"enabled": True, "ignoredExitCodes": [0, 3]}
    td = task([container("a", restartPolicy=policy), container("b", essential=False)])
    rendered = containers(render(td, container_restart_rules=True))
    assert rendered["a"]["restartPolicy"] == "Never"
    assert rendered["a"]["restartPolicyRules"] == [
        {"action": "Restart", "exitCodes": {"operator": "NotIn", "values": [0, 3]}}
    ]
    assert rendered["b"]["restartPolicy"] == "Never"
    always = containers(
        render(task([container(restartPolicy={"enabled": True})]), container_restart_rules=True)
    )
    assert always["app"]["restartPolicy"] == "Always"


def test_restart_policy_of_a_task_needs_restart_rules() -> None:
    rendered = render(task([container(restartPolicy={"enabled": True})]), standalone=True)
    assert [f.kind for f in findings_at(rendered, "containerDefinitions[0].restartPolicy")] == [
        "unsupported"
    ]


def test_containers_logging_through_firelens_wait_for_the_log_router_as_the_agent_makes_them() -> (
    None
):
    firelens = {"logDriver": "awsfirelens", "options": {"Name": "stdout"}}
    router = container(
        "log_router", firelensConfiguration={"type": "fluentbit"}, healthCheck=HEALTH
    )
    td = task([container("app", logConfiguration=firelens), container("other"), router])
    pod = spec(render(td))
    assert [c["name"] for c in pod["initContainers"]] == ["log-router"]
    assert pod["initContainers"][0]["restartPolicy"] == "Always"
    assert [c["name"] for c in pod["containers"]] == ["app", "other"]
    assert "startupProbe" not in pod["initContainers"][0]  # START, not HEALTHY
    healthy = container("app", logConfiguration=firelens, dependsOn=[_dep("log_router", "HEALTHY")])
    pod = spec(render(task([healthy, router])))
    assert "startupProbe" in pod["initContainers"][0]  # the user's own dependency is kept
    pod = spec(render(task([container("app"), router])))
    assert "initContainers" not in pod  # nobody logs through it: nothing waits
