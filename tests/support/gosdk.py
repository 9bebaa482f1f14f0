"""The AWS SDK for Go v2's ECS client (devcluster/ecsgo, built on first use like the GitOps
tools), the client terraform-provider-aws, ecspresso and canarycage call ECS with, behind
botocore's calling convention, so one test body can drive the ECS API through either SDK.

What the Go SDK does differently from botocore is exactly what the tests want to see: it
signs its own headers, parses error codes its own way, and refuses an answer member of the
wrong type (a timestamp as a string, an integer as ``2.0``) with an error rather than a value.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

from tests.support.ecsapi import AccessKey


class GoSdkError(Exception):
    """An error the Go SDK returned: an ECS error code and message, or ``ClientSideError``
    for one it raised itself (an answer it could not deserialize, an unknown input member)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _operation(method: str) -> str:
    """botocore's method name -> its operation (``describe_services`` -> ``DescribeServices``)."""
    return "".join(word.capitalize() for word in method.split("_"))


class GoSdkEcs:
    """``ecs.describe_services(cluster=..., services=[...])`` answered through the Go SDK: one
    ``ecsgo`` process, a JSON line per call; answers as the ECS API names their members,
    timestamps as epoch seconds. ``wait("ServicesStable", seconds, **input)`` runs the SDK's
    own waiter."""

    def __init__(self, endpoint: str, key: AccessKey) -> None:
        from ecs_operator_devtools.devcluster import binaries

        env = {**key.env(endpoint), "AWS_REGION": "eu-west-1", "HOME": os.environ["HOME"]}
        self.process = subprocess.Popen(
            [str(binaries.tool("ecsgo", log=False))],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _send(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"ecsgo exited ({self.process.poll()})"
        answer = json.loads(line)
        if "error" in answer:
            raise GoSdkError(answer["error"]["code"], answer["error"]["message"])
        return dict(answer["output"])

    def __getattr__(self, method: str) -> Callable[..., dict[str, Any]]:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda **given: self._send({"call": _operation(method), "input": given})

    def wait(self, waiter: str, seconds: float, **given: Any) -> None:
        self._send({"wait": waiter, "seconds": seconds, "input": given})

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)
