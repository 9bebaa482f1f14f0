"""`kubectl ecs` verbs that act or wait: ECS task ids and container names translated to kubectl
logs / exec, the aws CLI's waiters, update-service --force-new-deployment."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecs_operator.api.identifiers import task_id
from ecs_operator.plugin import actions, cli, views
from ecs_operator.render import keys
from ecs_operator.status.taskdefinition import Arns
from ecs_operator_devtools.devcluster import pki

Body = dict[str, Any]
KUBECTL = ["kubectl", "--context=dev"]


def _pod(name: str, containers: dict[str, str]) -> Body:
    annotations = {keys.ANNOTATION_CONTAINER_NAMES: json.dumps(containers)}
    return {"metadata": {"name": name, "namespace": "shop", "annotations": annotations}}


PODS = [
    _pod("web-7d4b9c-abcde", {"app": "App"}),
    _pod("pair-0", {"app": "App", "log-router": "log_router"}),
]


def test_logs_of_a_task_by_id_or_arn_and_its_ecs_container_name() -> None:
    assert actions.logs_argv(KUBECTL, PODS, "web-7d4b9c-abcde", None, follow=True) == [
        *KUBECTL, "logs", "-n", "shop", "-f", "web-7d4b9c-abcde",
    ]  # fmt: skip
    arn = "arn:aws:ecs:us-east-1:000000000000:task/default/pair-0"
    assert actions.logs_argv(KUBECTL, PODS, arn, "log_router", follow=False) == [
        *KUBECTL, "logs", "-n", "shop", "-c", "log-router", "pair-0",
    ]  # fmt: skip
    # the id the ECS API (aws ecs) and the task metadata endpoint show for the same task
    ecs_arn = f"arn:aws:ecs:eu-west-1:123456789012:task/default/{task_id('shop', 'pair-0')}"
    assert actions.logs_argv(KUBECTL, PODS, ecs_arn, "App", follow=False)[-1] == "pair-0"


@pytest.mark.parametrize(
    ("task", "container", "message"),
    [
        ("gone-0", None, "no task gone-0 has a pod in this namespace"),
        ("pair-0", None, "several containers: name one with --container (App, log_router)"),
        ("pair-0", "sidecar", "no container named sidecar"),
    ],
)
def test_logs_say_what_is_wrong_in_ecs_terms(
    task: str, container: str | None, message: str
) -> None:
    with pytest.raises(actions.ActionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        actions.logs_argv(KUBECTL, PODS, task, container, follow=False)


def test_execute_command_runs_the_command_line_in_the_container() -> None:
    argv = actions.execute_command_argv(KUBECTL, PODS, "pair-0", "App", "/bin/sh -c 'ls /'", True)
    assert argv == [
        *KUBECTL, "exec", "-n", "shop", "-c", "app", "-i", "-t", "pair-0",
        "--", "/bin/sh", "-c", "ls /",
    ]  # fmt: skip


def _service(name: str, running: int, desired: int, deployments: int = 1) -> Body:
    return {
        "serviceName": name,
        "runningCount": running,
        "desiredCount": desired,
        "deployments": [{}] * deployments,
    }


def test_services_stable_is_the_aws_waiters_rule() -> None:
    assert actions.services_stable({"services": [_service("web", 2, 2)], "failures": []}) == (
        True,
        "not stable: ",
    )
    rolling = {
        "services": [_service("web", 2, 2, deployments=2), _service("api", 1, 2)],
        "failures": [],
    }
    assert actions.services_stable(rolling) == (False, "not stable: web, api")
    missing = {"services": [], "failures": [{"arn": "arn:svc/web", "reason": "MISSING"}]}
    assert actions.services_stable(missing) == (False, "MISSING: arn:svc/web")


def test_a_waiter_polls_until_done_or_fails_at_its_deadline() -> None:
    now = [0.0]
    answers = iter([(False, "not stopped: a"), (True, "")])
    actions.wait_until(
        lambda: next(answers),
        10,
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    assert now[0] == actions.POLL_SECONDS
    with pytest.raises(actions.ActionError, match=r"max attempts exceeded \(not stopped: a\)"):
        actions.wait_until(
            lambda: (False, "not stopped: a"),
            10,
            sleep=lambda s: now.__setitem__(0, now[0] + s),
            clock=lambda: now[0],
        )


class _Source:
    namespace = "shop"

    def __init__(self, services: list[Body]) -> None:
        self.services = services
        self.patches: list[tuple[str, str, Body]] = []

    def custom(self, plural: str) -> list[Body]:
        return self.services if plural == "services" else []

    def pods(self) -> list[Body]:
        return PODS

    def controller_revision(self, name: str) -> Body | None:
        return None

    def patch(self, plural: str, name: str, patch: Body) -> Body:
        self.patches.append((plural, name, patch))
        return self.services[0]


def _run(argv: list[str], source: _Source) -> str:
    out = io.StringIO()
    args: argparse.Namespace = cli.parser().parse_args(argv)
    assert cli.run(args, source, out) == 0
    return out.getvalue()


def test_update_service_force_new_deployment_sets_the_annotation_the_operator_rolls_on() -> None:
    body = {
        "metadata": {"name": "web-svc"},
        "spec": {"serviceName": "web", "taskDefinition": "web"},
    }
    source = _Source([body])
    printed = json.loads(
        _run(["update-service", "--service", "web", "--force-new-deployment", "-o", "json"], source)
    )
    assert printed["service"]["serviceName"] == "web"
    ((plural, name, patch),) = source.patches
    assert (plural, name) == ("services", "web-svc")
    assert keys.ANNOTATION_FORCE_NEW_DEPLOYMENT in patch["metadata"]["annotations"]
    assert "spec" not in patch  # the user's spec is left alone


def test_logs_and_execute_command_print_the_kubectl_command_they_hand_over_to() -> None:
    printed = _run(
        ["logs", "--task", "pair-0", "--container", "App", "--context", "dev"], _Source([])
    )
    assert printed.strip() == "kubectl --context=dev logs -n shop -c app pair-0"


def test_a_handoff_to_kubectl_leaves_no_copy_of_the_users_key_behind(tmp_path: Path) -> None:
    """The kubernetes client copies a kubeconfig's embedded client key and certificates into
    the temporary directory and removes them at exit, which an exec skips: each `kubectl ecs
    logs` left the user's private key in /tmp."""
    certs = pki.generate(tmp_path / "pki")
    kubeconfig = pki.write_kubeconfig(certs, "https://127.0.0.1:1", tmp_path / "kubeconfig")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    handoff_to_true = (
        "import sys; from ecs_operator.plugin import cli; "
        "cli._logs = lambda args, source: ['true']; "
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", handoff_to_true, "logs", "--cluster", "c", "--task", "t",
         "--kubeconfig", str(kubeconfig)],
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not list(scratch.iterdir())


