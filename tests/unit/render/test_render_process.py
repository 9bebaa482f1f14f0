"""Process: entryPoint/command copied (not swapped), env, secrets and env files by convention."""

from __future__ import annotations

import pytest

from ecs_operator.render.secrets import SecretSource, parse_value_from

from .helpers import (
    container,
    containers,
    fargate,
    findings_at,
    kubelet_expand,
    render,
    spec,
    task,
)

SM = "arn:aws:secretsmanager:us-east-1:123456789012:secret"


def test_entry_point_is_command_and_command_is_args() -> None:
    cd = container(entryPoint=["/bin/app"], command=["--port", "80"], workingDirectory="/srv")
    app = containers(render(task([cd])))["app"]
    assert (app["command"], app["args"], app["workingDir"]) == (
        ["/bin/app"],
        ["--port", "80"],
        "/srv",
    )


def test_command_alone_keeps_the_image_entry_point() -> None:
    app = containers(render(task([container(command=["serve"])])))["app"]
    assert "command" not in app and app["args"] == ["serve"]


def test_environment_in_order_then_secrets() -> None:
    cd = container(
        environment=[{"name": "B", "value": "2"}, {"name": "A"}, {"value": "nameless"}],
        secrets=[{"name": "PW", "valueFrom": f"{SM}:db-AbCdEf:password::"}],
    )
    rendered = render(task([cd]))
    agent, *env = containers(rendered)["app"]["env"]
    assert agent["name"] == "AWS_EXECUTION_ENV"
    assert env[:2] == [{"name": "B", "value": "2"}, {"name": "A", "value": ""}]
    assert env[2]["valueFrom"]["secretKeyRef"]["key"] == "password"
    assert findings_at(rendered, "containerDefinitions[0].environment[2]")


@pytest.mark.parametrize(
    ("value_from", "source"),
    [
        (f"{SM}:prod/db-AbCdEf", SecretSource("secretsmanager", "prod/db-AbCdEf")),
        (f"{SM}:db:user::", SecretSource("secretsmanager", "db", "user")),
        (f"{SM}:db::AWSPREVIOUS:", SecretSource("secretsmanager", "db", "", "AWSPREVIOUS")),
        (f"{SM}:db:k::v1", SecretSource("secretsmanager", "db", "k", "", "v1")),
        ("arn:aws:ssm:us-east-1:1:parameter/prod/db", SecretSource("ssm", "/prod/db")),
        ("arn:aws:ssm:us-east-1:1:parameter/flat", SecretSource("ssm", "/flat")),
        ("db_password", SecretSource("ssm", "db_password")),
    ],
)
def test_secret_references_parse(value_from: str, source: SecretSource) -> None:
    assert parse_value_from(value_from) == source


def test_secret_naming_convention() -> None:
    assert SecretSource("secretsmanager", "db").k8s_name == "sm-db"
    assert SecretSource("ssm", "/flat").k8s_name == "ssm-flat"
    assert SecretSource("ssm", "db").k8s_key == "value"
    pinned = SecretSource("secretsmanager", "db", "k", "AWSPREVIOUS")
    assert pinned.k8s_name.startswith("sm-db-awsprevious-") and pinned.k8s_key == "k"


def test_secrets_are_reported_as_required_objects() -> None:
    cd = container(secrets=[{"name": "A", "valueFrom": "p1"}, {"name": "B", "valueFrom": "p1"}])
    refs = render(task([cd])).references
    assert [(r.kind, r.name, r.key) for r in refs] == [("Secret", "ssm-p1", "value")]


def test_environment_files_and_registry_credentials() -> None:
    cd = container(
        environmentFiles=[{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}],
        repositoryCredentials={"credentialsParameter": f"{SM}:registry"},
    )
    rendered = render(task([cd]))
    app = containers(rendered)["app"]
    assert app["envFrom"][0]["configMapRef"]["name"].startswith("envfile-bucket-app-env-")
    assert spec(rendered)["imagePullSecrets"] == [{"name": "regcred-registry"}]
    kinds = {(r.kind, r.details.get("type")) for r in rendered.references}
    assert ("Secret", "kubernetes.io/dockerconfigjson") in kinds and ("ConfigMap", None) in kinds


