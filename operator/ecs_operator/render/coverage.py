"""The coverage table: every task-definition and container-definition member, where it goes
in Kubernetes, or why it goes nowhere.

This table is the single source of three things: the findings for members with no (or no exact)
mapping, emitted whenever such a member is set, and the annotations that keep values Kubernetes
has no field for (both by :func:`report_and_annotate`); and the member table of docs/mapping.md
(:func:`markdown_table`). A test fails when a member of the generated shapes is
missing here, so a new ECS member cannot slip through unmapped and unreported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..api.base import EcsShape
from ..api.shapes import RegisterTaskDefinitionRequest
from . import keys
from .findings import FindingKind, Report
from .metadata import json_annotation


@dataclass(frozen=True, slots=True)
class Member:
    """How one ECS member is rendered.

    ``kubernetes`` is the Kubernetes side (for docs/mapping.md), ``module`` the render module
    that owns it; ``finding``/``reason`` are reported whenever the member is set; ``annotation``
    is the annotation the ECS value is kept in when Kubernetes has no field for it; ``note``
    tells docs/mapping.md when the owning module reports findings of its own.
    """

    kubernetes: str
    module: str
    finding: FindingKind | None = None
    reason: str = ""
    annotation: str | None = None
    note: str = ""


#: the ``kubernetes`` text of a member whose nested members are listed one by one
SEE_MEMBERS = "see its members"


def _kept(key: str, kind: FindingKind, reason: str, module: str = "coverage") -> Member:
    return Member(f"annotation `{key}`", module, kind, reason, key)


TASK_DEFINITION: Mapping[str, Member] = {
    "family": Member(
        "labels `ecs-operator.dev/family`, `app.kubernetes.io/name`; annotation "
        "`ecs-operator.dev/family`",
        "metadata",
    ),
    "taskRoleArn": Member(
        "`serviceAccountName`: ServiceAccount `role-<role name>-<hash of the role ARN>` "
        "with `eks.amazonaws.com/role-arn` (IRSA); no role: `ecs-no-task-role`",
        "identity",
    ),
    "executionRoleArn": Member(
        f"annotation `{keys.ANNOTATION_EXECUTION_ROLE}` (its duties fall to the kubelet and "
        "the operator)",
        "metadata",
    ),
    "networkMode": Member(
        "`host`: `hostNetwork`; `awsvpc`/`bridge`: the pod network; annotation "
        f"`{keys.ANNOTATION_NETWORK_MODE}`",
        "network",
        note="unsupported: `none`; dropped: `host` on Fargate",
    ),
    "containerDefinitions": Member(
        "`containers` / `initContainers` (see the container table)", "pod"
    ),
    "volumes": Member(
        "`volumes`: hostPath, emptyDir, PVC (EFS, shared Docker volumes), generic ephemeral "
        "volume (configuredAtLaunch)",
        "storage",
        note="unsupported: S3 Files, FSx for Windows (an emptyDir stands in); "
        "dropped: host paths on Fargate",
    ),
    "placementConstraints": Member(
        "`affinity.nodeAffinity` (memberOf expressions: every attribute comparison, and/or, "
        "parentheses; a regular expression as the nodes' label values it matches)",
        "placement",
        note="an expression that does not translate (`task:group`, other non-attribute "
        "subjects) is an error, never a rule left out",
    ),
    "requiresCompatibilities": Member(
        f"annotation `{keys.ANNOTATION_REQUIRES_COMPATIBILITIES}`; validation, and the "
        "default launch type of `convert`",
        "coverage",
        annotation=keys.ANNOTATION_REQUIRES_COMPATIBILITIES,
    ),
    "cpu": Member(
        "pod `spec.resources` (pod-level resources) or distributed to containers; Fargate: "
        f"rounded size in `{keys.ANNOTATION_CAPACITY_PROVISIONED}`",
        "resources",
        note="mapped-approx when distributed over several containers, or rounded for Fargate",
    ),
    "memory": Member("as `cpu`", "resources", note="as `cpu`"),
    "tags": Member(
        f"annotation `{keys.ANNOTATION_TAGS}`", "coverage", annotation=keys.ANNOTATION_TAGS
    ),
    "pidMode": Member(
        "`host`: `hostPID`; `task`: `shareProcessNamespace`",
        "security",
        note="dropped: `host` on Fargate",
    ),
    "ipcMode": Member(
        "`host`: `hostIPC`; `task`: the pod's shared IPC namespace",
        "security",
        note="mapped-approx: `none`; dropped: `host` on Fargate",
    ),
    "proxyConfiguration": _kept(
        keys.ANNOTATION_PROXY_CONFIGURATION,
        "unsupported",
        "App Mesh traffic redirection has no Kubernetes equivalent (a mesh injects its own)",
    ),
    "inferenceAccelerators": Member(
        "—", "coverage", "unsupported", "Elastic Inference is retired; nothing is rendered"
    ),
    "ephemeralStorage": Member(
        "`ephemeral-storage` request and limit on the first essential container (Fargate)",
        "resources",
        note="ignored on EC2, as on ECS",
    ),
    "runtimePlatform": Member(
        "nodeSelector `kubernetes.io/os`, `kubernetes.io/arch`, "
        "`node.kubernetes.io/windows-build`; `spec.os`",
        "platform",
    ),
    "enableFaultInjection": Member(
        "—", "coverage", "unsupported", "the ECS fault-injection endpoints do not exist here"
    ),
    "trustedExecutionConfiguration": Member(
        "`runtimeClassName` `isolated-sandbox` / `confidential-sandbox`",
        "platform",
        note="mapped-approx: the RuntimeClass must provide the isolation",
    ),
    "trustedExecutionConfiguration.attestationPolicy": Member(
        "—", "coverage", "unsupported", "attestation is the RuntimeClass's business"
    ),
}

CONTAINER: Mapping[str, Member] = {
    "name": Member(
        f"`name` (DNS-1123 label); annotation `{keys.ANNOTATION_CONTAINER_NAMES}`", "names"
    ),
    "image": Member("`image`", "process"),
    "repositoryCredentials": Member(
        "`imagePullSecrets`: Secret `regcred-<secret name>`", "process"
    ),
    "cpu": Member(
        "`resources.requests.cpu` = ceil(units * 1000 / 1024)m, no limit (Windows: also the limit)",
        "resources",
    ),
    "memory": Member(
        "`resources.limits.memory` (and the request when there is no memoryReservation)",
        "resources",
    ),
    "memoryReservation": Member("`resources.requests.memory`", "resources"),
    "links": Member(
        "`hostAliases` 127.0.0.1 for the linked names",
        "network",
        note="mapped-approx: Docker's link environment variables are not set",
    ),
    "portMappings": Member(
        "`ports` (`hostPort` for static bridge host ports); annotation "
        f"`{keys.ANNOTATION_PORT_MAPPINGS}`",
        "network",
        note="mapped-approx: port ranges, ports shared by containers",
    ),
    "essential": Member(
        f"annotation `{keys.ANNOTATION_ESSENTIAL}` (the operator stops the task)",
        "lifecycle",
        note="mapped-approx: a non-essential container of a service restarts unless "
        "ContainerRestartRules are on, and its task is not ready while it is down (a deployment "
        "waits); its exits fail no deployment",
    ),
    "restartPolicy": Member(
        "container `restartPolicy` / `restartPolicyRules` (ContainerRestartRules); annotation "
        f"`{keys.ANNOTATION_RESTART_POLICIES}` (an essential container that restarts does not "
        "stop the task)",
        "lifecycle",
        annotation=keys.ANNOTATION_RESTART_POLICIES,
        note="mapped-approx or unsupported without ContainerRestartRules",
    ),
    "entryPoint": Member("`command`, each `$` written `$$` (the kubelet's escape)", "process"),
    "command": Member("`args`, each `$` written `$$` (the kubelet's escape)", "process"),
    "environment": Member("`env`, each `$` written `$$` (the kubelet's escape)", "process"),
    "environmentFiles": Member(
        "`envFrom.configMapRef`: ConfigMap `envfile-<bucket/key>`",
        "process",
        note="mapped-approx: precedence between several files",
    ),
    "mountPoints": Member("`volumeMounts`", "storage"),
    "volumesFrom": Member(
        "`volumeMounts` of the source container",
        "storage",
        note="mapped-approx: the image's own VOLUMEs are not shared",
    ),
    "linuxParameters": Member(SEE_MEMBERS, "security"),
    "linuxParameters.capabilities": Member("`securityContext.capabilities`", "security"),
    "linuxParameters.devices": _kept(
        keys.ANNOTATION_DEVICES,
        "unsupported",
        "host devices need a device plugin on Kubernetes",
    ),
    "linuxParameters.initProcessEnabled": Member(
        "`shareProcessNamespace`",
        "security",
        note="mapped-approx: the pause process is PID 1 for all containers",
    ),
    "linuxParameters.sharedMemorySize": Member("emptyDir `medium: Memory` at /dev/shm", "storage"),
    "linuxParameters.tmpfs": Member("emptyDir `medium: Memory` with `sizeLimit`", "storage"),
    "linuxParameters.maxSwap": Member(
        "—", "coverage", "unsupported", "swap is a node setting (NodeSwap) on Kubernetes"
    ),
    "linuxParameters.swappiness": Member(
        "—", "coverage", "unsupported", "swap is a node setting (NodeSwap) on Kubernetes"
    ),
    "secrets": Member(
        "`env[].valueFrom.secretKeyRef`: Secret `sm-<name>` / `ssm-<name>`", "process"
    ),
    "dependsOn": Member(
        "`initContainers`: sidecars (START/HEALTHY), run-to-completion (COMPLETE/SUCCESS)",
        "lifecycle",
        note="mapped-approx: COMPLETE must exit 0; init containers hold every regular container",
    ),
    "startTimeout": Member(
        "—",
        "coverage",
        "unsupported",
        "Kubernetes has no per-container dependency timeout; the kubelet waits for init "
        "containers and startup probes",
    ),
    "stopTimeout": Member(
        "`terminationGracePeriodSeconds` (the longest; at most 120 on Fargate)",
        "lifecycle",
        note="mapped-approx when containers differ; ignored above 120 on Fargate",
    ),
    "versionConsistency": Member(
        "—",
        "coverage",
        "ignored",
        "the image reference is used as written; tags are not resolved to digests",
    ),
    "hostname": Member(
        "`hostname` (one per pod)", "network", note="mapped-approx: first DNS label only"
    ),
    "user": Member(
        "`securityContext.runAsUser`/`runAsGroup`; Windows: `windowsOptions.runAsUserName`",
        "security",
        note="unsupported: user and group names on Linux",
    ),
    "workingDirectory": Member("`workingDir`", "process"),
    "disableNetworking": Member(
        "—", "coverage", "unsupported", "a container cannot be cut off its pod's network"
    ),
    "privileged": Member(
        "`securityContext.privileged` (never on Fargate)", "security", note="dropped on Fargate"
    ),
    "readonlyRootFilesystem": Member("`securityContext.readOnlyRootFilesystem`", "security"),
    "dnsServers": Member(
        "`dnsConfig.nameservers`, `dnsPolicy: None`",
        "network",
        note="mapped-approx when containers differ",
    ),
    "dnsSearchDomains": Member("`dnsConfig.searches`", "network"),
    "extraHosts": Member(
        "`hostAliases`", "network", note="mapped-approx: every container gets them"
    ),
    "dockerSecurityOptions": Member(
        "`allowPrivilegeEscalation`, `appArmorProfile`, `seLinuxOptions`, `seccompProfile`; "
        f"others in annotation `{keys.ANNOTATION_DOCKER_SECURITY_OPTIONS}`",
        "security",
        note="unsupported: other options (e.g. `credentialspec:`)",
    ),
    "interactive": Member("`stdin`", "process"),
    "pseudoTerminal": Member("`tty`", "process"),
    "dockerLabels": _kept(
        keys.ANNOTATION_DOCKER_LABELS, "unsupported", "Kubernetes has no container labels"
    ),
    "ulimits": _kept(
        keys.ANNOTATION_ULIMITS,
        "unsupported",
        "Kubernetes has no rlimit setting: the container runtime's defaults apply",
    ),
    "logConfiguration": _kept(
        keys.ANNOTATION_LOG_CONFIGURATION,
        "mapped-approx",
        "logs go to the node's log files; a node log agent must ship them as the driver did",
    ),
    "healthCheck": Member(
        "`livenessProbe`, `readinessProbe` (essential containers), `startupProbe`",
        "health",
        note="mapped-approx: an unhealthy essential container is restarted in place, not its "
        "task replaced; a non-essential container's health is not reported; a "
        "run-to-completion init container gets no probes (ignored)",
    ),
    "systemControls": Member(
        "pod `securityContext.sysctls`",
        "security",
        note=(
            "mapped-approx: pod-wide; unsafe sysctls need a kubelet allowlist "
            "(`--allowed-unsafe-sysctls`): without one the kubelet refuses the pod and the task "
            "stops `TaskFailedToStart` with the kubelet's reason"
        ),
    ),
    "resourceRequirements": Member(
        "`resources.limits` `nvidia.com/gpu` / `aws.amazon.com/neuron`",
        "resources",
        note="unsupported: `ALL`, InferenceAccelerator; mapped-approx: GPU sharing",
    ),
    "firelensConfiguration": _kept(
        keys.ANNOTATION_FIRELENS,
        "mapped-approx",
        "the log router runs as a container that containers logging through `awsfirelens` "
        "wait for (START, as the ECS agent adds), but their logs are not routed to it",
    ),
    "credentialSpecs": _kept(
        keys.ANNOTATION_CREDENTIAL_SPECS,
        "unsupported",
        "Windows gMSA needs GMSACredentialSpec objects and the gMSA webhook",
    ),
}


def is_set(value: Any) -> bool:
    """Whether a member carries information (``false``, ``[]`` and ``{}`` do not)."""
    return value is not None and value is not False and value != [] and value != {}


def member_value(shape: EcsShape, dotted: str) -> Any:
    """The value of a (possibly nested, dotted) member, None when a parent is absent."""
    return _value(shape, tuple(dotted.split(".")))


def _value(shape: EcsShape, parts: tuple[str, ...]) -> Any:
    value: Any = shape
    for part in parts:
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


#: per table, only the members that report or keep something, with their paths pre-split
#: (the walk runs on every rendering; most members need nothing from it)
_ACTIVE: dict[int, list[tuple[str, tuple[str, ...], Member]]] = {
    id(table): [
        (dotted, tuple(dotted.split(".")), member)
        for dotted, member in table.items()
        if member.finding or member.annotation
    ]
    for table in (TASK_DEFINITION, CONTAINER)
}


def _set_members(
    shape: EcsShape, table: Mapping[str, Member], prefix: str
) -> Iterator[tuple[str, Member, Any]]:
    """``(path, member, value)`` of the set members that report or keep something."""
    for dotted, parts, member in _ACTIVE[id(table)]:
        value = _value(shape, parts)
        if is_set(value):
            yield prefix + dotted, member, value


def _json(value: Any) -> Any:
    if isinstance(value, EcsShape):
        return value.to_ecs()
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def report_and_annotate(
    td: RegisterTaskDefinitionRequest, container_names: Sequence[str], report: Report
) -> dict[str, str]:
    """One walk over the set members the table cares about: a finding for each one it marks
    unsupported/ignored/approximate, and the annotations keeping the values Kubernetes has no
    field for (task members as their ECS JSON, container members as a JSON object keyed by the
    Kubernetes container name)."""
    kept: dict[str, Any] = {}
    scopes: list[tuple[EcsShape, Mapping[str, Member], str, str | None]] = [
        (td, TASK_DEFINITION, "", None)
    ]
    scopes += [
        (cd, CONTAINER, f"containerDefinitions[{i}].", name)
        for i, (cd, name) in enumerate(zip(td.containerDefinitions, container_names, strict=True))
    ]
    for shape, table, prefix, container in scopes:
        for path, member, value in _set_members(shape, table, prefix):
            if member.finding:
                note = f"; kept in annotation {member.annotation}" if member.annotation else ""
                report.add(path, member.finding, member.reason + note)
            if member.annotation and container is None:
                kept[member.annotation] = _json(value)
            elif member.annotation:
                kept.setdefault(member.annotation, {})[container] = _json(value)
    return {key: json_annotation(value) for key, value in kept.items()}


def _row(name: str, member: Member) -> str:
    note = f"{member.finding}: {member.reason}" if member.finding else member.note
    return f"| `{name}` | {member.kubernetes} | {note} |"


def markdown_table() -> str:
    """The member tables of docs/mapping.md, generated from this module."""
    lines = ["### Task definition", "", "| ECS member | Kubernetes | Finding |", "|---|---|---|"]
    lines += [_row(name, m) for name, m in TASK_DEFINITION.items()]
    lines += ["", "### Container definition", "", "| ECS member | Kubernetes | Finding |"]
    lines += ["|---|---|---|", *(_row(name, m) for name, m in CONTAINER.items())]
    return "\n".join(lines) + "\n"
