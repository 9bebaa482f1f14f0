"""``aws ecs describe-*`` output as the requests that created it.

describe-services and describe-clusters print each object with members no create request
accepts (``runningCount``, ``events``, ``clusterArn``...). Tools that keep services as files
(ecspresso) write exactly that form, one service per file. The members ECS's ``Service`` and
``Cluster`` shapes have beyond ``CreateService`` / ``CreateCluster`` are stripped and named in a
note; anything else unknown is left in, for the parser to refuse by name (a typo is never
stripped). describe-task-definition output is handled by convert itself.
"""

from __future__ import annotations

from typing import Any

from ..api.identifiers import short_name

#: botocore's ``Service`` members that CreateService does not take (``roleArn``: CreateService
#: takes ``role``, and ECS fills ``roleArn`` in)
SERVICE_READ_ONLY = (
    "serviceArn",
    "clusterArn",
    "status",
    "runningCount",
    "pendingCount",
    "platformFamily",
    "deployments",
    "taskSets",
    "events",
    "createdAt",
    "createdBy",
    "roleArn",
    "currentServiceDeployment",
    "currentServiceRevisions",
    "resourceManagementType",
)
#: botocore's ``Cluster`` members that CreateCluster does not take
CLUSTER_READ_ONLY = (
    "clusterArn",
    "status",
    "registeredContainerInstancesCount",
    "runningTasksCount",
    "pendingTasksCount",
    "activeServicesCount",
    "statistics",
    "attachments",
    "attachmentsStatus",
)
#: output wrapper -> (kind of its items, the members a create request does not take)
WRAPPERS = {
    "services": ("Service", SERVICE_READ_ONLY),
    "clusters": ("Cluster", CLUSTER_READ_ONLY),
}
#: what tells a bare object's kind (convert recognises the rest)
_SERVICE_MARK, _CLUSTER_MARK = "serviceName", "clusterName"
_OTHER_MARKS = ("containerDefinitions", "taskDefinition", "family")

Found = tuple[str, Any, Any, list[str]]


def unwrap(data: Any) -> list[Found] | None:
    """``{"services": [...], "failures": [...]}`` (or ``clusters``) as its objects, each
    stripped as :func:`strip` does, with its path; ``None`` when ``data`` is no such output."""
    if not isinstance(data, dict) or any(m in data for m in (_SERVICE_MARK, *_OTHER_MARKS)):
        return None
    for wrapper, (kind, read_only) in WRAPPERS.items():
        listed = data.get(wrapper)
        if isinstance(listed, list) and set(data) <= {wrapper, "failures"}:
            return [
                (f"{wrapper}[{j}]", *_stripped(item, kind, read_only))
                for j, item in enumerate(listed)
            ]
    return None


def strip(data: Any) -> tuple[Any, Any, list[str]]:
    """A bare service or cluster with describe-only members, as its create request: the body,
    its kind (``None`` when it is neither) and the note of what was stripped."""
    if not isinstance(data, dict) or any(m in data for m in ("containerDefinitions", "family")):
        return data, None, []
    if _SERVICE_MARK in data:
        return _stripped(data, "Service", SERVICE_READ_ONLY)
    if _CLUSTER_MARK in data and "taskDefinition" not in data:
        return _stripped(data, "Cluster", CLUSTER_READ_ONLY)
    return data, None, []


def _stripped(data: Any, kind: str, read_only: tuple[str, ...]) -> tuple[Any, str, list[str]]:
    """Without its read-only members, and without the empty ones describe output prints
    (``null``, ``[]``, ``{}``: an absent member means the same)."""
    stripped = [k for k in read_only if isinstance(data, dict) and k in data]
    if not stripped:
        return data, kind, []
    body = {k: v for k, v in data.items() if k not in read_only and v not in (None, [], {})}
    cluster_arn = data.get("clusterArn")
    if kind == "Service" and isinstance(cluster_arn, str) and "cluster" not in body:
        body["cluster"] = short_name(cluster_arn)
    return body, kind, [f"describe-{kind.lower()}s members stripped: {', '.join(stripped)}"]
