"""The task's AWS identity: ``taskRoleArn`` as a ServiceAccount, ``executionRoleArn`` recorded.

A task role becomes a ServiceAccount ``role-<role name>-<hash>`` annotated for IRSA
(``eks.amazonaws.com/role-arn``), shared by every task in the namespace using that role. The
hash is of the role's full ARN: role names are unique only within an AWS account (and a path
is not part of the name), so two ARNs never share an account, and never rewrite each other's
IRSA annotation. A task without a role gets the ServiceAccount ``ecs-no-task-role``: no AWS
identity. Neither mounts a Kubernetes API token: ECS tasks have no Kubernetes credentials
(IRSA projects its own token). The execution role's duties (pulling images, fetching secrets,
shipping logs) fall to the kubelet and the operator, so it is only recorded.

**The marker.** An account the operator created carries the label
``app.kubernetes.io/managed-by: ecs-operator`` *and* the annotation
``ecs-operator.dev/task-role-arn`` naming the role the account's name was derived from (empty
for ``ecs-no-task-role``); only such an account is "ours" (:func:`is_operator_account`): the
operator applies changes to it and its sweep may delete it. Any other object of that name (an
admin's account, even one labelled managed-by for some tooling) is a name conflict, left
alone. The marker needs no secret: accounts are created with a plain create, never applied
over an existing one, so the operator never puts the marker on an account it did not create,
and whoever writes it onto an existing account needs write access to that account, which
already lets them delete or rewrite it. Honouring their marker gives nobody more than they had.
A tenant who may only edit ECS objects cannot write ServiceAccounts at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..api import identifiers
from ..api.identifiers import short_name
from . import keys
from .context import RenderContext
from .errors import fail
from .findings import Report
from .names import DIGEST_LEN, DNS_LABEL_MAX, digest

NO_ROLE_SERVICE_ACCOUNT = "ecs-no-task-role"
ROLE_PREFIX = "role-"
#: the longest role name part that leaves room for the prefix and ``-<hash>`` in a DNS label
ROLE_PART_MAX = DNS_LABEL_MAX - len(ROLE_PREFIX) - 1 - DIGEST_LEN

_NOT_DNS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Identity:
    """The pod's ServiceAccount name and the ServiceAccount object."""

    name: str
    service_account: dict[str, Any]


def role_arn(role: str, ctx: RenderContext) -> str:
    """The full ARN IRSA needs; a short name is completed with the context's account id, as
    ECS completes it with the caller's account. Without one there is no ARN to give: refused,
    rather than an IRSA annotation that names no role."""
    if ctx.account_id:
        return identifiers.role_arn(role, ctx.account_id)
    if role.startswith("arn:"):
        return role
    raise fail(
        "taskRoleArn",
        f"role name {role!r} is not an ARN, and IRSA needs the role's ARN: write "
        f"arn:aws:iam::<account>:role/{role}, or give the account id that ECS would complete "
        "it with (ecs-operator run --account-id, convert --account-id)",
    )


def service_account_name(arn: str | None) -> str:
    """The ServiceAccount of the task role ``arn`` (its full ARN, as :func:`role_arn` gives it):
    ``role-<role name as a DNS label, cut to fit>-<first 8 hex digits of sha256(arn)>``, or
    ``ecs-no-task-role`` without a role."""
    if not arn:
        return NO_ROLE_SERVICE_ACCOUNT
    part = _NOT_DNS.sub("-", short_name(arn).lower()).strip("-")[:ROLE_PART_MAX].rstrip("-")
    return f"{ROLE_PREFIX}{part}-{digest(arn)}" if part else f"{ROLE_PREFIX}{digest(arn)}"


def is_operator_account(account: dict[str, Any]) -> bool:
    """Whether ``account`` is a task-role ServiceAccount the operator created: it carries our
    managed-by label and the task-role annotation, and is named after the role that annotation
    names (see the module doc for why that is enough)."""
    metadata = account["metadata"]
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    return (
        labels.get(keys.LABEL_APP_MANAGED_BY) == keys.MANAGED_BY
        and keys.ANNOTATION_TASK_ROLE in annotations
        and metadata["name"] == service_account_name(annotations[keys.ANNOTATION_TASK_ROLE])
    )


def identity(task_role: str | None, ctx: RenderContext, report: Report) -> Identity:
    """The ServiceAccount standing for the task role (or for no role), with its marker. It is
    shared by every Service and Task of the namespace that runs as that role, whatever their
    cluster, so it carries no cluster label."""
    arn = role_arn(task_role, ctx) if task_role else ""
    annotations = {keys.ANNOTATION_IRSA_ROLE: arn} if arn else {}
    name = service_account_name(arn)
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ctx.namespace,
        "labels": {keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY},
        "annotations": {**annotations, keys.ANNOTATION_TASK_ROLE: arn},
    }
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        "automountServiceAccountToken": False,
    }
    return Identity(name, account)
