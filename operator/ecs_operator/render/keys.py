"""The label and annotation keys the renderer writes: one place, so the operator's selectors,
status mapping and docs/mapping.md cannot disagree with what was rendered."""

from __future__ import annotations

from ..nodes import PREFIX

# Labels (values are shortened to 63 characters with a hash suffix when needed).
LABEL_FAMILY = PREFIX + "family"
LABEL_REVISION = PREFIX + "revision"
#: on a task definition's ControllerRevision: its TaskDefinition's uid, so that one family's
#: revisions are listed by a selector rather than picked from the namespace's (as Kubernetes
#: labels a Job's pods with ``batch.kubernetes.io/controller-uid``)
LABEL_CONTROLLER_UID = PREFIX + "controller-uid"
LABEL_CLUSTER = PREFIX + "cluster"
LABEL_SERVICE = PREFIX + "service"
LABEL_TASK = PREFIX + "task"
#: a ScheduledTask's Tasks: the schedule's name
LABEL_SCHEDULED_TASK = PREFIX + "scheduled-task"
LABEL_LAUNCH_TYPE = PREFIX + "launch-type"
LABEL_CAPACITY_PROVIDER = PREFIX + "capacity-provider"
LABEL_APP_NAME = "app.kubernetes.io/name"
LABEL_APP_INSTANCE = "app.kubernetes.io/instance"
LABEL_APP_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_APP_PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "ecs-operator"

# Annotations holding the exact ECS names (labels may be shortened).
ANNOTATION_FAMILY = PREFIX + "family"
#: on a task definition's ControllerRevision: the hash of the spec it records
ANNOTATION_SPEC_HASH = PREFIX + "spec-hash"
#: on a task definition's ControllerRevision: the TaskDefinition's metadata.generation whose
#: spec it records
ANNOTATION_SPEC_GENERATION = PREFIX + "spec-generation"
#: on what an ``ecs-operator api`` call created (a revision, a Service, a Task): the call's
#: mark, a digest of its parameters and client token (ecsapi/idempotency.py), by which the
#: call sent again, or a create retried after its answer was lost, finds its own
ANNOTATION_REQUEST = PREFIX + "request"
#: on a TaskDefinition the ECS API registered: the AWS account of the key that registered it,
#: which completes a role given by name (``"taskRoleArn": "reports"``) into its ARN, as ECS
#: completes it with the caller's account (where ``ecs-operator run --account-id`` gives none)
ANNOTATION_ACCOUNT = PREFIX + "account-id"
ANNOTATION_CLUSTER = PREFIX + "cluster"
ANNOTATION_SERVICE = PREFIX + "service"
ANNOTATION_TASK = PREFIX + "task"
#: the firing a ScheduledTask's Task is for (RFC 3339, UTC)
ANNOTATION_FIRING_TIME = PREFIX + "firing-time"
ANNOTATION_TASK_DEFINITION = PREFIX + "task-definition"
ANNOTATION_CONTAINER_NAMES = PREFIX + "container-names"

# Annotations carrying ECS semantics the operator enforces or reports.
ANNOTATION_ESSENTIAL = PREFIX + "essential-containers"
ANNOTATION_RESTART_POLICIES = PREFIX + "restart-policies"
ANNOTATION_CAPACITY_PROVISIONED = PREFIX + "capacity-provisioned"
ANNOTATION_NETWORK_MODE = PREFIX + "network-mode"
ANNOTATION_PORT_MAPPINGS = PREFIX + "port-mappings"
ANNOTATION_EXECUTION_ROLE = PREFIX + "execution-role-arn"
ANNOTATION_DOCKER_SECURITY_OPTIONS = PREFIX + "docker-security-options"
ANNOTATION_AWSVPC = PREFIX + "awsvpc-configuration"
ANNOTATION_STARTED_BY = PREFIX + "started-by"
ANNOTATION_GROUP = PREFIX + "group"
#: on a Task: StopTask's ``reason``, its tasks' ``stoppedReason`` once stopped
ANNOTATION_STOP_REASON = PREFIX + "stop-reason"
#: on a Task: the tasks of it StopTask stopped alone (one of several), each with its reason, as
#: JSON (``{"<task>-1": "reason"}``)
ANNOTATION_STOPPED_TASKS = PREFIX + "stopped-tasks"
#: on a Service: DeleteService's time (the ECS API keeps the object, scaled to 0, as ECS keeps
#: a deleted service describable): the operator reports it DRAINING, then INACTIVE
ANNOTATION_DELETED_AT = PREFIX + "deleted-at"

# Annotations keeping ECS values that have no Kubernetes field (see coverage.py).
ANNOTATION_LOG_CONFIGURATION = PREFIX + "log-configuration"
ANNOTATION_FIRELENS = PREFIX + "firelens-configuration"
ANNOTATION_DOCKER_LABELS = PREFIX + "docker-labels"
ANNOTATION_ULIMITS = PREFIX + "ulimits"
ANNOTATION_DEVICES = PREFIX + "devices"
ANNOTATION_CREDENTIAL_SPECS = PREFIX + "credential-specs"
ANNOTATION_PROXY_CONFIGURATION = PREFIX + "proxy-configuration"
ANNOTATION_TAGS = PREFIX + "tags"
ANNOTATION_REQUIRES_COMPATIBILITIES = PREFIX + "requires-compatibilities"

# The objects a service is reached and scaled through (Services, HPA, PDB: render/endpoints.py,
# scaling.py, availability.py).
#: on the ECS Service custom resource: the type of its load balancers' Services (ClusterIP,
#: NodePort or LoadBalancer; default ClusterIP)
ANNOTATION_LOAD_BALANCER_TYPE = PREFIX + "load-balancer-type"
#: on the ECS Service custom resource: ECS's ``update-service --force-new-deployment``; a new
#: value (any, e.g. a timestamp) starts a new deployment of the same task definition (carried
#: to the pod template, so the tasks are replaced as a rollout replaces them)
ANNOTATION_FORCE_NEW_DEPLOYMENT = PREFIX + "force-new-deployment"
ANNOTATION_TARGET_GROUPS = PREFIX + "target-group-arns"
ANNOTATION_LOAD_BALANCER_NAMES = PREFIX + "load-balancer-names"
ANNOTATION_REGISTRIES = PREFIX + "registry-arns"
#: the ECS names (Service Connect discovery names and client aliases) a Service answers for
ANNOTATION_ECS_DNS_NAMES = PREFIX + "ecs-dns-names"
#: on a standalone task's pod the operator is stopping: when it cut the active deadline (epoch
#: seconds), so a node that does not honour the deadline (a virtual kubelet) gets the pod
#: deleted once the grace period is over
ANNOTATION_STOPPING_SINCE = PREFIX + "stopping-since"
#: pod label prefix of the security groups (``sg.ecs-operator.dev/sg-0123: "true"``)
LABEL_SECURITY_GROUP_PREFIX = "sg.ecs-operator.dev/"

# IRSA: the annotation EKS's pod identity webhook reads on a ServiceAccount.
ANNOTATION_IRSA_ROLE = "eks.amazonaws.com/role-arn"
#: on a task-role ServiceAccount the operator created: the full ARN of the role it stands for
#: (empty for the account of tasks without a role); see render/identity.py
ANNOTATION_TASK_ROLE = PREFIX + "task-role-arn"
