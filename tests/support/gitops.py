"""Our objects judged by the code GitOps tools judge health with: kstatus (sigs.k8s.io/cli-utils,
what Flux uses) and our Argo CD Lua scripts run in gopher-lua (Argo CD's interpreter), both as
the small Go tools of devcluster/kstatus and devcluster/argolua, built on first use."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.kube import kubectl

REPO = Path(__file__).resolve().parents[2]
ARGOCD = REPO / "gitops" / "argocd"
HEALTH = ARGOCD / "health.lua"
ECS_KINDS = ",".join(
    f"{plural}.ecs-operator.dev" for plural in ("taskdefinitions", "services", "tasks", "clusters")
)


def snapshot(namespace: str) -> str:
    """Every ECS object of a namespace as ``kubectl get -o json`` prints them (a List)."""
    return kubectl("get", ECS_KINDS, "-n", namespace, "-o", "json").stdout


def _tool(name: str, *args: str, objects: str) -> list[dict[str, str]]:
    from ecs_operator_devtools.devcluster import binaries

    done = subprocess.run(
        [str(binaries.tool(name, log=False)), *args],
        input=objects,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def kstatus(objects: str) -> dict[str, str]:
    """``Kind/name`` -> kstatus's verdict (Current, InProgress, Failed, Terminating)."""
    return {f"{v['kind']}/{v['name']}": v["status"] for v in _tool("kstatus", objects=objects)}


def argo_health(objects: str) -> dict[str, str]:
    """``Kind/name`` -> our health.lua's answer as Argo CD would take it."""
    lines = _tool("argolua", "health", str(HEALTH), objects=objects)
    return {f"{v['kind']}/{v['name']}": v["status"] for v in lines}


def argo_action(action: str, obj: str) -> dict[str, object]:
    """The object an Argo CD resource action returns (Argo CD then patches the live one)."""
    script = ARGOCD / "actions" / f"{action}.lua"
    result: dict[str, object] = _tool("argolua", "action", str(script), objects=obj)[0]
    return result
