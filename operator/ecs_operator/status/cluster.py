"""Which ECS cluster a Cluster object is, and which one a Service or Task names: one reading
for the reconcilers, the plugin and the ECS API, which name it in every status, view and
answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_operator.api.identifiers import cluster_name


def cluster_name_of(body: Mapping[str, Any]) -> str:
    """The ECS name of a Cluster object: its ``clusterName`` (CreateCluster's), else the
    object's own name (a cluster name ECS allows is not always a Kubernetes name: ``My_Prod``)."""
    return str((body.get("spec") or {}).get("clusterName") or body["metadata"]["name"])


def cluster_of(body: Mapping[str, Any]) -> str:
    """The ECS cluster a Service or Task names (``default`` when it names none; an ARN as its
    short name)."""
    return cluster_name((body.get("spec") or {}).get("cluster"))
