"""The operator as users run it: the chart installed by Helm with the image `make image` builds,
on a real node (tests/e2e/real/).

The image is imported into the node's containerd (nothing is pulled: ``pullPolicy: Never``),
the chart's nodeSelector puts the pod on node pool ``real``, and the install waits until the
Deployment is Available through the pod's own readiness probe. From then on the operator
under test is that pod: the chart's ServiceAccount token, projected by the kubelet, and the
chart's RBAC, reaching the API server through the ``kubernetes`` Service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ecs_operator_devtools.devcluster.nodeconfig import POOL as REAL_POOL
from tests.support.chart import CHART, RELEASE, SYSTEM, helm, set_flags
from tests.support.kube import kubectl

SELECTOR = "app.kubernetes.io/component=operator"


@dataclass(frozen=True)
class OperatorPod:
    """The chart's operator, installed and Available: where it runs and how long that took."""

    reference: str
    install_seconds: float

    @staticmethod
    def pod() -> dict[str, object]:
        """The operator's pod (the Deployment's only replica)."""
        import json

        listed = kubectl("get", "pods", "-n", SYSTEM, "-l", SELECTOR, "-o", "json").stdout
        items: list[dict[str, object]] = json.loads(listed)["items"]
        assert len(items) == 1, [i["metadata"] for i in items]  # type: ignore[index]
        return items[0]

    @staticmethod
    def exec(*command: str, check: bool = True) -> str:
        result = kubectl("exec", "-n", SYSTEM, f"deployment/{RELEASE}", "--", *command, check=check)
        return result.stdout + result.stderr

    @staticmethod
    def logs() -> str:
        return kubectl(
            "logs", "-n", SYSTEM, f"deployment/{RELEASE}", "--tail=200", check=False
        ).stdout


def install(repository: str, tag: str, timeout: int = 180) -> OperatorPod:
    """helm install the chart with the locally built image onto node pool ``real``, and wait
    for the Deployment to be Available (helm's --wait: the pod Ready through its probe)."""
    if helm("status", RELEASE, "--namespace", SYSTEM, check=False).returncode == 0:
        helm("uninstall", RELEASE, "--namespace", SYSTEM, "--wait")
    values = {
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "nodeSelector.ecs-operator\\.dev/node-pool": REAL_POOL,
        "logFormat": "text",
    }
    started = time.monotonic()
    result = helm(
        "install", RELEASE, str(CHART), "--namespace", SYSTEM, "--create-namespace",
        *set_flags(values), "--wait", "--timeout", f"{timeout}s", check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"helm install: {result.stderr}\n{diagnosis()}"
    kubectl(
        "wait", "-n", SYSTEM, f"deployment/{RELEASE}", "--for=condition=Available", "--timeout=10s"
    )
    return OperatorPod(f"{repository}:{tag}", time.monotonic() - started)


def diagnosis() -> str:
    """What the operator's pod went through, for a failed install: its state, events, log."""
    pods = kubectl("get", "pods", "-n", SYSTEM, "-l", SELECTOR, "-o", "wide", check=False)
    events = kubectl(
        "get", "events", "-n", SYSTEM, "--sort-by=.lastTimestamp", check=False
    ).stdout.splitlines()[-15:]
    return "\n".join([pods.stdout + pods.stderr, *events, "log:", OperatorPod.logs()])


def uninstall() -> None:
    if helm("status", RELEASE, "--namespace", SYSTEM, check=False).returncode == 0:
        helm("uninstall", RELEASE, "--namespace", SYSTEM, "--wait", "--timeout", "60s")
