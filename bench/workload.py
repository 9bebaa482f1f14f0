"""The benchmark workload: N ECS Services as custom resources, and the same N Services as the
plain Kubernetes objects the renderer makes of them (the baseline).

Half the Services run on FARGATE with a Fargate task definition, half on EC2 with an EC2 one,
every task definition with a container health check: with one, ECS (and so the operator)
counts a task healthy once the check passes, which kwok's pods do at once; without one the
renderer adds ECS's 40 s grace (``minReadySeconds``), and both sides would only measure that.

The baseline objects come from ``plan_service`` (the operator's own plan) on the very specs
the custom resources carry, parsed the way the operator parses them, so both sides run
identical pods: the difference measured is the operator, not the workload.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

from ecs_operator import API_GROUP, API_VERSION, nodes
from ecs_operator.api.parse import parse_service, parse_task_definition
from ecs_operator.plan import PlanContext, plan_service
from ecs_operator.render import request

TASKS_PER_SERVICE = 2
#: Passes at once on the devcluster (kwok reports containers ready as soon as they start).
HEALTH_CHECK = {"command": ["CMD-SHELL", "true"]}
#: The family every Service of the rollout benchmark shares.
SHARED_FAMILY = "bench-shared"

#: the AWS account of the task roles (the operator under test allows its roles)
ACCOUNT_ID = "123456789012"


def resource(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def fargate_spec(family: str) -> dict[str, Any]:
    """A Fargate task definition (0.25 vCPU, 512 MiB), as ``register-task-definition`` takes it."""
    return {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "essential": True,
                "portMappings": [{"containerPort": 80}],
                "healthCheck": HEALTH_CHECK,
            }
        ],
    }


def ec2_spec(family: str) -> dict[str, Any]:
    """An EC2 task definition (bridge networking, container-level cpu and memory)."""
    return {
        "family": family,
        "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "essential": True,
                "cpu": 128,
                "memory": 128,
                "command": ["sleep", "infinity"],
                "healthCheck": HEALTH_CHECK,
            }
        ],
    }


def shared_spec(revision_marker: str = "1") -> dict[str, Any]:
    """A task definition both launch types accept, so Fargate and EC2 Services can share its
    family; ``revision_marker`` (an environment variable) makes a new revision."""
    spec = fargate_spec(SHARED_FAMILY)
    spec["requiresCompatibilities"] = ["EC2", "FARGATE"]
    spec["containerDefinitions"][0]["environment"] = [{"name": "REV", "value": revision_marker}]
    return spec


def launch_type(index: int) -> str:
    """Even Services on FARGATE, odd ones on EC2."""
    return "FARGATE" if index % 2 == 0 else "EC2"


def service_name(index: int) -> str:
    return f"svc-{index:04d}"


def family(index: int) -> str:
    return f"bench-{index:04d}"


def service_spec(index: int, task_definition: str, tasks: int) -> dict[str, Any]:
    return {
        "serviceName": service_name(index),
        "taskDefinition": task_definition,
        "desiredCount": tasks,
        "launchType": launch_type(index),
    }


@dataclasses.dataclass(frozen=True)
class Workload:
    """N Services in one namespace; the first ``shared`` use one family, the others one
    family each (as most ECS users have: a task definition family per service)."""

    namespace: str
    services: int
    tasks: int = TASKS_PER_SERVICE
    shared: int = 0
    #: give every task definition its own task role (so every Service its own
    #: ServiceAccount) instead of none (one ServiceAccount shared by the namespace): an
    #: experiment that takes the shared ServiceAccount out of the picture
    task_roles: bool = False

    @property
    def pods(self) -> int:
        return self.services * self.tasks

    @property
    def ec2_pods(self) -> int:
        return sum(self.tasks for i in range(self.services) if launch_type(i) == "EC2")

    def task_definition_specs(self) -> dict[str, dict[str, Any]]:
        """Object name -> spec of every task definition the Services use."""
        specs: dict[str, dict[str, Any]] = {}
        if self.shared:
            specs[SHARED_FAMILY] = shared_spec()
        for i in range(self.shared, self.services):
            make = fargate_spec if launch_type(i) == "FARGATE" else ec2_spec
            specs[family(i)] = make(family(i))
        if self.task_roles:
            for name, spec in specs.items():
                spec["taskRoleArn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
        return specs

    def family_of(self, index: int) -> str:
        return SHARED_FAMILY if index < self.shared else family(index)

    def ecs_objects(self) -> list[dict[str, Any]]:
        """The TaskDefinitions and Services, as custom resources (what a user applies)."""
        objects = [
            resource("TaskDefinition", name, self.namespace, spec)
            for name, spec in self.task_definition_specs().items()
        ]
        objects += [
            resource(
                "Service",
                service_name(i),
                self.namespace,
                service_spec(i, self.family_of(i), self.tasks),
            )
            for i in range(self.services)
        ]
        return objects

    def kubernetes_objects(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The baseline: (ServiceAccounts, everything else) exactly as the operator renders
        them (revision 1, the operator's default of pod-level resources, the namespace's
        ``default`` cluster): each Service's Deployment and whatever the renderer attaches to
        it (a PodDisruptionBudget for ECS's minimumHealthyPercent), without the owner
        references only an operator can set. The ServiceAccount (one per task role, shared)
        is applied once."""
        options = request.Options(
            namespace=self.namespace, cluster="default", pod_level_resources=True
        )
        specs = self.task_definition_specs()
        accounts: dict[str, dict[str, Any]] = {}
        objects = []
        for i in range(self.services):
            # the operator renders from the spec it stored in the revision: to_ecs() of the parse
            td = parse_task_definition(parse_task_definition(specs[self.family_of(i)]).to_ecs())
            svc = parse_service(service_spec(i, self.family_of(i), self.tasks))
            plan = plan_service(svc, PlanContext(td, 1, options, name=service_name(i)))
            for account in plan.accounts:
                accounts[account["metadata"]["name"]] = copy.deepcopy(account)
            objects += [copy.deepcopy(o) for o in (*plan.workloads, *plan.attached)]
        return list(accounts.values()), objects


def bench_nodes(ec2_pods: int) -> list[dict[str, Any]]:
    """Extra EC2 nodes (pool ``general``) so that the EC2 half of the workload fits: the
    default fleet holds about 290 pods on its Linux EC2 nodes (58 per node, as on EKS), far
    fewer than 500 Services' EC2 tasks. Big instances (m5.16xlarge-like: 64 vCPU, 256 GiB,
    500 pods) keep the node count, and so kwok's heartbeat load, small."""
    count = math.ceil(ec2_pods / 400)
    made = []
    for i in range(count):
        base = nodes.ec2_node(
            f"bench-ec2-{i}", "general", nodes.ZONES[i % len(nodes.ZONES)], "m5.xlarge"
        )
        node = dataclasses.replace(
            base,
            labels={**base.labels, nodes.LABEL_INSTANCE_TYPE: "m5.16xlarge"},
            capacity={"cpu": "64", "memory": "256Gi", "pods": "500"},
        )
        made.append(node.manifest())
    return made
