"""ECS identifiers: where ECS accepts a name or the resource's ARN, the name is the ARN's last
path segment (``arn:aws:ecs:us-east-1:123456789012:cluster/prod`` is ``prod``, as the aws CLI
reads it). One reading for the operator, ``convert`` and the plugin."""

from __future__ import annotations

import hashlib
import uuid

#: The cluster ECS uses when a request names none.
DEFAULT_CLUSTER = "default"


def short_name(identifier: str) -> str:
    """A name or an ARN as a name: the last path segment of an ARN, a name unchanged."""
    return identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier


def cluster_name(cluster: str | None) -> str:
    """A request's ``cluster`` (a name, an ARN, or none) as the cluster's name."""
    return short_name(cluster) if cluster else DEFAULT_CLUSTER


def role_arn(role: str, account: str) -> str:
    """An IAM role given by name or ARN, as its ARN in ``account``: where ECS accepts a role's
    name (``taskRoleArn``, ``executionRoleArn``, a service's ``role``) it completes it with the
    caller's account, and answers with the ARN from then on."""
    return role if role.startswith("arn:") else f"arn:aws:iam::{account}:role/{role}"


def task_id(namespace: str, pod: str) -> str:
    """The ECS id of the task that pod ``pod`` of ``namespace`` runs: 32 hex digits, as ECS's
    are, the same for as long as the pod is there (the ECS API, the task metadata endpoint)."""
    return hashlib.md5(f"{namespace}/{pod}".encode(), usedforsecurity=False).hexdigest()


def container_arn(task_arn: str, container: str) -> str:
    """ECS's ``containerArn`` of container ``container`` (its ECS name) of the task
    ``task_arn``: ``…:container/<cluster>/<task id>/<UUID>``, the UUID one of the task's id
    and the container's name, so the same wherever the container is shown (describe-tasks, the
    task metadata endpoint)."""
    prefix, task = task_arn.replace(":task/", ":container/", 1), task_arn.rsplit("/", 1)[-1]
    return f"{prefix}/{uuid.uuid5(uuid.NAMESPACE_URL, f'{task}/{container}')}"
