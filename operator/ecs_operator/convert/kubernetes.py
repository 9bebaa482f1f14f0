"""``convert --to k8s``: the Kubernetes objects the operator would create, from the operator's
own plans (plan/) with an offline context, and what stderr reports about each input object."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..api.errors import EcsValidationError, Violation
from ..api.models import ClusterSpec, ScheduledTaskSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
from ..api.ref import TaskDefinitionRef
from ..plan import ServicePlan, TaskPlan, offline_context, plan_service, plan_task
from ..render import capacity, workloads
from ..render.context import RenderContext
from ..render.findings import ObjectRef, Report, grouped_lines
from ..render.names import dns_label
from ..render.pod import render_pod_template
from ..render.request import Options, request_cluster
from ..render.storage import volume_objects
from .documents import Document

#: what --to k8s says of a Cluster, which has no Kubernetes object of its own
#: what --to k8s says of a ScheduledTask, whose runs the operator creates as it fires
SCHEDULE_K8S_NOTE = (
    "no Kubernetes object: the operator creates a Task at each firing (docs/mapping.md, "
    "Scheduled tasks); convert --to crd to keep it"
)
CLUSTER_K8S_NOTE = (
    "no Kubernetes object: a cluster is the operator's grouping of services and tasks, and its "
    "EC2 capacity providers are node pools (docs/nodes.md); convert --to crd to keep it"
)


@dataclass(slots=True)
class Conversion:
    """The Kubernetes objects of a conversion and, per input object, what stderr reports."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    reports: list[tuple[str, list[str]]] = field(default_factory=list)
    #: what the pods reference, for --emit-volumes
    volumes: list[ObjectRef] = field(default_factory=list)
    _accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def emit_volumes(self, namespace: str) -> None:
        """Append the PersistentVolumes and claims of the referenced volumes, once each."""
        emitted: set[str] = set()
        for ref in self.volumes:
            if ref.name not in emitted:
                emitted.add(ref.name)
                self.objects += volume_objects(ref, namespace)

    def add(self, title: str, objects: Iterable[dict[str, Any]], notes: list[str]) -> None:
        """Keep ``objects`` (ServiceAccounts once each) and the notes about ``title``."""
        for obj in objects:
            if obj["kind"] == "ServiceAccount":
                self._accounts.setdefault(obj["metadata"]["name"], obj)
            else:
                self.objects.append(obj)
        if notes:
            self.reports.append((title, notes))

    def documents(self) -> list[dict[str, Any]]:
        """ServiceAccounts first, so that applying the stream in order works."""
        return [*self._accounts.values(), *self.objects]


def _resolve(ref_text: str | None, where: str, tds: list[Document]) -> Document:
    if ref_text is None:
        raise EcsValidationError([Violation(where + "taskDefinition", "is required")], "input")
    ref = TaskDefinitionRef.parse(ref_text)
    matches = [
        doc
        for doc in tds
        if isinstance(doc.spec, TaskDefinitionSpec)
        and doc.spec.family == ref.family
        and (ref.revision is None or doc.revision in (None, ref.revision))
    ]
    if not matches:
        rule = (
            f"task definition {ref_text!r} is not in the input: give it beside the service "
            "or task, in one JSON list"
        )
        raise EcsValidationError([Violation(where + "taskDefinition", rule)], "input")
    return max(matches, key=lambda doc: doc.revision or 0)


def plan_document(
    doc: Document, tds: list[Document], options: Options
) -> tuple[ServicePlan | TaskPlan, Document]:
    """The operator's plan of a service or run-task, with the task definition beside it in
    the input and the offline context; and that task definition's document."""
    spec = doc.spec
    assert isinstance(spec, ServiceSpec | TaskSpec)
    td_doc = _resolve(spec.taskDefinition, f"{doc.where}." if doc.where else "", tds)
    td = td_doc.spec
    assert isinstance(td, TaskDefinitionSpec)
    context = offline_context(spec, td, td_doc.revision, options)
    if isinstance(spec, ServiceSpec):
        return plan_service(spec, context), td_doc
    return plan_task(spec, context), td_doc


def _lone_task_definition(
    doc: Document, options: Options
) -> tuple[list[dict[str, Any]], list[str], tuple[ObjectRef, ...]]:
    td = doc.spec
    assert isinstance(td, TaskDefinitionSpec)
    report = Report()
    placement = capacity.placement_for(None, None, td.requiresCompatibilities, report)
    ctx = RenderContext(
        cluster=request_cluster(None, options),
        namespace=options.namespace,
        revision=doc.revision,
        placement=placement,
        pod_level_resources=options.pod_level_resources,
        container_restart_rules=options.container_restart_rules,
        account_id=options.account_id,
        node_labels=options.node_labels,
        task_metadata_url=options.task_metadata_url,
    )
    rendered = render_pod_template(td, ctx)
    name = dns_label(td.family if doc.revision is None else f"{td.family}-{doc.revision}")
    labels = dict(rendered.pod_template["metadata"]["labels"])
    template = workloads.pod_template(
        workloads.Meta(name, options.namespace, labels, {}), rendered.pod_template
    )
    notes = grouped_lines([*report.findings, *rendered.findings], rendered.references)
    return [rendered.service_account, template], notes, rendered.references


def to_kubernetes(
    documents: list[Document], options: Options, emit_volumes: bool = False
) -> Conversion:
    """Render every service and task with its task definition, then the task definitions
    no service or task uses as PodTemplates; with ``emit_volumes``, the PersistentVolumes and
    claims the pods' volumes need, after them."""
    tds = [doc for doc in documents if isinstance(doc.spec, TaskDefinitionSpec)]
    conversion = Conversion()
    used: list[Document] = []
    for doc in documents:
        if isinstance(doc.spec, ClusterSpec):
            conversion.reports.append((doc.title, [*doc.notes, CLUSTER_K8S_NOTE]))
            continue
        if isinstance(doc.spec, ScheduledTaskSpec):
            conversion.reports.append((doc.title, [*doc.notes, SCHEDULE_K8S_NOTE]))
            continue
        if isinstance(doc.spec, TaskDefinitionSpec):
            continue
        plan, td_doc = plan_document(doc, tds, options)
        used.append(td_doc)
        notes = grouped_lines(plan.request.findings, plan.request.references)
        conversion.add(doc.title, plan.objects, doc.notes + notes)
        td_notes = grouped_lines(plan.task_definition.findings, plan.task_definition.references)
        conversion.volumes += plan.task_definition.references
        if td_notes:
            conversion.reports.append((f"{doc.title}: {td_doc.title}", td_notes))
    for doc in tds:
        if any(doc is u for u in used):
            if doc.notes:
                conversion.reports.append((doc.title, doc.notes))
            continue
        objects, notes, references = _lone_task_definition(doc, options)
        conversion.add(doc.title, objects, doc.notes + notes)
        conversion.volumes += references
    if emit_volumes:
        conversion.emit_volumes(options.namespace)
    return conversion
