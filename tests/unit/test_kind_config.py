"""kind-config.yaml against the node vocabulary (operator/ecs_operator/nodes.py): each kind
worker is labelled and tainted like its devcluster counterpart, except for what a kubelet may
not set on itself (which docs/install.md labels with kubectl after creation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_operator import nodes

REPO = Path(__file__).resolve().parents[2]
CONFIG: dict[str, Any] = yaml.safe_load((REPO / "kind-config.yaml").read_text())
WORKERS = [n for n in CONFIG["nodes"] if n["role"] == "worker"]

#: What the kubelet's --node-labels accepts under kubernetes.io/ and k8s.io/ (the
#: NodeRestriction admission plugin's list, pkg/kubelet/apis/well_known_labels.go).
KUBELET_LABELS = {
    nodes.LABEL_HOSTNAME,
    nodes.LABEL_OS,
    nodes.LABEL_ARCH,
    nodes.LABEL_ZONE,
    nodes.LABEL_REGION,
    nodes.LABEL_INSTANCE_TYPE,
    "beta.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
}
KUBELET_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")
#: Set by the kubelet itself from the machine: kind must not (and need not) set them.
KUBELET_OWN = {nodes.LABEL_HOSTNAME, nodes.LABEL_OS, nodes.LABEL_ARCH}


def restricted(label: str) -> bool:
    """Whether a kubelet would refuse to register with this label."""
    prefix, _, _ = label.rpartition("/")
    domain = prefix.split("/")[-1]
    in_namespace = domain in ("kubernetes.io", "k8s.io") or domain.endswith(
        (".kubernetes.io", ".k8s.io")
    )
    return in_namespace and label not in KUBELET_LABELS and not label.startswith(KUBELET_PREFIXES)


def taints_of(node: dict[str, Any]) -> list[dict[str, str]]:
    """The nodeRegistration taints of a worker's JoinConfiguration patches."""
    found = []
    for patch in node.get("kubeadmConfigPatches", []):
        document = yaml.safe_load(patch)
        assert document["kind"] == "JoinConfiguration", "workers join; an Init patch is ignored"
        found += document.get("nodeRegistration", {}).get("taints", [])
    return found


def counterpart(node: dict[str, Any]) -> nodes.FakeNode:
    """The devcluster node of the same pool (or Fargate) and zone."""
    labels = node["labels"]
    for fake in nodes.default_fleet():
        same_kind = all(
            fake.labels.get(key) == labels.get(key)
            for key in (nodes.LABEL_NODE_POOL, nodes.LABEL_VK_TYPE, nodes.LABEL_CAPACITY_TYPE)
        )
        if same_kind and fake.labels[nodes.LABEL_ZONE] == labels[nodes.LABEL_ZONE]:
            return fake
    raise AssertionError(f"no devcluster node like {labels}")


def test_is_a_kind_cluster() -> None:
    assert CONFIG["kind"] == "Cluster"
    assert CONFIG["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in CONFIG["nodes"]].count("control-plane") == 1


def test_has_the_fleets_capacity() -> None:
    pools = [w["labels"].get(nodes.LABEL_NODE_POOL) for w in WORKERS]
    zones = sorted(
        w["labels"][nodes.LABEL_ZONE] for w in WORKERS if pools[WORKERS.index(w)] == "general"
    )
    assert zones == list(nodes.ZONES), "general in every zone"
    assert "compute" in pools
    fargate = [w for w in WORKERS if w["labels"].get(nodes.LABEL_VK_TYPE) == nodes.VK_TYPE]
    assert len(fargate) == 1


@pytest.mark.parametrize("index", range(len(WORKERS)))
def test_labels_and_taints_agree_with_nodes_py(index: int) -> None:
    worker = WORKERS[index]
    fake = counterpart(worker)
    expected = {
        key: value
        for key, value in fake.labels.items()
        if key not in KUBELET_OWN and not restricted(key)
    }
    assert worker["labels"] == expected
    assert taints_of(worker) == fake.taints


def test_no_label_would_stop_a_kubelet() -> None:
    for worker in WORKERS:
        bad = [label for label in worker["labels"] if restricted(label)]
        assert not bad, f"the kubelet refuses {bad}: label them with kubectl instead"
        assert not KUBELET_OWN & set(worker["labels"])


def test_the_rest_is_labelled_after_creation() -> None:
    """What the kubelet refuses is in the config's and docs/install.md's kubectl commands."""
    fargate = nodes.fargate_node("fargate", nodes.ZONES[0])
    left_over = sorted(label for label in fargate.labels if restricted(label))
    assert left_over == [
        "alpha.service-controller.kubernetes.io/exclude-balancer",
        nodes.LABEL_ROLE,
    ]
    config_text = (REPO / "kind-config.yaml").read_text()
    install = (REPO / "docs" / "install.md").read_text()
    for label in left_over:
        command = f"{label}={fargate.labels[label]}"
        assert command in config_text
        assert command in install


def test_fargate_taint_is_the_renderers_toleration() -> None:
    (worker,) = [w for w in WORKERS if w["labels"].get(nodes.LABEL_VK_TYPE) == nodes.VK_TYPE]
    (taint,) = taints_of(worker)
    (toleration,) = nodes.fargate_tolerations()
    assert taint["key"] == toleration["key"] and taint["effect"] == toleration["effect"]
    selector = nodes.fargate_node_selector(nodes.FARGATE)
    assert selector.items() <= worker["labels"].items()
