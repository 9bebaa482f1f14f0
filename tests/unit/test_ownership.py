"""Ownership, never adoption: the operator changes or deletes only objects it created.

The pure decisions (a task role's ServiceAccount name, "is this object ours") and the create /
apply / delete flows, against a recording stand-in for the API server.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, cast

import pytest

from ecs_operator.handlers import identities, service
from ecs_operator.handlers.common import report_unwritten
from ecs_operator.handlers.context import Context
from ecs_operator.kube.apply import (
    HASH_ANNOTATION,
    NO_SUCH_VERSION,
    NameConflict,
    WriteRefused,
    claim_name,
    ensure,
    stamped,
)
from ecs_operator.kube.client import ApiError
from ecs_operator.kube.owners import controlled_by
from ecs_operator.kube.resources import DEPLOYMENT, SERVICE_ACCOUNT
from ecs_operator.kube.store import Store
from ecs_operator.render import keys
from ecs_operator.render.identity import (
    NO_ROLE_SERVICE_ACCOUNT,
    is_operator_account,
    service_account_name,
)
from ecs_operator.render.names import digest
from ecs_operator.status.conditions import condition, override

from .fakes import FakeApi, context
from .render.helpers import DNS_LABEL, render, task

ARN = "arn:aws:iam::111122223333:role/deployer"
OTHER_ACCOUNT_ARN = "arn:aws:iam::444455556666:role/deployer"

# --- naming ---------------------------------------------------------------------------------


def test_a_task_role_account_is_named_after_the_role_and_a_hash_of_its_full_arn() -> None:
    assert service_account_name(ARN) == f"role-deployer-{digest(ARN)}"
    assert service_account_name("arn:aws:iam::1:role/team/a/Orders_API").startswith(
        "role-orders-api-"
    )
    assert service_account_name(None) == NO_ROLE_SERVICE_ACCOUNT


def test_two_arns_with_one_role_name_never_share_an_account() -> None:
    assert service_account_name(ARN) != service_account_name(OTHER_ACCOUNT_ARN)
    assert service_account_name(ARN) != service_account_name(
        ARN.replace("/deployer", "/x/deployer")
    )


@pytest.mark.parametrize(
    "role",
    ["a" * 64, "Web+Service=,.@-_" * 4, "___", "@", "-leading-and-trailing-", "x"],
)
def test_account_names_are_dns_labels_at_most_63_characters(role: str) -> None:
    name = service_account_name(f"arn:aws:iam::111122223333:role/{role}")
    assert len(name) <= 63 and DNS_LABEL.match(name), name
    assert name.startswith("role-") and name.endswith(
        digest(f"arn:aws:iam::111122223333:role/{role}")
    )


def test_a_short_role_name_is_hashed_as_the_full_arn_it_completes_to() -> None:
    account = render(task(taskRoleArn="deployer"), account_id="111122223333").service_account
    assert account["metadata"]["name"] == service_account_name(ARN)


def test_the_rendered_account_carries_the_marker() -> None:
    account = render(task(taskRoleArn=ARN)).service_account
    metadata = account["metadata"]
    assert metadata["labels"][keys.LABEL_APP_MANAGED_BY] == keys.MANAGED_BY
    assert metadata["annotations"] == {
        keys.ANNOTATION_IRSA_ROLE: ARN,
        keys.ANNOTATION_TASK_ROLE: ARN,
    }
    assert is_operator_account(account)
    no_role = render(task()).service_account
    assert no_role["metadata"]["annotations"] == {keys.ANNOTATION_TASK_ROLE: ""}
    assert is_operator_account(no_role)


# --- "is it ours" ---------------------------------------------------------------------------


def _account(name: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": "admin-uid",
            "resourceVersion": "7",
            "labels": labels,
            "annotations": annotations,
        },
    }


MANAGED = {keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY}


def test_an_admin_account_with_our_name_label_and_irsa_annotation_is_not_ours() -> None:
    admin = _account(service_account_name(ARN), MANAGED, {keys.ANNOTATION_IRSA_ROLE: ARN})
    assert not is_operator_account(admin)
    assert not is_operator_account(_account(NO_ROLE_SERVICE_ACCOUNT, MANAGED, {}))


def test_the_marker_must_name_the_role_the_account_is_named_after() -> None:
    marker = {keys.ANNOTATION_TASK_ROLE: OTHER_ACCOUNT_ARN}
    assert not is_operator_account(_account(service_account_name(ARN), MANAGED, marker))
    # and the marker without our label is not enough either
    marker = {keys.ANNOTATION_TASK_ROLE: ARN}
    assert not is_operator_account(_account(service_account_name(ARN), {}, marker))
    assert is_operator_account(_account(service_account_name(ARN), MANAGED, marker))


OWNER = {
    "apiVersion": "ecs-operator.dev/v1alpha1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid"},
}


def _deployment(name: str = "web", *refs: dict[str, Any], uid: str = "dep-uid") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": uid,
            "resourceVersion": "42",
            "labels": {"team": "ci"},
            "ownerReferences": list(refs),
        },
        "spec": {"replicas": 1},
    }


def _ref(uid: str, controller: bool = True) -> dict[str, Any]:
    return {"apiVersion": "x/v1", "kind": "Service", "name": "web", "uid": uid,
            "controller": controller}  # fmt: skip


def test_only_a_controller_reference_to_the_ecs_object_makes_a_child_ours() -> None:
    assert controlled_by(_deployment("web", _ref("svc-uid")), "svc-uid")
    assert not controlled_by(_deployment("web", _ref("svc-uid", controller=False)), "svc-uid")
    assert not controlled_by(_deployment("web", _ref("other")), "svc-uid")
    assert not controlled_by(_deployment("web"), "svc-uid")


def test_a_name_conflict_names_the_other_object() -> None:
    conflict = NameConflict(_deployment(), _deployment())
    assert conflict.message("Service") == (
        "Deployment/web already exists and was not created by this Service: left alone"
    )


def test_a_name_conflict_with_an_orphan_of_ours_says_how_to_end_it() -> None:
    """``kubectl delete ecssvc web --cascade=orphan``, then the Service applied again: its old
    Deployment is never adopted (anyone may write the operator's labels), and the report says
    what it is and what to do, where it read like someone else's object."""
    orphan = _deployment()
    orphan["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "ecs-operator"}

    message = NameConflict(_deployment(), orphan).message("Service")

    assert message.endswith(
        "left alone (it carries ecs-operator's labels but has no owner, as a `kubectl delete "
        "--cascade=orphan` leaves it: delete it, and this Service creates its own)"
    )
    owned = {**orphan, "metadata": {**orphan["metadata"], "ownerReferences": [_ref("other")]}}
    assert "delete it" not in NameConflict(_deployment(), owned).message("Service")


# --- the flows, against a recording API server ---------------------------------------------


def _ours(obj: dict[str, Any]) -> bool:
    return controlled_by(obj, "svc-uid")


def _desired() -> dict[str, Any]:
    child = _deployment("web", _ref("svc-uid"))
    del child["metadata"]["uid"], child["metadata"]["resourceVersion"]
    child["metadata"]["labels"] = {"app": "web"}
    return child


def test_a_new_name_is_taken_by_an_apply_that_takes_no_live_object() -> None:
    """The create is an apply (so a later apply can remove what it set), made to fail on any
    live object by a resourceVersion precondition no object meets."""
    api = FakeApi()
    result = asyncio.run(ensure(cast(Any, api), _desired(), None, _ours))
    assert api.verbs() == [("apply", "web")]
    sent = stamped(_desired())
    sent["metadata"]["resourceVersion"] = NO_SUCH_VERSION
    assert api.calls[0][2] == sent
    assert result["metadata"]["annotations"][HASH_ANNOTATION]


def test_what_a_later_apply_leaves_out_is_removed() -> None:
    api = FakeApi()
    desired = _desired()
    desired["metadata"]["annotations"] = {"gone": "soon"}
    live = asyncio.run(ensure(cast(Any, api), desired, None, _ours))
    asyncio.run(ensure(cast(Any, api), _desired(), live, _ours))
    assert "gone" not in api.objects["deployments", "ns", "web"]["metadata"]["annotations"]


def test_a_taken_name_is_reported_and_the_other_object_left_alone() -> None:
    api = FakeApi(_deployment("web"))
    before = copy.deepcopy(api.objects["deployments", "ns", "web"])
    with pytest.raises(NameConflict) as raised:
        asyncio.run(ensure(cast(Any, api), _desired(), None, _ours))
    assert raised.value.kind == "Deployment" and raised.value.name == "web"
    assert api.verbs() == [("apply", "web"), ("get", "web")]  # one refused create, no write
    assert api.objects["deployments", "ns", "web"] == before


def test_a_stored_object_that_is_not_ours_costs_no_request_at_all() -> None:
    api = FakeApi()
    labelled = _deployment("web", _ref("svc-uid", controller=False))
    with pytest.raises(NameConflict):
        asyncio.run(ensure(cast(Any, api), _desired(), labelled, _ours))
    assert api.calls == []


def test_our_object_missing_from_the_store_is_applied_with_its_uid_as_precondition() -> None:
    ours = _deployment("web", _ref("svc-uid"), uid="our-uid")
    api = FakeApi(ours)
    asyncio.run(ensure(cast(Any, api), _desired(), None, _ours))
    assert api.verbs() == [("apply", "web"), ("get", "web"), ("apply", "web")]
    applied = api.calls[-1][2]
    assert applied is not None and applied["metadata"]["uid"] == "our-uid"


def test_our_stored_object_is_applied_with_its_uid_or_left_when_in_sync() -> None:
    ours = _deployment("web", _ref("svc-uid"), uid="our-uid")
    api = FakeApi(ours)
    asyncio.run(ensure(cast(Any, api), _desired(), ours, _ours))
    assert api.verbs() == [("apply", "web")]
    applied = api.calls[0][2]
    assert applied is not None and applied["metadata"]["uid"] == "our-uid"
    # the hash excludes the uid: what was applied is in sync
    synced = {**applied, "metadata": {**applied["metadata"], "resourceVersion": "43"}}
    api.calls.clear()
    asyncio.run(ensure(cast(Any, api), _desired(), synced, _ours))
    assert api.calls == []


def test_claiming_a_name_held_by_our_object_returns_it_unchanged() -> None:
    ours = _deployment("web", _ref("svc-uid"), uid="our-uid")
    api = FakeApi(ours)
    live = api.objects["deployments", "ns", "web"]
    assert asyncio.run(claim_name(cast(Any, api), _desired(), _ours)) == live
    assert api.verbs() == [("create", "web"), ("get", "web")]
    with pytest.raises(NameConflict):
        asyncio.run(claim_name(cast(Any, FakeApi(_deployment("web"))), _desired(), _ours))


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def ctx(api: FakeApi) -> Context:
    """A reconcile context whose writer writes to :class:`FakeApi`."""
    return context(api)


def _old(account: dict[str, Any]) -> dict[str, Any]:
    account = copy.deepcopy(account)
    account["metadata"].update(
        namespace="ns", uid=f"uid-{account['metadata']['name']}", resourceVersion="3",
        creationTimestamp="2020-01-01T00:00:00Z",
    )  # fmt: skip
    return account


def test_the_sweep_deletes_only_marked_unused_accounts_with_preconditions(
    api: FakeApi, ctx: Context
) -> None:
    ours = _old(render(task(taskRoleArn=ARN)).service_account)
    admin = _old(_account("role-admin", MANAGED, {keys.ANNOTATION_IRSA_ROLE: ARN}))
    for account in (ours, admin):
        ctx.store.put(SERVICE_ACCOUNT, account)
    asyncio.run(identities.sweep(ctx, "ns", "*"))
    assert api.calls == [
        (
            "delete",
            ours["metadata"]["name"],
            {"uid": ours["metadata"]["uid"], "resourceVersion": "3"},
        )
    ]
    assert ctx.store.get(SERVICE_ACCOUNT, "ns", "role-admin") is not None


def test_a_changed_account_is_left_to_whoever_changed_it(api: FakeApi, ctx: Context) -> None:
    ours = _old(render(task(taskRoleArn=ARN)).service_account)
    ctx.store.put(SERVICE_ACCOUNT, ours)
    api.conflict_on_delete = True
    assert asyncio.run(identities.sweep(ctx, "ns", "*")).retry is False  # not an error
    assert ctx.store.get(SERVICE_ACCOUNT, "ns", ours["metadata"]["name"]) is not None


def test_an_admin_account_in_the_store_is_a_conflict_not_an_apply(
    api: FakeApi, ctx: Context
) -> None:
    rendered = render(task(taskRoleArn=ARN), namespace="ns").service_account
    admin = _old(_account(rendered["metadata"]["name"], MANAGED, {keys.ANNOTATION_IRSA_ROLE: ARN}))
    ctx.store.put(SERVICE_ACCOUNT, admin)
    with pytest.raises(NameConflict):
        asyncio.run(identities.ensure(ctx, rendered, "ns"))
    assert api.calls == []


def test_stale_children_are_deleted_only_when_this_object_controls_them(
    api: FakeApi, ctx: Context
) -> None:
    mine = _deployment("old", _ref("svc-uid"), uid="mine")
    shared = _deployment("shared", _ref("svc-uid", controller=False), uid="shared")
    for child in (mine, shared):
        ctx.store.put(DEPLOYMENT, child)
    asyncio.run(service._remove_stale(ctx, OWNER, set()))
    assert api.calls == [("delete", "old", {"uid": "mine"})]
    assert [d["metadata"]["name"] for d in ctx.store.all(DEPLOYMENT)] == ["shared"]


def test_a_conflict_outranks_what_the_rest_of_the_status_says() -> None:
    refusal = ApiError(403, 'poddisruptionbudgets "web" is forbidden: exceeded quota', "Forbidden")
    budget = {"kind": "PodDisruptionBudget", "metadata": {"name": "web"}}
    conflicts = [
        WriteRefused(budget, refusal),
        NameConflict(_deployment()),
        NameConflict(_deployment()),
    ]
    posted: list[tuple[str, str]] = []

    class Events:
        def record(self, body: Any, reason: str, message: str, warning: bool = False) -> bool:
            posted.append((reason, message))
            return True

    ctx = Context(Store(), cast(Any, None), Events(), cast(Any, None))
    reported = report_unwritten(ctx, {**OWNER, "kind": "Service"}, conflicts)
    message = "Deployment/web already exists and was not created by this Service: left alone"
    refused = (
        "the API server refused to write PodDisruptionBudget/web: "
        'poddisruptionbudgets "web" is forbidden: exceeded quota'
    )
    # one report for the same object twice; each reason its own Event
    assert posted == [("NameConflict", message), ("WriteRefused", refused)]
    assert reported[0]["message"] == f"{message}; {refused}"
    ready = condition("Ready", True, "Steady")
    merged = override([ready, condition("Progressing", False, "Done")], reported)
    assert [(c["type"], c["status"], c["reason"]) for c in merged] == [
        ("Progressing", "False", "Done"),
        ("Ready", "False", "NameConflict"),
        ("Degraded", "True", "NameConflict"),
    ]
