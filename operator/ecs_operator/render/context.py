"""What the renderer needs to know beyond the task definition, and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import nodes
from .findings import Finding, ObjectRef

LaunchType = Literal["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"]


@dataclass(frozen=True, slots=True)
class Constraint:
    """A service or RunTask placement constraint (``memberOf`` / ``distinctInstance``) or
    strategy (``spread`` / ``binpack`` / ``random``), with the ECS path findings name."""

    path: str
    type: str | None
    argument: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the task runs: its launch type or capacity provider, as node selection, plus the
    service's or RunTask's own placement constraints and strategies.

    Build it with :meth:`fargate` (FARGATE / FARGATE_SPOT virtual nodes) or :meth:`pool` (an EC2
    capacity provider's node pool); the default is plain EC2 capacity with no node selection.
    """

    launch_type: LaunchType | None = "EC2"
    capacity_provider: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    #: the nodes of any one of these selections (a bare EC2 launch type on a cluster with
    #: several EC2 capacity providers: its tasks run on their nodes, no other cluster's);
    #: empty: no such choice
    node_pools: tuple[Mapping[str, str], ...] = ()
    tolerations: tuple[Mapping[str, Any], ...] = ()
    constraints: tuple[Constraint, ...] = ()
    strategies: tuple[Constraint, ...] = ()

    @classmethod
    def fargate(cls, provider: nodes.FargateProvider = nodes.FARGATE) -> Placement:
        """FARGATE or FARGATE_SPOT capacity: the virtual-kubelet nodes of nodes.py."""
        return cls(
            launch_type="FARGATE",
            capacity_provider=provider,
            node_selector=nodes.fargate_node_selector(provider),
            tolerations=tuple(nodes.fargate_tolerations()),
        )

    @classmethod
    def pool(
        cls,
        pool: str,
        *,
        capacity_provider: str | None = None,
        tolerations: tuple[Mapping[str, Any], ...] = (),
    ) -> Placement:
        """An EC2 capacity provider: the node pool labelled ``ecs-operator.dev/node-pool``."""
        return cls(
            launch_type="EC2",
            capacity_provider=capacity_provider or pool,
            node_selector=nodes.pool_node_selector(pool),
            tolerations=tolerations,
        )

    @property
    def is_fargate(self) -> bool:
        """Fargate capacity: no privileged, host namespaces or host paths, ever."""
        return self.launch_type == "FARGATE"


@dataclass(frozen=True, slots=True)
class LaunchVolume:
    """A ``configuredAtLaunch`` volume's managed EBS settings from the Service or RunTask."""

    size_gib: int | None = None
    storage_class: str | None = None


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything besides the task definition that decides the rendered pod.

    - ``standalone``: a RunTask task (pod ``restartPolicy: Never``) rather than a service's task;
    - ``pod_level_resources``: render task cpu/memory as pod ``spec.resources``
      (PodLevelResources, beta in Kubernetes 1.34) instead of distributing it to containers;
    - ``container_restart_rules``: the cluster has ContainerRestartRules (KEP-5307, alpha in
      1.34), so per-container ``restartPolicy``/``restartPolicyRules`` may be rendered;
    - ``account_id``: completes a task role given by short name into an ARN for IRSA;
    - ``node_labels``: the values each node label has on the cluster's nodes, against which a
      ``memberOf`` regular expression (``=~``) is expanded into a list (None: not known, as in
      ``convert`` without ``--nodes``);
    - ``task_metadata_url``: where the task's containers reach the ECS task metadata endpoint
      (render/task_metadata.py; None: no endpoint, no variables).
    """

    cluster: str = "default"
    namespace: str = "default"
    service: str | None = None
    task: str | None = None
    revision: int | None = None
    placement: Placement = field(default_factory=Placement)
    pod_level_resources: bool = False
    container_restart_rules: bool = False
    standalone: bool = False
    account_id: str | None = None
    launch_volumes: Mapping[str, LaunchVolume] = field(default_factory=dict)
    node_labels: nodes.NodeLabels | None = None
    task_metadata_url: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered task definition: the pod template, its ServiceAccount, and the report."""

    pod_template: dict[str, Any]
    service_account: dict[str, Any]
    findings: tuple[Finding, ...]
    references: tuple[ObjectRef, ...]
