"""The pod template's labels and annotations: who it belongs to, in Kubernetes and ECS terms.

Labels carry the ECS identity in selectable form (shortened with a hash when longer than 63
characters); annotations carry the exact ECS names and the ECS semantics the operator needs
later (essential containers, port mappings, network mode). Selector labels never include the
revision: a Deployment's selector is immutable, and a new revision must roll the same pods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..api.shapes import RegisterTaskDefinitionRequest
from . import keys
from .context import RenderContext
from .names import label_value


def selector_labels(family: str, ctx: RenderContext) -> dict[str, str]:
    """The labels a Deployment/DaemonSet selects its pods by (stable across revisions)."""
    labels = {keys.LABEL_CLUSTER: label_value(ctx.cluster)}
    if ctx.service:
        labels[keys.LABEL_SERVICE] = label_value(ctx.service)
    else:
        labels[keys.LABEL_FAMILY] = label_value(family)
    return labels


def pod_labels(family: str, ctx: RenderContext) -> dict[str, str]:
    """All labels of the pod template."""
    instance = ctx.service or ctx.task or family
    labels = {
        keys.LABEL_APP_NAME: label_value(family),
        keys.LABEL_APP_INSTANCE: label_value(instance),
        keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY,
        keys.LABEL_APP_PART_OF: label_value(ctx.cluster),
        keys.LABEL_CLUSTER: label_value(ctx.cluster),
        keys.LABEL_FAMILY: label_value(family),
    }
    if ctx.revision is not None:
        labels[keys.LABEL_REVISION] = str(ctx.revision)
    optional = (
        (keys.LABEL_SERVICE, ctx.service),
        (keys.LABEL_TASK, ctx.task),
        (keys.LABEL_LAUNCH_TYPE, ctx.placement.launch_type),
        (keys.LABEL_CAPACITY_PROVIDER, ctx.placement.capacity_provider),
    )
    labels.update((key, label_value(value)) for key, value in optional if value)
    return labels


def pod_annotations(
    td: RegisterTaskDefinitionRequest,
    ctx: RenderContext,
    container_names: Sequence[str],
    essential: Sequence[str],
    network_mode: str,
) -> dict[str, str]:
    """The exact ECS names and the ECS semantics the operator enforces later."""
    reference = f"{td.family}:{ctx.revision}" if ctx.revision is not None else td.family
    annotations = {
        keys.ANNOTATION_FAMILY: td.family,
        keys.ANNOTATION_TASK_DEFINITION: reference,
        keys.ANNOTATION_CLUSTER: ctx.cluster,
    }
    if ctx.service:
        annotations[keys.ANNOTATION_SERVICE] = ctx.service
    if ctx.task:
        annotations[keys.ANNOTATION_TASK] = ctx.task
    annotations[keys.ANNOTATION_CONTAINER_NAMES] = json_annotation(
        {k8s: cd.name for k8s, cd in zip(container_names, td.containerDefinitions, strict=True)}
    )
    annotations[keys.ANNOTATION_ESSENTIAL] = json_annotation(list(essential))
    annotations[keys.ANNOTATION_NETWORK_MODE] = network_mode
    if td.executionRoleArn:
        annotations[keys.ANNOTATION_EXECUTION_ROLE] = td.executionRoleArn
    return annotations


def essential_containers(annotations: Mapping[str, str]) -> list[str]:
    """The essential containers :func:`pod_annotations` recorded (none where the annotation
    is missing or is not a JSON list: a pod's annotations are anyone's to edit)."""
    try:
        names = json.loads(annotations.get(keys.ANNOTATION_ESSENTIAL) or "[]")
    except ValueError:
        return []
    return [str(n) for n in names] if isinstance(names, list) else []


def json_annotation(value: Any) -> str:
    """Compact JSON for an annotation value."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
