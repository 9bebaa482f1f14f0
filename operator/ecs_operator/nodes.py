"""The node vocabulary: how ECS capacity looks on Kubernetes nodes.

One module owns every label and taint that ties ECS capacity (EC2 capacity providers, FARGATE,
FARGATE_SPOT) to nodes, so the devcluster's fake fleet, kind-config.yaml, the renderer's node
selection and the docs (docs/nodes.md) cannot disagree.

- EC2 capacity providers are node pools: nodes labelled ``ecs-operator.dev/node-pool=<pool>``
  (Karpenter's ``karpenter.sh/nodepool`` and EKS's ``eks.amazonaws.com/nodegroup`` play the
  same role on real clusters; a Cluster's capacity provider may name any selector).
- FARGATE capacity is virtual-kubelet-style nodes: ``type=virtual-kubelet`` and
  ``kubernetes.io/role=agent``, tainted ``virtual-kubelet.io/provider=fargate:NoSchedule`` so
  only Fargate tasks (which tolerate it) land there. FARGATE_SPOT nodes carry the same, plus
  ``ecs-operator.dev/capacity-type=spot`` (``on-demand`` on the others), like Karpenter's
  ``karpenter.sh/capacity-type``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .api.providers import FARGATE as FARGATE
from .api.providers import FARGATE_SPOT as FARGATE_SPOT
from .api.providers import LABEL_NODE_POOL as LABEL_NODE_POOL
from .api.providers import FargateProvider as FargateProvider

PREFIX = "ecs-operator.dev/"

# Well-known Kubernetes labels.
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_OS = "kubernetes.io/os"
LABEL_ARCH = "kubernetes.io/arch"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"

# Our labels (LABEL_NODE_POOL, which the Cluster spec names, is api/providers.py's).
LABEL_CAPACITY_TYPE = PREFIX + "capacity-type"
CAPACITY_ON_DEMAND = "on-demand"
CAPACITY_SPOT = "spot"

# virtual-kubelet's own node vocabulary (virtual-kubelet node-cli defaults).
LABEL_VK_TYPE = "type"
VK_TYPE = "virtual-kubelet"
LABEL_ROLE = "kubernetes.io/role"
VK_ROLE = "agent"
TAINT_VK_PROVIDER = "virtual-kubelet.io/provider"
FARGATE_PROVIDER = "fargate"

# kwok: which nodes it simulates.
ANNOTATION_KWOK_NODE = "kwok.x-k8s.io/node"
KWOK_FAKE = "fake"

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


NodeLabels = Mapping[str, frozenset[str]]
"""Each node label key with the values it has on the cluster's nodes."""


