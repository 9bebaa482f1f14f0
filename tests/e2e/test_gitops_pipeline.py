"""A GitOps controller's loop, played with the real tools (issue 17): ``kubectl apply
--server-side --prune`` with an ApplySet over three commits of a manifests directory (add a
Service, change its task definition, delete both), each followed by kstatus (what Flux waits
with) reading every applied object Current within a bound, and nothing left behind at the end
(the TaskDefinition, held by its in-use finalizer while the Service runs, goes with it). Once
Current, ``kubectl diff --server-side`` of the commit is empty: the operator writes status, a
TaskDefinition's finalizer and its own children, never what was applied."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.ecs import ec2_task_definition, resource, service, status
from tests.support.gitops import kstatus, snapshot
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

#: how long a sync may take to be Current (the services have health checks: no 40 s wait)
BOUND = 60
APPLYSET_ID = "applyset.kubernetes.io/id"
LEFTOVERS = "deployments,replicasets,pods,controllerrevisions"


def _commit(directory: Path, *objects: dict[str, Any]) -> None:
    """The directory as a commit leaves it: one file per object."""
    for old in directory.glob("*.yaml"):
        old.unlink()
    for obj in objects:
        (directory / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml").write_text(
            yaml.safe_dump(obj)
        )


def _sync(directory: Path, namespace: str) -> None:
    """What a GitOps controller runs for a commit: apply all, prune what left the directory."""
    os.environ["KUBECTL_APPLYSET"] = "true"
    try:
        kubectl(
            "apply", "--server-side", "--prune", "--applyset=gitops", "-n", namespace,
            "-f", str(directory),
        )  # fmt: skip
    finally:
        del os.environ["KUBECTL_APPLYSET"]


def _no_drift(directory: Path, namespace: str, tmp_path: Path) -> None:
    """``kubectl diff --server-side`` of the commit is empty (the ApplySet's membership label,
    which ``apply --applyset`` adds, is added to what is compared)."""
    parent = json.loads(kubectl("get", "secret", "gitops", "-n", namespace, "-o", "json").stdout)
    member = {"applyset.kubernetes.io/part-of": parent["metadata"]["labels"][APPLYSET_ID]}
    compared = []
    for path in sorted(directory.glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        obj["metadata"]["labels"] = {**obj["metadata"].get("labels", {}), **member}
        compared.append(obj)
    manifest = tmp_path / "compared.yaml"
    manifest.write_text(yaml.safe_dump_all(compared))
    shown = kubectl("diff", "--server-side", "-n", namespace, "-f", str(manifest), check=False)
    assert (shown.returncode, shown.stderr) == (0, ""), shown.stdout


def _current(namespace: str) -> bool:
    verdicts = kstatus(snapshot(namespace))
    return bool(verdicts) and set(verdicts.values()) == {"Current"}


def test_three_commits_add_change_and_delete_a_service(
    operator: OperatorProcess, kube: Kube, namespace: str, tmp_path: Path
) -> None:
    commits = tmp_path / "repository"
    commits.mkdir()
    cluster = resource("Cluster", "prod", {"clusterName": "prod"})
    web = service("web", "web", cluster="prod", desiredCount=2, launchType="EC2")

    _commit(commits, cluster, ec2_task_definition("web"), web)
    _sync(commits, namespace)
    wait_for(lambda: _current(namespace), BOUND, "commit 1 Current")
    assert status(kube, namespace, "Service", "web")["runningCount"] == 2
    _no_drift(commits, namespace, tmp_path)

    _commit(commits, cluster, ec2_task_definition("web", image="busybox:1.37"), web)
    _sync(commits, namespace)

    def rolled() -> bool:
        return status(kube, namespace, "Service", "web").get("taskDefinition") == "web:2"

    wait_for(lambda: rolled() and _current(namespace), BOUND, "commit 2 rolled out and Current")
    images = {c.image for p in kube.pods(namespace) for c in p.spec.containers}
    assert images == {"busybox:1.37"}
    _no_drift(commits, namespace, tmp_path)

    _commit(commits, cluster)
    _sync(commits, namespace)

    def gone() -> bool:
        left = json.loads(snapshot(namespace))["items"]
        children = json.loads(kubectl("get", LEFTOVERS, "-n", namespace, "-o", "json").stdout)
        return [o["kind"] for o in left] == ["Cluster"] and not children["items"]

    wait_for(gone, BOUND, "the Service, its TaskDefinition and their children gone")
    assert _current(namespace)
