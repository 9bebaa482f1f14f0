"""The node vocabulary: Fargate pods select exactly the virtual-kubelet nodes, EC2 pools
are labelled consistently."""

from __future__ import annotations

import pytest

from ecs_operator import nodes


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_fargate_selectors_pick_their_own_nodes() -> None:
    fleet = nodes.default_fleet()
    for provider, expected in (
        (nodes.FARGATE, {"fargate-0", "fargate-1"}),
        (nodes.FARGATE_SPOT, {"fargate-spot-0"}),
    ):
        selector = nodes.fargate_node_selector(provider)
        assert {n.name for n in fleet if _matches(selector, n.labels)} == expected


def test_every_fargate_node_is_tainted_and_tolerated() -> None:
    toleration = nodes.fargate_tolerations()[0]
    for node in nodes.default_fleet():
        is_fargate = node.labels.get(nodes.LABEL_VK_TYPE) == nodes.VK_TYPE
        assert bool(node.taints) == is_fargate
        for taint in node.taints:
            assert taint["key"] == toleration["key"] and taint["effect"] == toleration["effect"]


@pytest.mark.parametrize(
    ("toleration", "tolerated"),
    [
        ({"key": nodes.TAINT_VK_PROVIDER, "operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": nodes.TAINT_VK_PROVIDER, "operator": "Exists"}, True),
        ({"key": nodes.TAINT_VK_PROVIDER, "value": "fargate"}, True),
        ({"key": nodes.TAINT_VK_PROVIDER, "operator": "Equal", "value": "other"}, False),
        ({"key": nodes.TAINT_VK_PROVIDER, "operator": "Exists", "effect": "NoExecute"}, False),
        ({"operator": "Exists"}, True),  # an empty key with Exists: every taint
        ({"operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, False),
    ],
)
def test_which_tolerations_let_a_pod_onto_fargate_nodes(
    toleration: dict[str, str], tolerated: bool
) -> None:
    """Kubernetes' own matching of a toleration to the Fargate nodes' taint."""
    assert nodes.tolerates_fargate_taint([toleration]) is tolerated


def test_fleet_shape() -> None:
    fleet = nodes.default_fleet()
    general = [n for n in fleet if n.labels.get(nodes.LABEL_NODE_POOL) == "general"]
    assert sorted(n.labels[nodes.LABEL_ZONE] for n in general) == list(nodes.ZONES)
    assert len([n for n in fleet if n.labels.get(nodes.LABEL_NODE_POOL) == "compute"]) == 2
    assert [n.name for n in fleet if n.labels[nodes.LABEL_OS] == "windows"] == ["windows-0"]
    manifest = general[0].manifest()
    assert manifest["metadata"]["annotations"][nodes.ANNOTATION_KWOK_NODE] == nodes.KWOK_FAKE
    assert manifest["status"]["capacity"] == {"cpu": "4", "memory": "16Gi", "pods": "58"}