def label_values(node_list: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """The label values of Node objects (the store's, or ``kubectl get nodes -o json``'s
    ``items``), per key: what a ``memberOf`` regular expression is matched against."""
    found: dict[str, set[str]] = {}
    for node in node_list:
        for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
            found.setdefault(key, set()).add(value)
    return {key: frozenset(values) for key, values in found.items()}


def fargate_node_selector(provider: FargateProvider) -> dict[str, str]:
    """The nodeSelector that puts a pod on FARGATE or FARGATE_SPOT capacity."""
    capacity = CAPACITY_SPOT if provider == FARGATE_SPOT else CAPACITY_ON_DEMAND
    return {LABEL_VK_TYPE: VK_TYPE, LABEL_CAPACITY_TYPE: capacity}


def fargate_tolerations() -> list[dict[str, str]]:
    """The toleration every Fargate pod carries for the virtual-kubelet taint."""
    return [{"key": TAINT_VK_PROVIDER, "operator": "Exists", "effect": "NoSchedule"}]


def fargate_taint() -> dict[str, str]:
    """The taint on every virtual-kubelet Fargate node."""
    return {"key": TAINT_VK_PROVIDER, "value": FARGATE_PROVIDER, "effect": "NoSchedule"}


def tolerates_fargate_taint(tolerations: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any of ``tolerations`` tolerates :func:`fargate_taint`, as Kubernetes matches
    them: an empty key with ``Exists`` tolerates every taint, an empty effect every effect.
    An EC2 capacity provider's tolerations (a Cluster's ``capacityProviderDefinitions``, which
    a tenant writes) that do would let its pods onto Fargate's nodes without Fargate's
    sandbox; the renderer then keeps them off those nodes by affinity."""
    taint = fargate_taint()
    for toleration in tolerations:
        key = toleration.get("key") or ""
        operator = toleration.get("operator") or "Equal"
        if (toleration.get("effect") or taint["effect"]) != taint["effect"]:
            continue
        if not key and operator == "Exists":
            return True
        if key == taint["key"] and (
            operator == "Exists" or (toleration.get("value") or "") == taint["value"]
        ):
            return True
    return False


def pool_node_selector(pool: str) -> dict[str, str]:
    """The nodeSelector of an EC2 node pool (an EC2 capacity provider's default)."""
    return {LABEL_NODE_POOL: pool}


@dataclass(frozen=True)
class InstanceType:
    """An EC2 instance type's schedulable shape."""

    name: str
    cpu: str
    memory: str
    pods: int
    arch: str = "amd64"


INSTANCE_TYPES = {
    t.name: t
    for t in (
        InstanceType("m5.xlarge", cpu="4", memory="16Gi", pods=58),
        InstanceType("c5.2xlarge", cpu="8", memory="16Gi", pods=58),
        InstanceType("m6g.xlarge", cpu="4", memory="16Gi", pods=58, arch="arm64"),
    )
}


@dataclass(frozen=True)
class FakeNode:
    """One node of a simulated fleet."""

    name: str
    labels: dict[str, str]
    capacity: dict[str, str]
    taints: list[dict[str, str]] = field(default_factory=list)

    def manifest(self) -> dict[str, Any]:
        """The Node object kwok will manage (status is accepted on create)."""
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": {LABEL_HOSTNAME: self.name, **self.labels},
                "annotations": {
                    ANNOTATION_KWOK_NODE: KWOK_FAKE,
                    "node.alpha.kubernetes.io/ttl": "0",
                },
            },
            "spec": {"taints": self.taints},
            "status": {
                "capacity": self.capacity,
                "allocatable": self.capacity,
                "nodeInfo": {
                    "architecture": self.labels[LABEL_ARCH],
                    "operatingSystem": self.labels[LABEL_OS],
                    "kubeletVersion": "fake",
                    "kubeProxyVersion": "fake",
                    "containerRuntimeVersion": "kwok",
                    "kernelVersion": "kwok",
                    "osImage": "kwok",
                    "bootID": "",
                    "machineID": "",
                    "systemUUID": "",
                },
                "phase": "Running",
            },
        }


def ec2_node(name: str, pool: str, zone: str, instance_type: str, os: str = "linux") -> FakeNode:
    """A node of an EC2 node pool."""
    shape = INSTANCE_TYPES[instance_type]
    return FakeNode(
        name=name,
        labels={
            LABEL_NODE_POOL: pool,
            LABEL_CAPACITY_TYPE: CAPACITY_ON_DEMAND,
            LABEL_ZONE: zone,
            LABEL_REGION: REGION,
            LABEL_INSTANCE_TYPE: instance_type,
            LABEL_OS: os,
            LABEL_ARCH: shape.arch,
        },
        capacity={"cpu": shape.cpu, "memory": shape.memory, "pods": str(shape.pods)},
    )


def fargate_node(name: str, zone: str, provider: FargateProvider = FARGATE) -> FakeNode:
    """A virtual-kubelet-style node standing for FARGATE (or FARGATE_SPOT) capacity."""
    return FakeNode(
        name=name,
        labels={
            **fargate_node_selector(provider),
            LABEL_ROLE: VK_ROLE,
            LABEL_ZONE: zone,
            LABEL_REGION: REGION,
            LABEL_OS: "linux",
            LABEL_ARCH: "amd64",
            "alpha.service-controller.kubernetes.io/exclude-balancer": "true",
        },
        capacity={"cpu": "1000", "memory": "4Ti", "pods": "5000"},
        taints=[fargate_taint()],
    )


def default_fleet() -> list[FakeNode]:
    """The devcluster's fleet: pools `general` (3 zones) and `compute`, a Windows node,
    two FARGATE nodes and one FARGATE_SPOT node."""
    return [
        *(ec2_node(f"general-{i}", "general", zone, "m5.xlarge") for i, zone in enumerate(ZONES)),
        ec2_node("compute-0", "compute", ZONES[0], "c5.2xlarge"),
        ec2_node("compute-1", "compute", ZONES[1], "c5.2xlarge"),
        ec2_node("windows-0", "windows", ZONES[0], "m5.xlarge", os="windows"),
        fargate_node("fargate-0", ZONES[0]),
        fargate_node("fargate-1", ZONES[1]),
        fargate_node("fargate-spot-0", ZONES[2], FARGATE_SPOT),
    ]
