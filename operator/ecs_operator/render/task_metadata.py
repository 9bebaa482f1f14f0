"""The environment variables the ECS agent gives every container: ``AWS_EXECUTION_ENV``, and
where to find the ECS task metadata endpoint, ``ECS_CONTAINER_METADATA_URI_V4`` (and the older
``ECS_CONTAINER_METADATA_URI``, version 3), each naming the container asking.

On ECS they point at the agent (``http://169.254.170.2/v4/<id>``); here at the operator's
endpoint, ``url`` (``ecs-operator run --task-metadata-url``), which finds the task by its pod:
the pod's namespace and uid come from the downward API and are put into the path with
Kubernetes' ``$(VAR)`` expansion. A pod's uid is known to whoever may read the pod, so the
path is no better known than what it answers. A variable the task definition sets itself is
left as it set it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

#: the downward-API variables the endpoint's paths are built from
POD_NAMESPACE = "ECS_OPERATOR_POD_NAMESPACE"
POD_UID = "ECS_OPERATOR_POD_UID"
#: the variables ECS sets, by the endpoint version each names
ENDPOINTS = {"ECS_CONTAINER_METADATA_URI_V4": "v4", "ECS_CONTAINER_METADATA_URI": "v3"}


#: what the ECS agent tells every container it runs on (``AWS_EXECUTION_ENV``): the AWS SDKs
#: put it in their user agent, and applications branch on it
EXECUTION_ENV = "AWS_EXECUTION_ENV"


def execution_env(fargate: bool, taken: Collection[str]) -> list[dict[str, Any]]:
    """``AWS_EXECUTION_ENV`` as the agent sets it (``AWS_ECS_FARGATE`` or ``AWS_ECS_EC2``),
    unless the container sets it itself (``taken``)."""
    if EXECUTION_ENV in taken:
        return []
    return [{"name": EXECUTION_ENV, "value": "AWS_ECS_FARGATE" if fargate else "AWS_ECS_EC2"}]


def endpoint_env(url: str, container: str, taken: Collection[str]) -> list[dict[str, Any]]:
    """The variables that lead container ``container`` (its ECS name) to the endpoint at
    ``url``, but for those named in ``taken`` (the container's own)."""
    base = url.rstrip("/")
    wanted = [
        {"name": name, "value": f"{base}/{version}/$({POD_NAMESPACE})/$({POD_UID})/{container}"}
        for name, version in ENDPOINTS.items()
        if name not in taken
    ]
    if not wanted:
        return []
    pod = [
        {"name": POD_NAMESPACE, "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": POD_UID, "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
    ]
    return [*pod, *wanted]
