"""``convert --to crd``: the input objects as our custom resources, whose spec is the ECS JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import API_GROUP, API_VERSION
from ..api.identifiers import DEFAULT_CLUSTER
from ..api.models import ClusterSpec, ScheduledTaskSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
from ..api.ref import TaskDefinitionRef
from ..render.names import dns_label
from ..render.request import Options, request_cluster
from ..render.task import GENERATE_NAME_MAX
from .documents import Document

CRD_API_VERSION = f"{API_GROUP}/{API_VERSION}"


def missing_clusters(documents: list[Document], options: Options) -> list[str]:
    """The hint that a service or task names a cluster the input does not define: the
    operator creates only ``default`` by itself, and waits (ClusterNotFound) for any other."""
    defined = {
        doc.spec.clusterName or DEFAULT_CLUSTER
        for doc in documents
        if isinstance(doc.spec, ClusterSpec)
    }
    named = {
        request_cluster(doc.spec.cluster, options)
        for doc in documents
        if isinstance(doc.spec, ServiceSpec | TaskSpec)
    }
    return [
        f"cluster {name} is not in the input: its services and tasks wait (ClusterNotFound) "
        f"until a Cluster with clusterName {name} exists (only default is created by itself); "
        f'convert {{"clusterName": "{name}"}} beside them'
        for name in sorted(named - defined - {DEFAULT_CLUSTER})
    ]


def to_custom_resources(
    documents: Iterable[Document], namespace: str | None
) -> list[dict[str, Any]]:
    """TaskDefinition / Service / Task custom resources; the spec is the ECS JSON."""
    resources = []
    for doc in documents:
        spec = doc.spec
        if isinstance(spec, TaskDefinitionSpec):
            kind, metadata = "TaskDefinition", {"name": dns_label(spec.family)}
        elif isinstance(spec, ServiceSpec):
            kind, metadata = "Service", {"name": dns_label(spec.serviceName)}
        elif isinstance(spec, ClusterSpec):
            kind, metadata = "Cluster", {"name": dns_label(spec.clusterName or DEFAULT_CLUSTER)}
        elif isinstance(spec, ScheduledTaskSpec):
            kind, metadata = "ScheduledTask", {"name": dns_label(doc.name or "schedule")}
        else:
            family = spec.task_definition_ref.family
            kind, metadata = "Task", {"generateName": dns_label(family, GENERATE_NAME_MAX) + "-"}
        if namespace:
            metadata["namespace"] = namespace
        body = spec.model_dump(mode="json", exclude_none=True)
        if isinstance(spec, ServiceSpec | TaskSpec):
            _follow_family(body, doc.notes)
        if isinstance(spec, ScheduledTaskSpec):
            _follow_family(body["target"]["ecsParameters"], doc.notes, "taskDefinitionArn")
        resources.append(
            {"apiVersion": CRD_API_VERSION, "kind": kind, "metadata": metadata, "spec": body}
        )
    return resources


def _follow_family(body: dict[str, Any], notes: list[str], member: str = "taskDefinition") -> None:
    """``taskDefinition: web:7`` (or an ARN) becomes ``web``: the cluster numbers a family's
    revisions anew from 1, so AWS's revision numbers mean nothing there."""
    text = body.get(member)
    if not text:
        return
    family = TaskDefinitionRef.parse(text).family
    if family != text:
        body[member] = family
        notes.append(
            f"{member} {text} -> {family}: revisions are numbered anew from 1 in the "
            f"cluster; pin {family}:N once it is registered there"
        )
