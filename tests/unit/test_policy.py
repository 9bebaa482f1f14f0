"""The admin's tenancy policy (policy.py): which task roles, which Pod Security level and which
Service types a namespace may use, from the operator's flags and the namespace's annotations."""

from __future__ import annotations

import pytest

from ecs_operator import policy
from ecs_operator.policy import Policy
from ecs_operator.render.findings import Finding

ROLE = "arn:aws:iam::111122223333:role/app"


def test_by_default_no_role_no_privilege_no_exposure() -> None:
    default = Policy().for_namespace({})
    assert not default.allows_task_role(ROLE)
    assert not default.allows_privileged
    assert default.allowed_service_types == {"ClusterIP"}


@pytest.mark.parametrize(
    ("patterns", "allowed"),
    [
        (("arn:aws:iam::111122223333:role/*",), True),
        (("arn:aws:iam::111122223333:role/ap",), False),  # whole ARNs only, no prefixes
        (("arn:aws:iam::999999999999:role/*",), False),
        (("arn:aws:iam::*:role/app",), True),
        (("arn:aws:iam::111122223333:role/[a]pp",), False),  # brackets are literal
        (("*",), True),
    ],
)
def test_task_roles_match_whole_arns(patterns: tuple[str, ...], allowed: bool) -> None:
    assert Policy(task_roles=patterns).allows_task_role(ROLE) is allowed


def test_a_namespace_adds_roles_and_types_and_sets_its_ceiling() -> None:
    cluster = Policy(task_roles=("arn:aws:iam::1:role/shared",), service_types={"NodePort"})
    team = cluster.for_namespace(
        {
            policy.ANNOTATION_ALLOWED_TASK_ROLES: f"{ROLE}, arn:aws:iam::1:role/x\n",
            policy.ANNOTATION_POD_SECURITY_CEILING: "privileged",
            policy.ANNOTATION_ALLOWED_SERVICE_TYPES: "LoadBalancer",
        }
    )
    assert team.allows_task_role(ROLE) and team.allows_task_role("arn:aws:iam::1:role/shared")
    assert team.allows_privileged
    assert team.allowed_service_types == {"ClusterIP", "NodePort", "LoadBalancer"}
    assert not team.problems
    lowered = Policy(pod_security_ceiling="privileged").for_namespace(
        {policy.ANNOTATION_POD_SECURITY_CEILING: "baseline"}
    )
    assert not lowered.allows_privileged


def test_unreadable_annotations_fall_back_to_the_safe_choice() -> None:
    odd = Policy().for_namespace(
        {
            policy.ANNOTATION_POD_SECURITY_CEILING: "Privileged",
            policy.ANNOTATION_ALLOWED_SERVICE_TYPES: "ExternalName,NodePort",
        }
    )
    assert not odd.allows_privileged
    assert odd.allowed_service_types == {"ClusterIP", "NodePort"}
    assert len(odd.problems) == 2 and "ExternalName" in odd.problems[1]


def test_refusals_name_the_role_and_each_privileged_member() -> None:
    assert policy.task_role_refusal(Policy(), None, "team") is None
    refusal = policy.task_role_refusal(Policy(), ROLE, "team")
    assert (
        refusal is not None and ROLE in refusal and policy.ANNOTATION_ALLOWED_TASK_ROLES in refusal
    )
    findings = [
        Finding(
            "containerDefinitions[0].privileged",
            "privileged",
            "needs the privileged Pod Security level (privileged: containers[0].securityContext"
            ".privileged): a namespace that enforces baseline or restricted refuses the pods",
        ),
        Finding("volumes[0].host.sourcePath", "mapped-approx", "not about privilege"),
    ]
    refusal = policy.privilege_refusal(Policy(), findings, "team")
    assert refusal is not None
    assert "containerDefinitions[0].privileged (privileged: containers[0]" in refusal
    assert "volumes[0]" not in refusal
    assert (
        policy.privilege_refusal(Policy(pod_security_ceiling="privileged"), findings, "t") is None
    )


def test_disruption_budgets_are_the_admins_call() -> None:
    """A PodDisruptionBudget can keep a node from being drained (a service with more tasks
    than fit never has one to spare): whether ECS services get one is the admin's decision,
    on by default (ECS's minimumHealthyPercent applies to drains), off per namespace or for
    all; an unreadable value is off, the choice that cannot hold a node."""
    assert Policy().disruption_budgets
    off = Policy().for_namespace({policy.ANNOTATION_DISRUPTION_BUDGETS: "false"})
    assert not off.disruption_budgets and not off.problems
    on = Policy(disruption_budgets=False).for_namespace(
        {policy.ANNOTATION_DISRUPTION_BUDGETS: "true"}
    )
    assert on.disruption_budgets
    assert not Policy(disruption_budgets=False).for_namespace({}).disruption_budgets
    odd = Policy().for_namespace({policy.ANNOTATION_DISRUPTION_BUDGETS: "yes"})
    assert not odd.disruption_budgets
    assert odd.problems and policy.ANNOTATION_DISRUPTION_BUDGETS in odd.problems[0]
