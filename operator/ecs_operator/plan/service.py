"""A Service's plan: its task-role ServiceAccount, one workload per capacity provider (ECS's
base/weight split) or a DaemonSet, the objects attached to the service as a whole, findings,
the policy's refusal and the inputs of its status.

The split is decided here, so ``convert`` prints the Deployments the operator creates: a
strategy of several providers is one Deployment per provider, named and selecting by provider
(so they never fight over pods), whose replicas sum to ``desiredCount``. The attached objects
(Services, HorizontalPodAutoscaler, PodDisruptionBudget) select the pods of every provider and
are rendered once, from the whole request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..api.models import ServiceSpec
from ..api.shapes import CreateServiceRequest
from ..render import endpoints, keys
from ..render.attached import render_attached, service_selector
from ..render.findings import Report
from ..render.names import dns_label, label_value
from ..render.service import RenderedService, render_service, report_unrendered
from ..status.rollout import CircuitBreaker, Rollout, spec_hash
from .context import PlanContext, Reported, WorkloadPlan, provider_counts, refusal

#: ECS's Service members for its capacity: a status reports exactly one of them
CAPACITY_MEMBERS = ("launchType", "capacityProviderStrategy")


@dataclass(frozen=True, slots=True)
class ServiceStatusInputs:
    """What the Service's status takes from its plan (the rest comes from the live workloads
    and pods)."""

    #: ``family:revision`` the workloads run
    task_definition: str
    #: the cluster's name (``status.clusterArn``)
    cluster: str
    #: the tasks the Deployments run together; None for a DAEMON service (one per node: the
    #: DaemonSet's status says how many)
    desired_count: int | None
    #: the labels every pod of the service carries, whatever its provider or revision
    pod_selector: Mapping[str, str]
    #: the same as a label selector string: the scale subresource's, for an HPA
    scale_selector: str
    #: the capacity in force, as ECS's Service members: ``capacityProviderStrategy`` (the
    #: spec's or the cluster's default), else the ``launchType`` the tasks run with (EC2 for a
    #: spec that names neither, as in ECS): what describe-services shows for either
    capacity: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ServicePlan(WorkloadPlan):
    """What should exist for a Service (its accounts, workloads and attached objects), and
    what to report about it."""

    #: a Deployment per capacity provider, or the DaemonSet
    workloads: tuple[dict[str, Any], ...]
    #: Services, HorizontalPodAutoscaler, PodDisruptionBudget of the service as a whole
    attached: tuple[dict[str, Any], ...]
    status_inputs: ServiceStatusInputs

    @property
    def objects(self) -> tuple[dict[str, Any], ...]:
        """Everything to write, accounts first (what ``convert --to k8s`` prints)."""
        return (*self.accounts, *self.workloads, *self.attached)


def plan_service(spec: CreateServiceRequest, context: PlanContext) -> ServicePlan:
    """The plan of ``spec`` (a Service's :class:`ServiceSpec`, whose ``autoScaling`` a bare
    CreateService request lacks) running ``context.task_definition``."""
    parts = provider_parts(spec, context)
    restart = context.annotations.get(keys.ANNOTATION_FORCE_NEW_DEPLOYMENT)
    rendered = [
        render_service(
            part,
            context.task_definition,
            context.options,
            context.revision,
            force_new_deployment=restart,
        )
        for part in parts
    ]
    split = len(parts) > 1
    workloads = tuple(
        _per_provider(r.workload, _provider(part)) if split else r.workload
        for part, r in zip(parts, rendered, strict=True)
    )
    first = rendered[0].pod
    report = Report()
    allowed = context.policy.allowed_service_types if context.policy else endpoints.SERVICE_TYPES
    attached = render_attached(
        spec,
        first.pod_template,
        context.options.namespace,
        name=context.name,
        load_balancer_type=context.annotations.get(keys.ANNOTATION_LOAD_BALANCER_TYPE),
        allowed_types=allowed,
        disruption_budget=context.policy.disruption_budgets if context.policy else True,
        report=report,
    )
    report_unrendered(spec, report)
    request = Reported.merged(
        [*(f for r in rendered for f in r.findings), *report.findings],
        [*(ref for r in rendered for ref in r.references), *report.references],
    )
    task_definition = Reported.merged(
        (f for r in rendered for f in r.pod.findings),
        (ref for r in rendered for ref in r.pod.references),
    )
    return ServicePlan(
        accounts=(first.service_account,),
        workloads=workloads,
        attached=tuple(attached),
        request=request,
        task_definition=task_definition,
        refusal=refusal(
            context,
            first.service_account,
            [*request.findings, *task_definition.findings],
        ),
        status_inputs=_status_inputs(spec, context, rendered, workloads),
    )


def provider_parts(spec: CreateServiceRequest, context: PlanContext) -> list[CreateServiceRequest]:
    """The service as one request per capacity provider of the strategy in force, each with
    its share of ``desiredCount`` (just itself, with that strategy, without a split; a DAEMON
    service is never split: it runs on every node)."""
    strategy = context.strategy
    if spec.schedulingStrategy == "DAEMON" or not strategy or len(strategy) == 1:
        update: dict[str, Any] = {"capacityProviderStrategy": list(strategy)} if strategy else {}
        return [spec.model_copy(update=update)]
    desired = 1 if spec.desiredCount is None else spec.desiredCount
    return [
        spec.model_copy(update={"capacityProviderStrategy": [item], "desiredCount": count})
        for item, count in provider_counts(strategy, desired)
    ]


def _provider(part: CreateServiceRequest) -> str:
    strategy = part.capacityProviderStrategy or []
    return strategy[0].capacityProvider if strategy else ""


def _per_provider(workload: dict[str, Any], provider: str) -> dict[str, Any]:
    """A provider's own Deployment: its name and selector include the provider, so the
    per-provider Deployments never fight over pods."""
    name = dns_label(f"{workload['metadata']['name']}-{provider}".lower())
    metadata = {**workload["metadata"], "name": name}
    spec = dict(workload["spec"])
    spec["selector"] = {
        "matchLabels": {
            **spec["selector"]["matchLabels"],
            keys.LABEL_CAPACITY_PROVIDER: label_value(provider),
        }
    }
    return {**workload, "metadata": metadata, "spec": spec}


def _status_inputs(
    spec: CreateServiceRequest,
    context: PlanContext,
    rendered: list[RenderedService],
    workloads: tuple[dict[str, Any], ...],
) -> ServiceStatusInputs:
    template = rendered[0].pod.pod_template
    desired = None
    if spec.schedulingStrategy != "DAEMON":
        desired = sum(int(w["spec"].get("replicas", 0)) for w in workloads)
    return ServiceStatusInputs(
        task_definition=context.task_definition_ref,
        cluster=template["metadata"]["annotations"][keys.ANNOTATION_CLUSTER],
        desired_count=desired,
        pod_selector=service_selector(template),
        scale_selector=scale_selector(workloads),
        capacity=_capacity(context, template),
    )


def _capacity(context: PlanContext, template: Mapping[str, Any]) -> dict[str, Any]:
    if context.strategy:
        items = [item.model_dump(exclude_none=True) for item in context.strategy]
        return {"capacityProviderStrategy": items}
    labels = template["metadata"]["labels"]
    return {"launchType": labels.get(keys.LABEL_LAUNCH_TYPE, "EC2")}


def scale_selector(workloads: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    """The label selector of all the service's pods (the scale subresource's selector, so an
    HPA can find them): what the workloads' selectors share, without the provider."""
    if not workloads:
        return ""
    common = dict(workloads[0]["spec"]["selector"]["matchLabels"])
    common.pop(keys.LABEL_CAPACITY_PROVIDER, None)
    return ",".join(f"{k}={v}" for k, v in sorted(common.items()))


def requested_rollout(spec: ServiceSpec, raw_spec: Mapping[str, Any], target: str) -> Rollout:
    """The deployment the spec asks for: the task definition ``target`` (``family:N``), the
    rest of the spec as written (``raw_spec``) as a hash, and the circuit breaker sized for the
    desired count."""
    config = spec.deploymentConfiguration
    breaker = CircuitBreaker.of(
        config.deploymentCircuitBreaker if config else None,
        1 if spec.desiredCount is None else spec.desiredCount,
    )
    return Rollout(target, spec_hash(raw_spec), breaker)
