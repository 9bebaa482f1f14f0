"""A request's ``awsvpcConfiguration`` on the pod network.

Pods get their IPs from the cluster network, so subnets and public IPs have no say; they are
kept in the annotation ``ecs-operator.dev/awsvpc-configuration`` and reported. Security groups
become pod labels ``sg.ecs-operator.dev/<group id>: "true"``, which is what a NetworkPolicy
selects pods by: the operator writes no policy (the group's rules live in EC2, not in the
request), but policies written once per group apply to every task that names it.
"""

from __future__ import annotations

from ..api.shapes import CreateServiceRequest, RunTaskRequest
from .coverage import member_value
from .findings import Report
from .keys import ANNOTATION_AWSVPC, LABEL_SECURITY_GROUP_PREFIX
from .names import label_value

AWSVPC = "networkConfiguration.awsvpcConfiguration"


def security_group_labels(req: CreateServiceRequest | RunTaskRequest) -> dict[str, str]:
    """``sg.ecs-operator.dev/<id>: "true"`` for each security group of the request."""
    groups = member_value(req, AWSVPC + ".securityGroups") or ()
    return {LABEL_SECURITY_GROUP_PREFIX + label_value(group): "true" for group in groups}


def report_awsvpc(req: CreateServiceRequest | RunTaskRequest, report: Report) -> None:
    """Findings for the members of ``awsvpcConfiguration`` the pod network does not honour."""
    config = member_value(req, AWSVPC)
    if config is None:
        return
    if config.subnets:
        report.approx(
            AWSVPC + ".subnets",
            f"pods get IPs from the cluster network; kept in annotation {ANNOTATION_AWSVPC}",
        )
    if config.securityGroups:
        report.approx(
            AWSVPC + ".securityGroups",
            f"pod labels {LABEL_SECURITY_GROUP_PREFIX}<group>: NetworkPolicies select them; "
            "the group's rules are not applied",
        )
    if config.assignPublicIp == "ENABLED":
        report.unsupported(
            AWSVPC + ".assignPublicIp",
            "pods get no public IP: expose the service with a load balancer Service instead",
        )
