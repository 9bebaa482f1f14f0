"""A service's deployments as ECS's service-deployment vocabulary names them: deployment
``ecs-svc/<digits>`` of service S in cluster C is ``…:service-deployment/C/S/<digits>``, and the
revision it deploys ``…:service-revision/C/S/<digits>``. DescribeServices names the current
ones (``currentServiceDeployment``, ``currentServiceRevisions``); ListServiceDeployments and
DescribeServiceDeployments (``deployments.py``) describe them."""

from __future__ import annotations

from typing import Any

from .caller import Caller

Body = dict[str, Any]


def _digits(deployment_id: str) -> str:
    return deployment_id.rsplit("/", 1)[-1]


def deployment_arn(caller: Caller, cluster: str, service: str, deployment_id: str) -> str:
    return caller.arn(f"service-deployment/{cluster}/{service}/{_digits(deployment_id)}")


def revision_arn(caller: Caller, cluster: str, service: str, deployment_id: str) -> str:
    return caller.arn(f"service-revision/{cluster}/{service}/{_digits(deployment_id)}")


def current(caller: Caller, cluster: str, service: str, deployments: list[Body]) -> Body:
    """DescribeServices' ``currentServiceDeployment`` (the PRIMARY deployment's, the first) and
    ``currentServiceRevisions`` (the revision of each deployment that has tasks, with their
    counts): what a deploy script polls DescribeServiceDeployments with after UpdateService."""
    if not deployments:
        return {}
    return {
        "currentServiceDeployment": deployment_arn(caller, cluster, service, deployments[0]["id"]),
        "currentServiceRevisions": [
            {
                "arn": revision_arn(caller, cluster, service, d["id"]),
                "requestedTaskCount": d.get("desiredCount", 0),
                "runningTaskCount": d.get("runningCount", 0),
                "pendingTaskCount": d.get("pendingCount", 0),
            }
            for d in deployments
        ],
    }
