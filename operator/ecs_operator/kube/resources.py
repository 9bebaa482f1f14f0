"""The API resources the operator reads and writes, named once."""

from __future__ import annotations

from ecs_operator import API_GROUP, API_VERSION

from .client import Resource

DEPLOYMENT = Resource("apps", "v1", "deployments", "Deployment")
DAEMON_SET = Resource("apps", "v1", "daemonsets", "DaemonSet")
CONTROLLER_REVISION = Resource("apps", "v1", "controllerrevisions", "ControllerRevision")
POD = Resource("", "v1", "pods", "Pod")
SERVICE_ACCOUNT = Resource("", "v1", "serviceaccounts", "ServiceAccount")
NODE = Resource("", "v1", "nodes", "Node", namespaced=False)
NAMESPACE = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
KUBE_SERVICE = Resource("", "v1", "services", "Service")
HORIZONTAL_POD_AUTOSCALER = Resource(
    "autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"
)
POD_DISRUPTION_BUDGET = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")

TASK_DEFINITION = Resource(API_GROUP, API_VERSION, "taskdefinitions", "TaskDefinition")
ECS_SERVICE = Resource(API_GROUP, API_VERSION, "services", "Service")
ECS_TASK = Resource(API_GROUP, API_VERSION, "tasks", "Task")
ECS_CLUSTER = Resource(API_GROUP, API_VERSION, "clusters", "Cluster")
SCHEDULED_TASK = Resource(API_GROUP, API_VERSION, "scheduledtasks", "ScheduledTask")

BY_KIND = {
    (r.api_version, r.kind): r
    for r in (
        DEPLOYMENT,
        DAEMON_SET,
        CONTROLLER_REVISION,
        POD,
        SERVICE_ACCOUNT,
        NODE,
        NAMESPACE,
        KUBE_SERVICE,
        HORIZONTAL_POD_AUTOSCALER,
        POD_DISRUPTION_BUDGET,
        TASK_DEFINITION,
        ECS_SERVICE,
        ECS_TASK,
        ECS_CLUSTER,
        SCHEDULED_TASK,
    )
}


def resource_of(body: dict[str, object]) -> Resource:
    """The Resource of a manifest, from its apiVersion and kind."""
    return BY_KIND[(str(body["apiVersion"]), str(body["kind"]))]
