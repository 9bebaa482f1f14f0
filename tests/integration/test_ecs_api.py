"""`ecs-operator api` on the devcluster, with the operator running: the aws CLI's workflows
unchanged, and authentication and RBAC refusals that change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.session import get_session
from tests.support.ecsapi import AccessKey, ApiProcess, access_key
from tests.support.kube import kubectl
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).parent / "scripts" / "aws-cli-workflows.sh"


@pytest.fixture
def api(namespace: str, tmp_path: Path) -> Iterator[ApiProcess]:
    """The API, its access keys in the test's namespace."""
    process = ApiProcess.start(tmp_path, namespace)
    try:
        yield process
    finally:
        process.stop()


def quick_waiters(directory: Path) -> Path:
    """A botocore data path (AWS_DATA_PATH) with the aws CLI's own ECS waiters, their acceptors
    unchanged and their delays 1 s instead of 6-15 s: the test waits as the CLI does, minus
    half a minute of sleeping."""
    import awscli

    name = Path("ecs") / "2014-11-13" / "waiters-2.json"
    waiters = json.loads((Path(awscli.__file__).parent / "botocore" / "data" / name).read_text())
    for waiter in waiters["waiters"].values():
        waiter["delay"] = 1
    (directory / name).parent.mkdir(parents=True)
    (directory / name).write_text(json.dumps(waiters))
    return directory


def test_the_aws_cli_deploys_rolls_runs_and_deletes(
    operator: OperatorProcess, api: ApiProcess, namespace: str, tmp_path: Path
) -> None:
    key = access_key(namespace, "deployer", "AKIADEPLOYER")
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**os.environ, **key.env(api.endpoint), "NAMESPACE": namespace, "PATH": path}
    env["AWS_DATA_PATH"] = str(quick_waiters(tmp_path / "models"))
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{result.stderr}\n--- api log ---\n{api.log.read_text()}"


def _client(api: ApiProcess, key: AccessKey, secret: str | None = None):  # type: ignore[no-untyped-def]
    return get_session().create_client(
        "ecs",
        region_name="eu-west-1",
        endpoint_url=api.endpoint,
        aws_access_key_id=key.key,
        aws_secret_access_key=secret or key.secret,
    )


def _code(call) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_refused_keys_get_4xx_and_change_nothing(
    crds: Path, api: ApiProcess, namespace: str
) -> None:
    deployer = access_key(namespace, "deployer", "AKIADEPLOYER")
    nobody = access_key(namespace, "nobody", "AKIANOBODY", rules="")
    stranger = AccessKey("AKIASTRANGER", "whatever")
    family = {"family": "web", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}

    def register(client) -> None:  # type: ignore[no-untyped-def]
        client.register_task_definition(**family)

    assert _code(lambda: register(_client(api, deployer, "wrong"))) == (
        "InvalidSignatureException",
        403,
    )
    assert _code(lambda: register(_client(api, stranger))) == ("UnrecognizedClientException", 403)
    assert _code(lambda: register(_client(api, nobody))) == ("AccessDeniedException", 400)
    left = kubectl("get", "taskdefinitions.ecs-operator.dev", "-n", namespace, "-o", "name")
    assert left.stdout == ""
    good = _client(api, deployer)
    assert _code(lambda: good.describe_task_definition(taskDefinition="web")) == (
        "ClientException",
        400,
    )
    assert _code(lambda: good.delete_cluster(cluster="nowhere")) == (
        "ClusterNotFoundException",
        400,
    )