def _steady_on_users_1(task_definition: str, generation: int) -> Body:
    """Service ``users`` of spec ``generation`` naming ``task_definition``, its status steady on
    users:1 as written for generation 1."""
    return {
        "metadata": {"name": "users", "namespace": "shop", "generation": generation},
        "spec": {"serviceName": "users", "taskDefinition": task_definition, "desiredCount": 1},
        "status": {
            "observedGeneration": 1,
            "desiredCount": 1,
            "runningCount": 1,
            "taskDefinition": "users:1",
            "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "users:1"}],
        },
    }


def test_a_service_whose_status_has_not_caught_up_with_its_spec_is_not_stable() -> None:
    """``kubectl apply`` of a new revision, then ``kubectl ecs wait services-stable``: the
    status still reads the previous generation's steady state (one COMPLETED deployment,
    running == desired) until the operator writes the next one, so the waiter returned in 1 s
    with the new revision not started (seen on a real node; the aws CLI's waiter against the
    ECS API, which shows the new PRIMARY at once, waited 46 s)."""
    body = _steady_on_users_1("users:2", generation=2)
    described = views.describe_services([body], "default", ["users"], Arns())
    assert actions.services_stable(described, views.behind_their_spec([body], [])) == (
        False,
        "not stable: users",
    )
    caught_up = {**body, "status": {**body["status"], "observedGeneration": 2}}
    assert actions.services_stable(described, views.behind_their_spec([caught_up], []))[0]


def _family(generation: int, observed: int, revision: int, deregistered: str = "") -> Body:
    annotations = {"ecs-operator.dev/deregistered-revisions": deregistered} if deregistered else {}
    return {
        "metadata": {"name": "users", "generation": generation, "annotations": annotations},
        "spec": {"family": "users"},
        "status": {"observedGeneration": observed, "revision": revision},
    }


@pytest.mark.parametrize(
    ("family", "stable"),
    [
        pytest.param(_family(2, 1, 1), False, id="revision-not-registered-yet"),
        pytest.param(_family(2, 2, 2), False, id="not-rolled-yet"),
        pytest.param(_family(1, 1, 1), True, id="on-the-latest"),
        pytest.param(_family(2, 2, 2, deregistered="2"), True, id="latest-deregistered"),
    ],
)
def test_a_service_following_a_family_is_stable_only_on_its_latest_revision(
    family: Body, stable: bool
) -> None:
    """``kubectl apply`` of a new revision of the family a Service follows (``taskDefinition:
    users``) changes no Service's spec, so its generation said nothing, and ``kubectl ecs wait
    services-stable`` returned at once on the old revision (seen by the kubectl audit): it now
    waits until the status runs the family's latest ACTIVE revision."""
    body = _steady_on_users_1("users", generation=1)
    described = views.describe_services([body], "default", ["users"], Arns())
    assert (
        actions.services_stable(described, views.behind_their_spec([body], [family]))[0] is stable
    )
