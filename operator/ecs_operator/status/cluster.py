"""Which ECS cluster a Cluster object is: one reading for the reconcilers, the plugin and the
ECS API, which name it in every status, view and answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def cluster_name_of(body: Mapping[str, Any]) -> str:
    """The ECS name of a Cluster object: its ``clusterName`` (CreateCluster's), else the
    object's own name (a cluster name ECS allows is not always a Kubernetes name: ``My_Prod``)."""
    return str((body.get("spec") or {}).get("clusterName") or body["metadata"]["name"])
