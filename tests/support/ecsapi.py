"""``ecs-operator api`` as a process, and access keys for it: a ServiceAccount with a Role, and
the labelled Secret that binds a key to it (docs/ecs-api.md, "Authentication")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ecs_operator_devtools.demo_api import DEPLOYER_RULES, key_manifest
from tests.support.kube import kubectl, wait_for
from tests.support.operator import _free_port


@dataclass(frozen=True)
class AccessKey:
    key: str
    secret: str

    def env(self, endpoint: str) -> dict[str, str]:
        """The environment an aws CLI or SDK needs to call the API with this key."""
        return {
            "AWS_ENDPOINT_URL_ECS": endpoint,
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }


def access_key(
    namespace: str,
    account: str,
    key: str,
    rules: str = DEPLOYER_RULES,
    secret: str | None = None,
) -> AccessKey:
    """A ServiceAccount ``account`` in ``namespace`` allowed ``rules`` (none when empty), and
    an access key (Secret in ``namespace``) acting as it; its secret ``secret-of-<key>``
    unless given."""
    secret = secret or f"secret-of-{key}"
    manifest = key_manifest(namespace, namespace, account, (key, secret), rules)
    kubectl("apply", "-f", "-", input=manifest)
    return AccessKey(key, secret)


@dataclass
class ApiProcess:
    process: subprocess.Popen[bytes]
    log: Path
    endpoint: str

    @classmethod
    def start(cls, directory: Path, namespace: str) -> ApiProcess:
        """`ecs-operator api` reading its access keys from ``namespace``."""
        port = _free_port()
        log = directory / f"api-{int(time.time() * 1000)}.log"
        command = [
            sys.executable, "-m", "ecs_operator.cli", "api",
            "--host", "127.0.0.1", "--port", str(port), "--namespace", namespace,
        ]  # fmt: skip
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        started = cls(process, log, f"http://127.0.0.1:{port}")
        wait_for(started.ready, 30, "the ECS API to start")
        return started

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the API exited:\n{self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{self.endpoint}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
