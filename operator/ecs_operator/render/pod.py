"""The entry point: a task definition and its context to a PodTemplateSpec.

Each aspect is rendered by its own module (names, process, resources, health, lifecycle,
network, storage, security, platform, placement, identity); this module only puts the parts in
place, in a fixed, readable field order, and runs the whole-pod passes: Fargate hardening, the
Pod Security level the pod needs, and the coverage report of members with no exact mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..api.rules.common import is_essential
from ..api.shapes import ContainerDefinition, RegisterTaskDefinitionRequest
from ..nodes import tolerates_fargate_taint
from . import (
    coverage,
    fargate,
    health,
    keys,
    lifecycle,
    metadata,
    network,
    placement,
    platform,
    pod_security,
    process,
    resources,
    security,
    storage,
    task_metadata,
)
from .context import Constraint, RenderContext, Rendered
from .errors import RenderError, Violation
from .findings import Report
from .identity import identity
from .names import NameAllocator, guessable_names

CONTAINER_ORDER = (
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "volumeMounts",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "restartPolicy",
    "restartPolicyRules",
    "securityContext",
    "stdin",
    "tty",
)
SPEC_ORDER = (
    "serviceAccountName",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "shareProcessNamespace",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostname",
    "dnsPolicy",
    "dnsConfig",
    "hostAliases",
    "os",
    "runtimeClassName",
    "nodeSelector",
    "affinity",
    "tolerations",
    "topologySpreadConstraints",
    "securityContext",
    "imagePullSecrets",
    "resources",
    "initContainers",
    "containers",
    "volumes",
)


def _ordered(parts: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """``parts`` with the keys of ``order`` first, in that order (others keep theirs)."""
    first = {key: parts[key] for key in order if key in parts}
    return {**first, **{key: value for key, value in parts.items() if key not in first}}


def ordered_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A pod spec with its fields in the renderer's order (for callers that add fields)."""
    return _ordered(spec, SPEC_ORDER)


def container_names(defs: Sequence[ContainerDefinition]) -> list[str]:
    """Unique DNS-1123 container names, refusing what ECS refuses (duplicate names, no
    container at all). An empty image never gets here: the shape refuses it."""
    violations: list[Violation] = []
    seen: set[str] = set()
    for i, cd in enumerate(defs):
        path = f"containerDefinitions[{i}]"
        if cd.name in seen:
            violations.append(Violation(path + ".name", f"duplicate container name {cd.name!r}"))
        seen.add(cd.name)
    if not defs:
        violations.append(Violation("containerDefinitions", "a task needs a container"))
    if violations:
        raise RenderError(violations)
    allocator = NameAllocator()
    return [
        allocator.claim(name, cd.name)
        for name, cd in zip(guessable_names([cd.name for cd in defs]), defs, strict=True)
    ]


