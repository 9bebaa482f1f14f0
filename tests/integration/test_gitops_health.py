"""Flux and Argo CD judging our objects with their own code (issue 17): every state a user meets,
set up at once in one namespace, then read in one snapshot by kstatus (sigs.k8s.io/cli-utils,
what Flux's health checks run) and by our Argo CD health script in gopher-lua (Argo CD's
interpreter). The mapping they must agree on is docs/gitops.md's table. Meanwhile the operator
writes nothing of what was applied: ``kubectl diff`` stays empty, whatever the state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.ecs import apply, ec2_task_definition, resource, service, status
from tests.support.gitops import argo_action, argo_health, kstatus, snapshot
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

pytestmark = pytest.mark.integration

#: more memory than any EC2 node of the devcluster has: its tasks are never placed
UNPLACEABLE = 65536
FORCE_NEW_DEPLOYMENT = "ecs-operator.dev/force-new-deployment"
BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": False}}


def _task(name: str, task_definition: str, **annotations: str) -> dict[str, Any]:
    spec = {"taskDefinition": task_definition, "launchType": "EC2"}
    return resource("Task", name, spec, annotations=annotations)


def _objects() -> list[dict[str, Any]]:
    huge = ec2_task_definition("huge")
    huge["spec"]["containerDefinitions"][0]["memory"] = UNPLACEABLE
    fraction = ec2_task_definition("fraction", cpu="0.1 vCPU")
    # accepted at apply, refused by the operator (ECS: "Network Configuration is not valid for
    # the given networkMode"): the web task definition uses bridge networking
    misfit = {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"]}}}
    return [
        ec2_task_definition("web"),
        ec2_task_definition("crashing", image="busybox:crashloop"),
        huge,
        fraction,
        service("web", "web", desiredCount=2, launchType="EC2"),
        service("idle", "web", desiredCount=0, launchType="EC2"),
        service("agent", "web", schedulingStrategy="DAEMON", launchType="EC2"),
        service("stuck", "huge", desiredCount=1, launchType="EC2"),
        service("orphan", "nowhere", desiredCount=1, launchType="EC2"),
        service("misfit", "web", desiredCount=1, launchType="EC2", **misfit),
        service(
            "broken", "crashing", desiredCount=2, launchType="EC2", deploymentConfiguration=BREAKER
        ),
        _task("running", "web"),
        _task("done", "web", **{"sim.ecs-operator.dev/exit-code": "0"}),
        _task("crashed", "web", **{"sim.ecs-operator.dev/exit-code": "3"}),
        _task("waiting", "huge"),
    ]


#: Kind/name -> (kstatus, Argo CD health)
EXPECTED = {
    "Cluster/default": ("Current", "Healthy"),
    "TaskDefinition/web": ("Current", "Healthy"),
    "TaskDefinition/crashing": ("Current", "Healthy"),  # registered: its image is not its own
    "TaskDefinition/huge": ("Current", "Healthy"),
    "TaskDefinition/fraction": ("Failed", "Degraded"),  # the spec breaks an ECS rule
    "Service/web": ("Current", "Healthy"),
    "Service/idle": ("Current", "Suspended"),
    "Service/agent": ("Current", "Healthy"),  # a DAEMON, one task per EC2 instance
    "Service/stuck": ("InProgress", "Progressing"),  # converging: its task cannot be placed yet
    "Service/orphan": ("InProgress", "Missing"),  # its task definition may still be applied
    "Service/misfit": ("Failed", "Degraded"),  # the operator refuses its spec
    "Service/broken": ("Failed", "Degraded"),  # the circuit breaker failed the deployment
    "Task/running": ("Current", "Healthy"),
    "Task/done": ("Current", "Healthy"),  # STOPPED, exit 0: done, as a Job is Complete
    "Task/crashed": ("Failed", "Degraded"),  # STOPPED, essential container exited 3
    "Task/waiting": ("InProgress", "Progressing"),
}


def test_flux_and_argo_cd_read_every_state_of_every_kind(
    operator: OperatorProcess, kube: Kube, namespace: str, tmp_path: Path
) -> None:
    objects = _objects()
    # before the operator has seen them (a server-side dry run: the API server's defaults),
    # every kind reads as not observed yet, never as done
    fresh = kubectl(
        "create",
        "--dry-run=server",
        "-n",
        namespace,
        "-o",
        "json",
        "-f",
        "-",
        input=yaml.safe_dump_all(objects),
    ).stdout
    fresh_list = json.dumps({"apiVersion": "v1", "kind": "List", "items": _items(fresh)})
    assert set(kstatus(fresh_list).values()) == {"InProgress"}
    assert set(argo_health(fresh_list).values()) == {"Progressing"}

    apply(namespace, *objects)

    seen: dict[str, Any] = {}

    def settled() -> bool:
        objects = snapshot(namespace)  # both judge one snapshot
        flux, argo = kstatus(objects), argo_health(objects)
        seen.clear()
        seen.update({name: (flux[name], argo.get(name)) for name in flux})
        tasks = {
            o["metadata"]["name"]: o for o in json.loads(objects)["items"] if o["kind"] == "Task"
        }
        done = (tasks["done"].get("status") or {}).get("lastStatus") == "STOPPED"
        return done and seen == EXPECTED

    try:
        wait_for(settled, 90, "kstatus's and Argo CD's verdicts, the task 'done' STOPPED")
    except AssertionError:
        assert seen == EXPECTED  # (which differ)
        raise

    # the operator wrote no field of what was applied (client-side, as kubectl and Argo CD do)
    manifest = tmp_path / "applied.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    shown = kubectl("diff", "-n", namespace, "-f", str(manifest), check=False)
    assert (shown.returncode, shown.stdout) == (0, ""), shown.stderr

    # kubectl get ecs: the cluster a Service names by default, a DAEMON's number of instances
    printed = kubectl("get", "ecssvc", "agent", "-n", namespace, "--no-headers").stdout.split()
    instances = status(kube, namespace, "Service", "agent")["desiredCount"]
    assert instances > 1
    assert printed[1:4] == ["default", "web", str(instances)]  # CLUSTER TASKDEFINITION DESIRED

    # Argo CD's "restart" action (ECS's --force-new-deployment): Argo CD patches what it returns
    live = kubectl("get", "services.ecs-operator.dev", "web", "-n", namespace, "-o", "json")
    restarted: Any = argo_action("restart", live.stdout)
    token = restarted["metadata"]["annotations"][FORCE_NEW_DEPLOYMENT]
    patch = {"metadata": {"annotations": {FORCE_NEW_DEPLOYMENT: token}}}
    kubectl(
        "patch",
        "services.ecs-operator.dev",
        "web",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )

    def replaced() -> bool:
        fresh = [
            p
            for p in kube.pods(namespace)
            if (p.metadata.annotations or {}).get(FORCE_NEW_DEPLOYMENT) == token
            and p.status.phase == "Running"
        ]
        return len(fresh) == 2

    wait_for(replaced, 60, "two new tasks of web")
    # how a script waits (docs/gitops.md)
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "ecssvc/web", "--timeout=60s")
    kubectl("wait", "-n", namespace, "--for=condition=Stopped", "ecstask/done", "--timeout=5s")


def _items(printed: str) -> list[dict[str, Any]]:
    """``kubectl create -o json`` of several objects prints them one after another."""
    decoder, items, at = json.JSONDecoder(), [], 0
    while at < len(printed.strip()):
        item, at = decoder.raw_decode(printed, at)
        items.append(item)
        while at < len(printed) and printed[at].isspace():
            at += 1
    return items