def test_invalid_environment_names_are_reported() -> None:
    rendered = render(task([container(environment=[{"name": "A=B", "value": "x"}])]))
    assert [e["name"] for e in containers(rendered)["app"]["env"]] == ["AWS_EXECUTION_ENV"]
    assert findings_at(rendered, "containerDefinitions[0].environment[0].name")


def test_interactive_and_tty() -> None:
    app = containers(render(task([container(interactive=True, pseudoTerminal=True)])))["app"]
    assert app["stdin"] is True and app["tty"] is True


def test_dollar_signs_reach_the_container_as_ecs_hands_them_to_docker() -> None:
    """ECS hands ``entryPoint``, ``command`` and ``environment`` to Docker as written; the
    kubelet turns ``$$`` into ``$`` and ``$(NAME)`` into NAME's value. Seen on a real node:
    ``echo $$`` printed ``$`` where the shell's PID was meant, and a password ``s3cr$$et``
    arrived as ``s3cr$et``. The same holds for a RunTask's overrides, applied before this."""
    cd = container(
        entryPoint=["/bin/sh", "-c"],
        command=["echo $$ > /run/app.pid; exec app --queue '$(QUEUE)' --cost $5"],
        environment=[
            {"name": "QUEUE", "value": "jobs"},
            {"name": "DB_PASSWORD", "value": "s3cr$$et"},
            {"name": "TEMPLATE", "value": "$(QUEUE)-dead-letter"},
        ],
    )
    app = containers(render(task([cd])))["app"]
    env: dict[str, str] = {}
    for var in app["env"]:
        if "value" in var:
            env[var["name"]] = kubelet_expand(var["value"], env)
    argv = [kubelet_expand(a, env) for a in [*app["command"], *app["args"]]]
    assert argv == [*cd["entryPoint"], *cd["command"]]
    assert {name: env[name] for name in ("QUEUE", "DB_PASSWORD", "TEMPLATE")} == {
        pair["name"]: pair["value"] for pair in cd["environment"]
    }


def test_no_docker_link_variables_for_the_namespaces_services() -> None:
    """On ECS a container's environment is its task definition's and the agent's. With
    Kubernetes' default ``enableServiceLinks`` a pod also gets ``API_PORT=tcp://10.96.x.y:80``,
    ``API_SERVICE_HOST``, ... for every Service of its namespace (the operator makes one per
    ECS service, Service Connect alias and discovery name): an application reading ``API_PORT``
    with a default when unset, as it was on ECS, read a URL (seen on a real node)."""
    assert spec(render(task()))["enableServiceLinks"] is False


@pytest.mark.parametrize(
    ("capacity", "expected"), [({}, "AWS_ECS_EC2"), (fargate(), "AWS_ECS_FARGATE")]
)
def test_every_container_learns_it_runs_on_ecs_as_the_agent_tells_it(
    capacity: dict[str, object], expected: str
) -> None:
    """The ECS agent gives every container ``AWS_EXECUTION_ENV`` (``AWS_ECS_EC2``, or
    ``AWS_ECS_FARGATE``): the AWS SDKs put it in their user agent, and applications branch on
    it. A container's own value stands."""
    app = containers(render(task(), **capacity))["app"]
    assert {"name": "AWS_EXECUTION_ENV", "value": expected} in app["env"]
    own = container(environment=[{"name": "AWS_EXECUTION_ENV", "value": "mine"}])
    env = containers(render(task([own])))["app"]["env"]
    assert [e["value"] for e in env if e["name"] == "AWS_EXECUTION_ENV"] == ["mine"]
