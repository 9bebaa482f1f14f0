"""The task's AWS identity: ``taskRoleArn`` as a ServiceAccount, ``executionRoleArn`` recorded.

A task role becomes a ServiceAccount ``role-<role name>`` annotated for IRSA
(``eks.amazonaws.com/role-arn``), shared by every task in the namespace using that role (role
names are unique in an account). A task without a role gets the ServiceAccount
``ecs-no-task-role``: no AWS identity. Neither mounts a Kubernetes API token: ECS tasks have no
Kubernetes credentials (IRSA projects its own token). The execution role's duties (pulling
images, fetching secrets, shipping logs) fall to the kubelet and the operator, so it is only
recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import keys
from .context import RenderContext
from .findings import Report
from .names import label_value, prefixed

NO_ROLE_SERVICE_ACCOUNT = "ecs-no-task-role"


@dataclass(frozen=True, slots=True)
class Identity:
    """The pod's ServiceAccount name and the ServiceAccount object."""

    name: str
    service_account: dict[str, Any]


def role_name(role: str) -> str:
    """The role name of an IAM role ARN (``arn:aws:iam::1:role/path/NAME``) or short name."""
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def role_arn(role: str, ctx: RenderContext, report: Report) -> str:
    """The full ARN IRSA needs; a short name is completed with the context's account id."""
    if role.startswith("arn:"):
        return role
    if ctx.account_id:
        return f"arn:aws:iam::{ctx.account_id}:role/{role}"
    report.approx("taskRoleArn", "a role name without an account id: IRSA needs the full ARN")
    return role


def identity(task_role: str | None, ctx: RenderContext, report: Report) -> Identity:
    """The ServiceAccount standing for the task role (or for no role)."""
    annotations: dict[str, str] = {}
    if task_role:
        name = prefixed("role", role_name(task_role))
        annotations[keys.ANNOTATION_IRSA_ROLE] = role_arn(task_role, ctx, report)
    else:
        name = NO_ROLE_SERVICE_ACCOUNT
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ctx.namespace,
        "labels": {
            keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY,
            keys.LABEL_CLUSTER: label_value(ctx.cluster),
        },
    }
    if annotations:
        metadata["annotations"] = annotations
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        "automountServiceAccountToken": False,
    }
    return Identity(name, account)
