"""Task role as ServiceAccount, labels and annotations."""

from __future__ import annotations

import json

import pytest

from ecs_operator.render import Placement, RenderError, keys
from ecs_operator.render.identity import NO_ROLE_SERVICE_ACCOUNT

from .helpers import container, findings_at, render, spec, task


def test_task_role_is_an_irsa_service_account() -> None:
    rendered = render(task(taskRoleArn="arn:aws:iam::123456789012:role/team/Orders"))
    account = rendered.service_account
    assert account["metadata"]["name"] == spec(rendered)["serviceAccountName"]
    assert account["metadata"]["name"].startswith("role-orders-")
    assert account["metadata"]["annotations"] == {
        keys.ANNOTATION_IRSA_ROLE: "arn:aws:iam::123456789012:role/team/Orders",
        keys.ANNOTATION_TASK_ROLE: "arn:aws:iam::123456789012:role/team/Orders",
    }
    assert account["automountServiceAccountToken"] is False
    assert spec(rendered)["automountServiceAccountToken"] is False


def test_short_role_names_need_an_account() -> None:
    completed = render(task(taskRoleArn="orders"), account_id="111122223333").service_account
    assert (
        completed["metadata"]["annotations"][keys.ANNOTATION_IRSA_ROLE]
        == "arn:aws:iam::111122223333:role/orders"
    )
    with pytest.raises(RenderError) as refused:  # no IRSA annotation that names no role
        render(task(taskRoleArn="orders"))
    assert refused.value.paths == ["taskRoleArn"] and "--account-id" in str(refused.value)


def test_no_role_means_no_aws_identity() -> None:
    for td in (task(), task(taskRoleArn="")):
        account = render(td).service_account
        assert account["metadata"]["name"] == NO_ROLE_SERVICE_ACCOUNT
        assert keys.ANNOTATION_IRSA_ROLE not in account["metadata"]["annotations"]


def test_labels_and_annotations() -> None:
    td = task([container("Web_1")], executionRoleArn="arn:aws:iam::1:role/exec")
    rendered = render(
        td, cluster="prod", service="web", revision=4, placement=Placement.pool("general")
    )
    meta = rendered.pod_template["metadata"]
    assert meta["labels"] == {
        "app.kubernetes.io/name": "demo",
        "app.kubernetes.io/instance": "web",
        "app.kubernetes.io/managed-by": "ecs-operator",
        "app.kubernetes.io/part-of": "prod",
        keys.LABEL_CLUSTER: "prod",
        keys.LABEL_FAMILY: "demo",
        keys.LABEL_REVISION: "4",
        keys.LABEL_SERVICE: "web",
        keys.LABEL_LAUNCH_TYPE: "EC2",
        keys.LABEL_CAPACITY_PROVIDER: "general",
    }
    annotations = meta["annotations"]
    assert annotations[keys.ANNOTATION_TASK_DEFINITION] == "demo:4"
    assert annotations[keys.ANNOTATION_EXECUTION_ROLE] == "arn:aws:iam::1:role/exec"
    names = json.loads(annotations[keys.ANNOTATION_CONTAINER_NAMES])
    assert names == {"web-1": "Web_1"}


def test_kept_annotations_hold_the_ecs_values() -> None:
    cd = container(
        ulimits=[{"name": "nofile", "softLimit": 1, "hardLimit": 2}], dockerLabels={"a": "b"}
    )
    rendered = render(task([cd], tags=[{"key": "k", "value": "v"}]))
    annotations = rendered.pod_template["metadata"]["annotations"]
    assert json.loads(annotations[keys.ANNOTATION_ULIMITS]) == {
        "app": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}]
    }
    assert json.loads(annotations[keys.ANNOTATION_DOCKER_LABELS]) == {"app": {"a": "b"}}
    assert json.loads(annotations[keys.ANNOTATION_TAGS]) == [{"key": "k", "value": "v"}]
    assert {f.kind for f in findings_at(rendered, "containerDefinitions[0].ulimits")} == {
        "unsupported"
    }