class _PodBuilder:
    """Holds what the per-container builders share while one task definition renders."""

    def __init__(self, td: RegisterTaskDefinitionRequest, ctx: RenderContext) -> None:
        self.td, self.ctx, self.report = td, ctx, Report()
        self.defs = td.containerDefinitions
        self.names = container_names(self.defs)
        self.windows = platform.is_windows(td)
        self.plan = lifecycle.plan(self.defs, self.report)
        self.mode = network.network_mode(td, ctx)
        self.volumes = storage.task_volumes(td, ctx, self.report)
        self.ports = network.PortScope(self.mode)
        self.kept_options: dict[str, list[str]] = {}
        self.size = resources.TaskSize(None, None)

    def container(self, i: int, res: resources.Resources) -> dict[str, Any]:
        """Container ``i`` with every per-container aspect rendered."""
        cd, name, path = self.defs[i], self.names[i], f"containerDefinitions[{i}]"
        role = self.plan.roles[i]
        parts: dict[str, Any] = {"name": name, **process.process(cd, path, self.report)}
        own = [e["name"] for e in parts.get("env", ())]
        agent = task_metadata.execution_env(self.ctx.placement.is_fargate, own)
        if self.ctx.task_metadata_url:
            agent += task_metadata.endpoint_env(self.ctx.task_metadata_url, cd.name, own)
        if agent:
            parts["env"] = [*agent, *parts.get("env", ())]
        ports = network.container_ports(cd, name, path, self.ports, self.report)
        if ports:
            parts["ports"] = ports
        parts["resources"] = resources.compact(res)
        mounts = storage.container_mounts(self.defs, i, name, self.volumes, self.report)
        if mounts:
            parts["volumeMounts"] = mounts
        parts.update(self._probes(cd, i, role, path))
        parts.update(lifecycle.restart_fields(cd, path, role, self.ctx, self.report))
        sec = security.container_security(cd, path, self.windows, self.report)
        if sec.context:
            parts["securityContext"] = sec.context
        if sec.kept_options:
            self.kept_options[name] = sec.kept_options
        if cd.interactive:
            parts["stdin"] = True
        if cd.pseudoTerminal:
            parts["tty"] = True
        if not parts["resources"]:
            del parts["resources"]
        return _ordered(parts, CONTAINER_ORDER)

    def _probes(self, cd: ContainerDefinition, i: int, role: str, path: str) -> dict[str, Any]:
        if cd.healthCheck is None:
            return {}
        if role == "init":
            self.report.ignored(
                path + ".healthCheck", "a run-to-completion init container cannot have probes"
            )
            return {}
        essential = is_essential(cd)
        if not (self.ctx.standalone or essential):
            self.report.approx(
                path + ".healthCheck",
                "nothing acts on a non-essential container's health, as in ECS (a probe would "
                "restart it or take the task out of service), so its healthStatus is UNKNOWN",
            )
        return health.probes(
            cd.healthCheck,
            path + ".healthCheck",
            windows=self.windows,
            readiness=self.ctx.standalone or essential,
            gate=i in self.plan.healthy_targets,
            report=self.report,
            liveness=essential and not self.ctx.standalone,
        )

    def resources(self) -> tuple[list[resources.Resources], resources.Resources | None]:
        """Per-container resources after the task size is applied, and pod-level resources."""
        report, ctx = self.report, self.ctx
        per_container = [
            resources.container_resources(cd, f"containerDefinitions[{i}]", self.windows, report)
            for i, cd in enumerate(self.defs)
        ]
        size = self.size = resources.task_size(self.td, ctx, report)
        pod_level: resources.Resources | None = None
        if self.windows and not ctx.placement.is_fargate and (size.cpu or size.memory):
            report.ignored("cpu", "Windows containers on EC2 ignore the task size, as on ECS")
        elif ctx.pod_level_resources and not self.windows:
            pod_level = resources.pod_resources(size)
        else:
            running = [per_container[i] for i, role in enumerate(self.plan.roles) if role != "init"]
            resources.distribute(size, running, report)
            for i in self.plan.init_order:
                if self.plan.roles[i] == "init":
                    resources.whole_task(size, per_container[i])
        storage = self.td.ephemeralStorage
        if storage is not None and storage.sizeInGiB > 0 and not ctx.placement.is_fargate:
            report.ignored(
                "ephemeralStorage",
                "only Fargate tasks are given more ephemeral storage: an EC2 task uses its "
                "instance's disk, as on ECS",
            )
        elif storage is not None and storage.sizeInGiB > 0:
            main = [i for i in self.plan.main_order if is_essential(self.defs[i])]
            target = (main or list(self.plan.main_order) or [0])[0]
            resources.ephemeral_storage(storage.sizeInGiB, per_container[target])
        for i, res in enumerate(per_container):
            resources.clamp_requests(res, f"containerDefinitions[{i}]", report)
        return per_container, pod_level

    def spec(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The pod spec and the ServiceAccount."""
        td, ctx, report = self.td, self.ctx, self.report
        per_container, pod_level = self.resources()
        built = {i: self.container(i, per_container[i]) for i in range(len(self.defs))}
        who = identity(td.taskRoleArn, ctx, report)
        parts: dict[str, Any] = {
            "serviceAccountName": who.name,
            "automountServiceAccountToken": False,
            # no Docker-link variables (API_PORT=tcp://...) for the namespace's Services: a
            # container's environment is its task definition's and the agent's, as on ECS
            "enableServiceLinks": False,
            "restartPolicy": "Never" if ctx.standalone else "Always",
        }
        grace = lifecycle.termination_grace(self.defs, report, ctx.placement.is_fargate)
        if grace is not None:
            parts["terminationGracePeriodSeconds"] = grace
        parts.update(network.pod_network(td, self.mode, report))
        parts.update(security.pod_security(td, self.mode, self.windows, report))
        parts.update(platform.pod_platform(td, report))
        parts["nodeSelector"] = {**platform.node_selector(td), **ctx.placement.node_selector}
        parts.update(self._placement())
        if ctx.placement.tolerations:
            parts["tolerations"] = [dict(t) for t in ctx.placement.tolerations]
            if not ctx.placement.is_fargate and tolerates_fargate_taint(ctx.placement.tolerations):
                placement.keep_off_fargate_nodes(parts)
        pulls = [
            process.image_pull_secret(cd, f"containerDefinitions[{i}]", report)
            for i, cd in enumerate(self.defs)
        ]
        if any(pulls):
            parts["imagePullSecrets"] = [{"name": n} for n in dict.fromkeys(p for p in pulls if p)]
        if pod_level:
            parts["resources"] = resources.compact(pod_level)
        if self.plan.init_order:
            parts["initContainers"] = [built[i] for i in self.plan.init_order]
        parts["containers"] = [built[i] for i in self.plan.main_order]
        if self.volumes.volumes:
            parts["volumes"] = self.volumes.volumes
        spec = _ordered(parts, SPEC_ORDER)
        paths = self._container_paths(), self._volume_paths()
        if ctx.placement.is_fargate:
            fargate.harden(spec, *paths, report)
        pod_security.report_level(spec, *paths, report)
        return spec, who.service_account

    def _placement(self) -> dict[str, Any]:
        """``affinity`` and ``topologySpreadConstraints`` from all placement constraints."""
        own = [
            Constraint(f"placementConstraints[{k}]", c.type, c.expression)
            for k, c in enumerate(self.td.placementConstraints or ())
        ]
        constraints = [*own, *self.ctx.placement.constraints]
        selector = metadata.selector_labels(self.td.family, self.ctx)
        strategies = self.ctx.placement.strategies
        affinity = placement.affinity(
            constraints,
            strategies,
            selector,
            self.report,
            self.ctx.node_labels,
            self.ctx.placement.node_pools,
        )
        spreads = placement.topology_spread(strategies, selector, self.report)
        out: dict[str, Any] = {"affinity": affinity} if affinity else {}
        if spreads:
            out["topologySpreadConstraints"] = spreads
        return out

    def _container_paths(self) -> dict[str, str]:
        return {name: f"containerDefinitions[{i}]" for i, name in enumerate(self.names)}

    def _volume_paths(self) -> dict[str, str]:
        index = {v.name: k for k, v in enumerate(self.td.volumes or ())}
        return {k8s: f"volumes[{index[ecs]}]" for ecs, k8s in self.volumes.names.items()}

    def annotations(self) -> dict[str, str]:
        """Every annotation of the pod template (after :meth:`spec`: it records what rendering
        the spec found, such as the task size, the port mappings and the kept options)."""
        td = self.td
        essential = lifecycle.essential_names(self.defs, self.names)
        out = metadata.pod_annotations(td, self.ctx, self.names, essential, self.mode)
        if self.ctx.placement.is_fargate:
            size = resources.capacity_provisioned(self.size)
            out[keys.ANNOTATION_CAPACITY_PROVISIONED] = size
        if self.ports.mappings:
            out[keys.ANNOTATION_PORT_MAPPINGS] = metadata.json_annotation(self.ports.mappings)
        if self.kept_options:
            out[keys.ANNOTATION_DOCKER_SECURITY_OPTIONS] = metadata.json_annotation(
                self.kept_options
            )
        out.update(coverage.report_and_annotate(td, self.names, self.report))
        return out


def render_pod_template(td: RegisterTaskDefinitionRequest, ctx: RenderContext) -> Rendered:
    """Render ``td`` as a PodTemplateSpec (plain dict, Kubernetes JSON casing) for ``ctx``.

    Pure: no I/O, no cluster. Raises :class:`RenderError` only for input ECS itself rejects
    and that has no rendering (see errors.py); everything else that is not exact is a finding.
    """
    builder = _PodBuilder(td, ctx)
    spec, service_account = builder.spec()
    template = {
        "metadata": {
            "labels": metadata.pod_labels(td.family, ctx),
            "annotations": builder.annotations(),
        },
        "spec": spec,
    }
    return Rendered(
        pod_template=template,
        service_account=service_account,
        findings=tuple(builder.report.findings),
        references=tuple(builder.report.references),
    )
