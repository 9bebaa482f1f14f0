"""Where each member of a CreateService and a RunTask request goes: the requests' half of
coverage.py (which accounts for the task definition's members).

A member is either rendered, said here in a line, or reported as it is set (the ``REPORTED``
tables of service.py and task.py, whose findings are the status's and the Events'). A test
fails when botocore's shapes gain a member that neither accounts for, and docs/mapping.md's
request tables are generated from both (:func:`markdown_tables`), so the docs cannot say one
thing and the renderer another.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..api.base import EcsShape
from ..api.shapes import CreateServiceRequest, RunTaskRequest
from . import service, task
from .findings import FindingKind

#: the members both requests share and render alike
_COMMON = {
    "cluster": "a Cluster object of the namespace (else `default`): its capacity providers; label "
    "and annotation `ecs-operator.dev/cluster`",
    "taskDefinition": "the pod template: the revision named, or the family's newest ACTIVE one",
    "launchType": "the node pool: Fargate's virtual nodes or the EC2 providers' nodes "
    "([nodes.md](nodes.md))",
    "capacityProviderStrategy": "tasks split over the providers by base and weight, as ECS "
    "splits them",
    "placementConstraints": "required node affinity (`memberOf`), pod anti-affinity "
    "(`distinctInstance`): see Placement",
    "placementStrategy": "topology spread constraints, preferred pod affinity (`binpack`): see "
    "Placement",
    "tags": "annotation `ecs-operator.dev/tags` (ListTagsForResource answers them)",
    "volumeConfigurations": "the size of each `configuredAtLaunch` volume's generic ephemeral "
    "volume; snapshot, volume type, IOPS and throughput ignored (reported)",
}

#: CreateService's rendered members (the others are in service.REPORTED)
SERVICE: dict[str, str] = {
    **_COMMON,
    "serviceName": "the names of its workloads and Services; label `ecs-operator.dev/service`",
    "capacityProviderStrategy": "a Deployment per provider, split by base and weight",
    "loadBalancers": "a Service per container port: see Services in the network",
    "serviceRegistries": "a headless Service: see Services in the network",
    "desiredCount": "`replicas`",
    "deploymentConfiguration": "`maxSurge`/`maxUnavailable` (Deployments), a "
    "PodDisruptionBudget, the circuit breaker: see Deployments",
    "networkConfiguration": "security groups as pod labels for NetworkPolicies, subnets in an "
    "annotation: see Services in the network (mapped-approx)",
    "healthCheckGracePeriodSeconds": "containers' health acted on only after it: see Health checks",
    "schedulingStrategy": "`REPLICA`: Deployments; `DAEMON`: a DaemonSet",
    "deploymentController": "`ECS` only; `CODE_DEPLOY` and `EXTERNAL` refused at apply",
    "serviceConnectConfiguration": "Services per discovery name and client alias: see Services "
    "in the network",
}

#: RunTask's rendered members (the others are in task.REPORTED)
RUN_TASK: dict[str, str] = {
    **_COMMON,
    "count": "that many pods, `<task>-<i>`",
    "group": "annotation `ecs-operator.dev/group` (default `family:<family>`), the task's `group`",
    "overrides": "the task definition as the overrides change it, checked by its rules",
    "startedBy": "annotation `ecs-operator.dev/started-by`, the task's `startedBy`",
}


def _rows(
    shape: type[EcsShape],
    rendered: Mapping[str, str],
    reported: Mapping[str, tuple[FindingKind, str]],
) -> list[str]:
    """A row per member, in the shape's order: where it goes, or its finding; then a row per
    nested member reported."""
    rows = []
    for name in shape.model_fields:
        if name in rendered:
            rows.append(f"| `{name}` | {rendered[name]} |")
        if name in reported:
            kind, reason = reported[name]
            rows.append(f"| `{name}` | {kind}: {reason} |")
        rows += [
            f"| `{dotted}` | {kind}: {reason} |"
            for dotted, (kind, reason) in reported.items()
            if dotted.startswith(f"{name}.")
        ]
    return rows


def markdown_tables() -> str:
    """The request tables of docs/mapping.md, generated from this module and the renderers'
    ``REPORTED``."""
    lines = ["### Service (CreateService)", "", "| ECS member | Kubernetes |", "|---|---|"]
    lines += _rows(CreateServiceRequest, SERVICE, service.REPORTED)
    lines += ["", "### Task (RunTask)", "", "| ECS member | Kubernetes |", "|---|---|"]
    lines += _rows(RunTaskRequest, RUN_TASK, task.REPORTED)
    return "\n".join(lines) + "\n"
