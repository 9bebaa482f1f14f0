"""``ecs-operator api`` as a process, and access keys for it: a ServiceAccount with a Role, and
the labelled Secret that binds a key to it (docs/ecs-api.md, "Authentication")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ecs_operator_devtools.demo_api import DEPLOYER_RULES, key_manifest
from tests.support.kube import kubectl, wait_for
from tests.support.operator import free_port


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
    metrics_endpoint: str

    @classmethod
    def start(cls, directory: Path, namespace: str) -> ApiProcess:
        """`ecs-operator api` reading its access keys from ``namespace``."""
        port, metrics_port = free_port(), free_port()
        log = directory / f"api-{int(time.time() * 1000)}.log"
        command = [
            sys.executable, "-m", "ecs_operator.cli", "api",
            "--host", "127.0.0.1", "--port", str(port), "--namespace", namespace,
            "--metrics-port", str(metrics_port), "--metrics-address", "127.0.0.1",
        ]  # fmt: skip
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        started = cls(
            process, log, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
        )
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

    def requests(self) -> Counter[tuple[str, str]]:
        """``ecs_operator_ecsapi_requests_total`` as scraped: (operation, code) -> count."""
        with urllib.request.urlopen(self.metrics_endpoint, timeout=5) as answer:
            text = answer.read().decode()
        counts: Counter[tuple[str, str]] = Counter()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "ecs_operator_ecsapi_requests_total":
                    counts[sample.labels["operation"], sample.labels["code"]] += int(sample.value)
        return counts

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


#: the aws CLI's driver serving commands, one JSON list of arguments a line on stdin, one JSON
#: [exit code, stdout, stderr] a line on stdout; an answer ECS could not send
#: (``ecs_answers``, loaded by its path: this directory's ``operator`` module would shadow the
#: standard library's) fails its command
ANSWERS = Path(__file__).with_name("ecs_answers.py")
_CLI_SERVER = f"""
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from awscli.clidriver import create_clidriver
import importlib.util
spec = importlib.util.spec_from_file_location("ecs_answers", {str(ANSWERS)!r})
ecs_answers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ecs_answers)
for line in sys.stdin:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        driver = create_clidriver()
        driver.session.register("before-parse.ecs", ecs_answers.check)
        try:
            code = driver.main(json.loads(line))
        except SystemExit as exit:
            code = exit.code
    print(json.dumps([code, out.getvalue(), err.getvalue()]), flush=True)
"""


class AwsCli:
    """`aws ecs ...` as a user types it, with the environment ``env``. The first command runs
    the installed `aws` program; the others go to one process running the same CLI (its
    driver: argument parsing, --cli-input-json, --query, waiters, output), which saves the
    program's start-up (about 1.5 s, twenty times a workflow) and nothing the API server
    sees. (Not in the test's own process: importing awscli swaps the botocore it imports.)"""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.server: subprocess.Popen[str] | None = None

    def __call__(self, *args: str) -> str:
        if self.server is None:
            done = subprocess.run(
                ["aws", "ecs", *args], env=self.env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, f"aws ecs {' '.join(args)}: {done.stderr}"
            self.server = subprocess.Popen(
                [sys.executable, "-c", _CLI_SERVER],
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            return done.stdout.strip()
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(json.dumps(["ecs", *args]) + "\n")
        self.server.stdin.flush()
        answer = self.server.stdout.readline()
        assert answer, f"the aws CLI's driver exited ({self.server.poll()})"
        code, out, err = json.loads(answer)
        assert code == 0, f"aws ecs {' '.join(args)} exited {code}: {err}"
        return str(out).strip()

    def close(self) -> None:
        if self.server is not None:
            self.server.communicate(timeout=10)
