"""What CreateService and RunTask requests share on the way to a workload: the render context
(cluster, capacity, placement constraints and strategies, configured-at-launch volumes), the
annotations kept for the record, and the report of request members no workload can carry."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..api.base import EcsShape
from ..api.errors import EcsValidationError, Violation
from ..api.identifiers import cluster_name
from ..api.models import TaskDefinitionSpec
from ..api.rules.fargate import fargate_incompatibilities
from ..api.shapes import (
    CreateServiceRequest,
    RegisterTaskDefinitionRequest,
    RunTaskRequest,
    ServiceVolumeConfiguration,
    TaskVolumeConfiguration,
)
from ..nodes import NodeLabels
from . import capacity, keys
from .context import Constraint, LaunchVolume, RenderContext
from .coverage import is_set, member_value
from .findings import FindingKind, Report
from .metadata import json_annotation


@dataclass(frozen=True, slots=True)
class Options:
    """Rendering choices that belong to the target cluster, not to the ECS request."""

    namespace: str = "default"
    cluster: str | None = None
    pod_level_resources: bool = False
    container_restart_rules: bool = False
    account_id: str | None = None
    #: the cluster's EC2 capacity providers and the nodes each means (its
    #: ``capacityProviderDefinitions`` entry, else the node pool of its name)
    capacity_providers: capacity.Definitions = field(default_factory=dict)
    #: the label values of the cluster's nodes (``RenderContext.node_labels``); None: unknown
    node_labels: NodeLabels | None = None
    #: where tasks reach the ECS task metadata endpoint (``RenderContext.task_metadata_url``)
    task_metadata_url: str | None = None


def request_cluster(cluster: str | None, options: Options) -> str:
    """The name of the request's ``cluster`` (a name or ARN), else the option's, else default."""
    return cluster_name(cluster or options.cluster)


def context(
    req: CreateServiceRequest | RunTaskRequest,
    td: RegisterTaskDefinitionRequest,
    options: Options,
    revision: int | None,
    report: Report,
) -> RenderContext:
    """The render context of a service's or RunTask's tasks: cluster, capacity (launch type or
    capacity provider strategy, falling back on the task definition's
    ``requiresCompatibilities``), the request's placement constraints and strategies, and its
    configured-at-launch volumes."""
    base = capacity.placement_for(
        req.launchType,
        req.capacityProviderStrategy,
        td.requiresCompatibilities,
        report,
        options.capacity_providers,
    )
    if base.is_fargate:
        _require_fargate_compatible(td)
    _require_awsvpc_for_its_configuration(req, td)
    placement = dataclasses.replace(
        base,
        constraints=tuple(
            Constraint(f"placementConstraints[{k}]", c.type, c.expression)
            for k, c in enumerate(req.placementConstraints or ())
        ),
        strategies=tuple(
            Constraint(f"placementStrategy[{k}]", s.type, s.field)
            for k, s in enumerate(req.placementStrategy or ())
        )
        or _default_strategies(req),
    )
    service = req.serviceName if isinstance(req, CreateServiceRequest) else None
    return RenderContext(
        cluster=request_cluster(req.cluster, options),
        namespace=options.namespace,
        service=service,
        revision=revision,
        placement=placement,
        pod_level_resources=options.pod_level_resources,
        container_restart_rules=options.container_restart_rules,
        standalone=service is None,
        account_id=options.account_id,
        launch_volumes=launch_volumes(req.volumeConfigurations, report),
        node_labels=options.node_labels,
        task_metadata_url=options.task_metadata_url,
    )


#: ECS's strategy for a service's tasks that names none: "For tasks running as part of an
#: Amazon ECS service, the task placement strategy is spread using the
#: attribute:ecs.availability-zone" (a standalone task's is random, the scheduler's own)
SERVICE_DEFAULT_STRATEGY = (
    Constraint("placementStrategy", "spread", "attribute:ecs.availability-zone"),
)


def _default_strategies(req: CreateServiceRequest | RunTaskRequest) -> tuple[Constraint, ...]:
    """The placement strategy ECS gives tasks whose request names none: a REPLICA service's
    spread over zones (a DAEMON runs one task per instance)."""
    replica = isinstance(req, CreateServiceRequest) and req.schedulingStrategy != "DAEMON"
    return SERVICE_DEFAULT_STRATEGY if replica else ()


AWSVPC_CONFIGURATION = (
    "Network Configuration is not valid for the given networkMode of this task definition "
    "({mode}): awsvpcConfiguration needs networkMode awsvpc"
)


def _require_awsvpc_for_its_configuration(
    req: CreateServiceRequest | RunTaskRequest, td: RegisterTaskDefinitionRequest
) -> None:
    """Refuse, as ECS does, an ``awsvpcConfiguration`` for a task definition whose network
    mode is not awsvpc (bridge when it names none): its subnets and groups would mean nothing."""
    network = req.networkConfiguration
    mode = td.networkMode or "bridge"
    if network is not None and network.awsvpcConfiguration is not None and mode != "awsvpc":
        raise EcsValidationError(
            [
                Violation(
                    "networkConfiguration.awsvpcConfiguration",
                    AWSVPC_CONFIGURATION.format(mode=mode),
                )
            ],
            "network configuration",
        )


def _require_fargate_compatible(td: RegisterTaskDefinitionRequest) -> None:
    """Refuse, as ECS does, to run a task definition on Fargate capacity that is not
    Fargate-compatible: its host access, profiles and sizes were never checked for Fargate."""
    if not isinstance(td, TaskDefinitionSpec):
        td = TaskDefinitionSpec.model_validate(td.to_ecs())
    problems = fargate_incompatibilities(td)
    if problems:
        raise EcsValidationError(
            [p.under("taskDefinition") for p in problems], "task definition for Fargate"
        )


def launch_volumes(
    configurations: Sequence[ServiceVolumeConfiguration | TaskVolumeConfiguration] | None,
    report: Report,
) -> dict[str, LaunchVolume]:
    """``volumeConfigurations``: the managed EBS volume of each configured-at-launch volume."""
    volumes: dict[str, LaunchVolume] = {}
    for k, config in enumerate(configurations or ()):
        ebs = config.managedEBSVolume
        if ebs is None:
            continue
        if ebs.snapshotId or ebs.volumeType or ebs.iops or ebs.throughput:
            report.ignored(
                f"volumeConfigurations[{k}].managedEBSVolume",
                "snapshot, volume type, IOPS and throughput are the storage class's business",
            )
        volumes[config.name] = LaunchVolume(size_gib=ebs.sizeInGiB)
    return volumes


def report_members(
    request: EcsShape, members: Mapping[str, tuple[FindingKind, str]], report: Report
) -> None:
    """A finding for each set request member that has no rendering."""
    for dotted, (kind, reason) in members.items():
        if is_set(member_value(request, dotted)):
            report.add(dotted, kind, reason)


#: request members both CreateService and RunTask have and no workload can carry
COMMON_REPORTED: dict[str, tuple[FindingKind, str]] = {
    "networkConfiguration": (
        "mapped-approx",
        "pods use the cluster network: subnets, security groups and public IPs are only "
        f"kept in annotation {keys.ANNOTATION_AWSVPC}",
    ),
    "enableExecuteCommand": ("mapped-approx", "use kubectl exec (RBAC on pods/exec)"),
    "platformVersion": ("ignored", "Fargate platform versions do not exist here"),
    "propagateTags": ("ignored", "tags are kept as annotations"),
    "enableECSManagedTags": ("ignored", "tags are kept as annotations"),
}


def request_annotations(req: CreateServiceRequest | RunTaskRequest, cluster: str) -> dict[str, str]:
    """The cluster, the awsvpc configuration (subnets, security groups) and the tags of a
    request, kept for the record."""
    annotations = {keys.ANNOTATION_CLUSTER: cluster}
    network = member_value(req, "networkConfiguration.awsvpcConfiguration")
    if network is not None:
        annotations[keys.ANNOTATION_AWSVPC] = json_annotation(network.to_ecs())
    if req.tags:
        annotations[keys.ANNOTATION_TAGS] = json_annotation([tag.to_ecs() for tag in req.tags])
    return annotations
