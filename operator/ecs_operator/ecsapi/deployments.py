"""ListServiceDeployments and DescribeServiceDeployments: a service's deployments (those its
DescribeServices shows: the PRIMARY one and the one it replaces) in the service-deployment
vocabulary Terraform's service waiter reads (their ARNs: ``status.taskdefinition.Arns``)."""

from __future__ import annotations

from typing import Any

from ecs_operator.api.identifiers import short_name

from . import clusters, errors, services, wire
from .caller import Caller

Body = dict[str, Any]
#: a deployment's rolloutState (PRIMARY) -> the service deployment's status
STATUS = {"IN_PROGRESS": "IN_PROGRESS", "COMPLETED": "SUCCESSFUL", "FAILED": "STOPPED"}


def deployment_summary(caller: Caller, cluster: str, service: Body, deployment: Body) -> Body:
    name, deployment_id = service["serviceName"], str(deployment["id"])
    state = STATUS.get(deployment.get("rolloutState", ""), "IN_PROGRESS")
    if deployment.get("status") != "PRIMARY":
        state = "SUCCESSFUL"  # the deployment being replaced finished before
    summary: Body = {
        "serviceDeploymentArn": caller.arns.service_deployment(cluster, name, deployment_id),
        "serviceArn": service["serviceArn"],
        "clusterArn": caller.arn(f"cluster/{cluster}"),
        "createdAt": deployment.get("createdAt"),
        "startedAt": deployment.get("createdAt"),
        "targetServiceRevisionArn": caller.arns.service_revision(cluster, name, deployment_id),
        "status": state,
        "statusReason": deployment.get("rolloutStateReason", ""),
    }
    if state != "IN_PROGRESS":
        summary["finishedAt"] = deployment.get("updatedAt")
    return summary


async def _deployments(caller: Caller, cluster: str, name: str) -> list[tuple[Body, Body]]:
    body = (await services.services_in(caller, cluster, name)).get(name)
    if body is None:
        raise errors.service_not_found()
    shown = services.view(caller, body)
    return [(shown, d) for d in shown["deployments"]]


async def list_deployments(caller: Caller, request: Body) -> Body:
    cluster = await clusters.require(caller, request.get("cluster"))
    found = await _deployments(caller, cluster, short_name(request["service"]))
    summaries = [deployment_summary(caller, cluster, s, d) for s, d in found]
    wanted = request.get("status")
    if wanted:
        summaries = [s for s in summaries if s["status"] in wanted]
    by_arn = {s["serviceDeploymentArn"]: s for s in summaries}
    filters = [cluster, request["service"], wanted]
    chosen, token = wire.page(
        list(by_arn), request.get("nextToken"), request.get("maxResults"), filters, default=20
    )
    return {
        "serviceDeployments": [by_arn[a] for a in chosen],
        **({"nextToken": token} if token else {}),
    }


async def describe_deployments(caller: Caller, request: Body) -> Body:
    found, failures = [], []
    for arn in request["serviceDeploymentArns"]:
        parts = arn.split(":", 5)[-1].split("/")
        if len(parts) != 4 or parts[0] != "service-deployment":
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        _, cluster, name, digits = parts
        try:
            deployments = await _deployments(caller, cluster, name)
        except errors.EcsApiError:
            deployments = []
        match = [(s, d) for s, d in deployments if str(d["id"]).endswith(f"/{digits}")]
        if not match:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        service, deployment = match[0]
        summary = deployment_summary(caller, cluster, service, deployment)
        found.append(
            {
                **{k: v for k, v in summary.items() if k != "targetServiceRevisionArn"},
                "targetServiceRevision": {
                    "arn": summary["targetServiceRevisionArn"],
                    "requestedTaskCount": deployment.get("desiredCount", 0),
                    "runningTaskCount": deployment.get("runningCount", 0),
                    "pendingTaskCount": deployment.get("pendingCount", 0),
                },
            }
        )
    return {"serviceDeployments": found, "failures": failures}
