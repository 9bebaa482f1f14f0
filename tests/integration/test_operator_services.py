"""User stories for ECS Services on the real control plane, with the operator running as a
process: Fargate services, revisions and rollback, capacity provider splits, daemons."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.ecs import (
    apply,
    condition,
    ec2_task_definition,
    events,
    fargate_task_definition,
    resource,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator import nodes

pytestmark = pytest.mark.integration


def _running_pods(kube: Kube, namespace: str, selector: str = "") -> list[Any]:
    return [
        p
        for p in kube.pods(namespace, selector)
        if p.status.phase == "Running" and not p.metadata.deletion_timestamp
    ]


def _node_labels(kube: Kube, pod: Any) -> dict[str, str]:
    return dict(kube.node(pod.spec.node_name).metadata.labels)


def test_fargate_web_service_reaches_steady_state(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("web"),
        service("web", "web", desiredCount=3, launchType="FARGATE"),
    )

    current = wait_steady(kube, namespace, "web", 3)

    assert current["desiredCount"] == 3 and current["pendingCount"] == 0
    assert current["deployments"][0]["status"] == "PRIMARY"
    assert current["deployments"][0]["rolloutState"] == "COMPLETED"
    assert current["taskDefinition"] == "web:1"
    pods = _running_pods(kube, namespace)
    assert len(pods) == 3
    assert all(_node_labels(kube, p)[nodes.LABEL_VK_TYPE] == nodes.VK_TYPE for p in pods)
    wait_for(
        lambda: "(service web) has reached a steady state." in events(namespace, "web"), 10, "event"
    )
    started = [re.search(r"has started (\d+) tasks", m) for m in events(namespace, "web")]
    assert sum(int(m.group(1)) for m in started if m) == 3


def test_new_revision_rolls_the_service_and_pinning_rolls_back(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        fargate_task_definition("api"),
        service("api", "api", desiredCount=2, launchType="FARGATE"),
    )
    wait_steady(kube, namespace, "api", 2)

    apply(namespace, fargate_task_definition("api", image="public.ecr.aws/nginx/nginx:1.28"))

    def rolled() -> bool:
        current = status(kube, namespace, "Service", "api")
        return (
            current.get("taskDefinition") == "api:2"
            and condition(current, "Ready").get("status") == "True"
        )

    wait_for(rolled, 90, "the service to roll to api:2")
    revisions = status(kube, namespace, "TaskDefinition", "api")["revisions"]
    assert [(r["revision"], r["status"]) for r in revisions] == [(1, "ACTIVE"), (2, "ACTIVE")]
    images = {c.image for p in _running_pods(kube, namespace) for c in p.spec.containers}
    assert images == {"public.ecr.aws/nginx/nginx:1.28"}
    deployment = kube.apps.read_namespaced_deployment("api", namespace)
    assert deployment.spec.strategy.rolling_update.max_surge == 2  # 200 % of 2 tasks - 2
    assert deployment.spec.strategy.rolling_update.max_unavailable == 0  # 100 % healthy

    apply(namespace, service("api", "api:1", desiredCount=2, launchType="FARGATE"))

    def rolled_back() -> bool:
        current = status(kube, namespace, "Service", "api")
        pods = _running_pods(kube, namespace)
        return current.get("taskDefinition") == "api:1" and {
            c.image for p in pods for c in p.spec.containers
        } == {"public.ecr.aws/nginx/nginx:1.27"}

    wait_for(rolled_back, 90, "the pinned service to roll back to api:1")


def _with_environment(names: list[str]) -> dict[str, Any]:
    definition = fargate_task_definition("env")
    environment = [{"name": name, "value": "1"} for name in names]
    definition["spec"]["containerDefinitions"][0]["environment"] = environment
    return definition


def test_what_a_new_revision_or_service_leaves_out_goes_from_its_deployment(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """An environment variable dropped from the task definition, and a placement constraint
    dropped from the service, go from the Deployment. (The Deployment used to be created by a
    POST, whose fields no later server-side apply can remove: both stayed for good.)"""
    distinct = [{"type": "distinctInstance"}]
    apply(
        namespace,
        _with_environment(["KEEP", "DROP"]),
        service("env", "env", desiredCount=1, launchType="FARGATE", placementConstraints=distinct),
    )
    wait_steady(kube, namespace, "env", 1)
    deployment = kube.apps.read_namespaced_deployment("env", namespace)
    assert deployment.spec.template.spec.affinity is not None

    apply(
        namespace,
        _with_environment(["KEEP"]),
        service("env", "env", desiredCount=1, launchType="FARGATE"),
    )

    def dropped() -> bool:
        template = kube.apps.read_namespaced_deployment("env", namespace).spec.template
        names = [e.name for e in template.spec.containers[0].env or []]
        return "DROP" not in names and "KEEP" in names and template.spec.affinity is None

    wait_for(dropped, 60, "the variable and the anti-affinity gone from the Deployment")


def test_an_objects_fields_an_earlier_version_created_go_once_it_no_longer_renders_them(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """A Deployment an earlier version created with a POST: what the POST set is owned by the
    operator's "Update" entry, which no apply removes. A patch under the operator's field
    manager makes such an entry (an environment variable the operator does not render); the
    operator's next change moves it into its apply's entry, and the variable goes."""
    apply(namespace, _with_environment(["KEEP"]), service("env", "env", desiredCount=1))
    wait_steady(kube, namespace, "env", 1)
    legacy = {"name": "app", "env": [{"name": "LEGACY", "value": "1"}]}
    patch = {"spec": {"template": {"spec": {"containers": [legacy]}}}}
    kubectl(
        "patch",
        "deployment",
        "env",
        "-n",
        namespace,
        "--field-manager=ecs-operator",
        "-p",
        json.dumps(patch),
    )

    changed = _with_environment(["KEEP"])
    changed["spec"]["containerDefinitions"][0]["image"] = "public.ecr.aws/nginx/nginx:1.28"
    apply(namespace, changed)

    def migrated() -> bool:
        template = kube.apps.read_namespaced_deployment("env", namespace).spec.template
        names = [e.name for e in template.spec.containers[0].env or []]
        gone = "LEGACY" not in names and "KEEP" in names
        return gone and template.spec.containers[0].image.endswith(":1.28")

    wait_for(migrated, 60, "the variable gone with the new revision")


def _providers(kube: Kube, namespace: str) -> Counter[str]:
    counted: Counter[str] = Counter()
    for pod in _running_pods(kube, namespace):
        labels = _node_labels(kube, pod)
        pool = labels.get(nodes.LABEL_NODE_POOL)
        counted[pool or f"fargate-{labels[nodes.LABEL_CAPACITY_TYPE]}"] += 1
    return counted


def test_fargate_strategy_splits_base_then_weight_and_resplits_on_scale(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    strategy = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3},
    ]
    apply(
        namespace,
        fargate_task_definition("split"),
        service("split", "split", desiredCount=9, capacityProviderStrategy=strategy),
    )
    wait_steady(kube, namespace, "split", 9)
    assert _providers(kube, namespace) == {"fargate-on-demand": 3, "fargate-spot": 6}

    kubectl("scale", "-n", namespace, "ecssvc/split", "--replicas=5")
    wait_for(
        lambda: _providers(kube, namespace) == {"fargate-on-demand": 2, "fargate-spot": 3},
        60,
        "the split to follow the scale",
    )
    wait_steady(kube, namespace, "split", 5)


def test_ec2_strategy_splits_over_node_pools(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    cluster = resource(
        "Cluster",
        "default",
        {"clusterName": "default", "capacityProviders": ["general", "compute"]},
    )
    strategy = [
        {"capacityProvider": "general", "base": 2, "weight": 1},
        {"capacityProvider": "compute", "weight": 1},
    ]
    apply(
        namespace,
        cluster,
        ec2_task_definition("worker"),
        service("worker", "worker", desiredCount=6, capacityProviderStrategy=strategy),
    )
    wait_steady(kube, namespace, "worker", 6)
    assert _providers(kube, namespace) == {"general": 4, "compute": 2}


def test_a_service_follows_its_clusters_default_strategy_and_says_when_the_cluster_goes(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """A Service written with kubectl naming neither a launch type nor a strategy follows its
    Cluster's default strategy: a new default moves its tasks, and a Cluster deleted reads
    ClusterNotFound on the Service. (A Cluster's change wakes the Services and Tasks that
    name it, handlers/watch.cluster_users; on kwok nodes a pod's events may wake them too.)"""

    def prod(default: str) -> dict[str, Any]:
        strategy = [{"capacityProvider": default, "weight": 1}]
        spec = {
            "clusterName": "prod",
            "capacityProviders": ["general", "compute"],
            "defaultCapacityProviderStrategy": strategy,
        }
        return resource("Cluster", "prod", spec)

    apply(namespace, prod("general"), ec2_task_definition("worker"))
    apply(namespace, service("worker", "worker", cluster="prod", desiredCount=2))
    wait_steady(kube, namespace, "worker", 2)
    assert _providers(kube, namespace) == {"general": 2}

    apply(namespace, prod("compute"))
    wait_for(
        lambda: _providers(kube, namespace) == {"compute": 2},
        60,
        "the tasks to move to the cluster's new default provider",
    )
    kubectl("delete", "clusters.ecs-operator.dev", "prod", "-n", namespace)
    wait_for(
        lambda: (
            condition(status(kube, namespace, "Service", "worker"), "Ready").get("reason")
            == "ClusterNotFound"
        ),
        30,
        "the Service to say its cluster is gone",
    )


def _user_guide_cluster(namespace: str) -> dict[str, Any]:
    """The Cluster of docs/user-guide.md §3, verbatim but for its namespace."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "user-guide.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", guide, re.DOTALL)
    cluster: dict[str, Any] = next(
        b for b in map(yaml.safe_load, blocks) if b and b.get("kind") == "Cluster"
    )
    cluster["metadata"]["namespace"] = namespace
    return cluster


def test_the_user_guides_ec2_capacity_provider_places_tasks_on_its_defined_nodes(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    cluster = _user_guide_cluster(namespace)
    definition = cluster["spec"]["capacityProviderDefinitions"][0]
    assert definition["nodeSelector"] == {nodes.LABEL_NODE_POOL: "general"}
    apply(
        namespace,
        cluster,
        ec2_task_definition("orders"),
        service(
            "orders",
            "orders",
            cluster=cluster["spec"]["clusterName"],
            desiredCount=3,
            capacityProviderStrategy=[{"capacityProvider": definition["name"], "weight": 1}],
        ),
    )

    wait_steady(kube, namespace, "orders", 3)
    assert _providers(kube, namespace) == {"general": 3}
    counted = {"name": "prod-asg", "runningTasksCount": 3, "pendingTasksCount": 0}
    wait_for(
        lambda: counted in status(kube, namespace, "Cluster", "prod").get("capacityProviders", []),
        30,
        "the cluster to count the tasks under prod-asg",
    )


def test_daemon_service_runs_one_task_per_matching_ec2_node(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    apply(
        namespace,
        ec2_task_definition("agent"),
        service("agent", "agent", schedulingStrategy="DAEMON", launchType="EC2"),
    )

    linux_ec2 = {
        f.name
        for f in nodes.default_fleet()
        if f.labels[nodes.LABEL_OS] == "linux" and nodes.LABEL_NODE_POOL in f.labels
    }
    wait_steady(kube, namespace, "agent", len(linux_ec2))
    placed = {p.spec.node_name for p in _running_pods(kube, namespace)}
    assert placed == linux_ec2  # not the Windows node, not the Fargate nodes


def test_a_daemon_runs_on_its_own_clusters_ec2_capacity_only(
    operator: OperatorProcess, kube: Kube, namespace: str
) -> None:
    """ECS places a DAEMON service's tasks on its cluster's container instances: a cluster
    whose EC2 capacity is the pool `compute` puts none on `general`, another cluster's pool."""
    cluster = resource(
        "Cluster", "team-a", {"clusterName": "team-a", "capacityProviders": ["compute", "FARGATE"]}
    )
    apply(
        namespace,
        cluster,
        ec2_task_definition("agent"),
        service("agent", "agent", cluster="team-a", schedulingStrategy="DAEMON", launchType="EC2"),
    )

    compute = {
        f.name for f in nodes.default_fleet() if f.labels.get(nodes.LABEL_NODE_POOL) == "compute"
    }
    wait_steady(kube, namespace, "agent", len(compute))
    assert {p.spec.node_name for p in _running_pods(kube, namespace)} == compute
