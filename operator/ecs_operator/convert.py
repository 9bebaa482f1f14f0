"""`ecs-operator convert FILE|-`: ECS JSON to our custom resources or to plain Kubernetes YAML.

Input is what the AWS CLI takes or prints: ``register-task-definition`` input,
``describe-task-definition`` output (bare or in its ``{"taskDefinition": ...}`` wrapper; the
read-only members are stripped and listed on stderr), ``create-service`` input,
``describe-services`` output (each service as its create-service request, likewise),
``run-task`` input, ``create-cluster`` input or ``describe-clusters`` output — one object or a
JSON list of them — or a CloudFormation template or ``terraform show -json`` output, whose ECS
resources are read (``sources/``). A service or run-task is rendered with the task definition
given beside it. A key that is an ECS member in the wrong case (``ContainerDefinitions``) is
named with its ECS spelling.

- ``--to crd`` (default): TaskDefinition / Service / Task custom resources whose spec is the ECS
  JSON, for the operator to reconcile (a Task has a ``generateName``: stderr says to create it
  with ``kubectl create``).
- ``--to k8s``: the Kubernetes objects the operator would create, rendered here without it: a
  Deployment (REPLICA) or DaemonSet (DAEMON) per service, Pods per run-task (created with
  ``generateName``: use ``kubectl create``), and for a task definition no service or task uses a
  PodTemplate (a task definition runs nothing by itself); plus their ServiceAccounts.
  Findings (what did not map exactly) and the Secrets/ConfigMaps/PVCs the pods expect go to
  stderr.

Invalid input exits 1 with one message per problem, naming the field by its ECS path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from . import API_GROUP, API_VERSION, sources
from .api.errors import EcsValidationError, Violation
from .api.identifiers import DEFAULT_CLUSTER
from .api.models import ClusterSpec, ScheduledTaskSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
from .api.parse import (
    parse_cluster,
    parse_scheduled_task,
    parse_service,
    parse_task,
    parse_task_definition,
)
from .api.ref import TaskDefinitionRef
from .nodes import NodeLabels, label_values
from .plan import ServicePlan, TaskPlan, offline_context, plan_service, plan_task
from .render import capacity, platform, workloads
from .render.context import RenderContext
from .render.findings import ObjectRef, Report, grouped_lines
from .render.names import dns_label
from .render.pod import render_pod_template
from .render.request import Options, request_cluster
from .render.storage import volume_objects
from .render.task import GENERATE_NAME_MAX

#: members of describe-task-definition output that RegisterTaskDefinition does not accept
READ_ONLY_MEMBERS = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
)
CRD_API_VERSION = f"{API_GROUP}/{API_VERSION}"
#: the members that tell an input object's kind, spelled as ECS spells them
MARKERS = ("containerDefinitions", "serviceName", "taskDefinition", "clusterName")
#: what stderr says about a run-task's objects, which have a generateName and no name
GENERATE_NAME_NOTE = (
    "created with metadata.generateName (each RunTask starts new tasks): use `kubectl create "
    "-f`, as `kubectl apply` needs a name; `kubectl apply` a TaskDefinition beside it on its own"
)
#: what convert says of a task definition that names no OS and uses nothing Windows-only
LINUX_NOTE = (
    "runtimePlatform absent: Linux, as ECS assumes (nothing in it is Windows-only); for "
    "Windows set runtimePlatform.operatingSystemFamily"
)
#: what --to k8s says of a ScheduledTask, whose runs the operator creates as it fires
SCHEDULE_K8S_NOTE = (
    "no Kubernetes object: the operator creates a Task at each firing (docs/mapping.md, "
    "Scheduled tasks); convert --to crd to keep it"
)
#: what --to k8s says of a Cluster, which has no Kubernetes object of its own
CLUSTER_K8S_NOTE = (
    "no Kubernetes object: a cluster is the operator's grouping of services and tasks, and its "
    "EC2 capacity providers are node pools (docs/nodes.md); convert --to crd to keep it"
)


def missing_clusters(documents: list[Document], options: Options) -> list[str]:
    """The hint that a service or task names a cluster the input does not define: the
    operator creates only ``default`` by itself, and waits (ClusterNotFound) for any other."""
    defined = {
        doc.spec.clusterName or DEFAULT_CLUSTER
        for doc in documents
        if isinstance(doc.spec, ClusterSpec)
    }
    named = {
        request_cluster(doc.spec.cluster, options)
        for doc in documents
        if isinstance(doc.spec, ServiceSpec | TaskSpec)
    }
    return [
        f"cluster {name} is not in the input: its services and tasks wait (ClusterNotFound) "
        f"until a Cluster with clusterName {name} exists (only default is created by itself); "
        f'convert {{"clusterName": "{name}"}} beside them'
        for name in sorted(named - defined - {DEFAULT_CLUSTER})
    ]


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ecs-operator convert``."""
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="+",
        help="ECS JSON (an object or a list), a CloudFormation template, terraform show -json "
        "output, or a directory of such files (*.json, *.yaml, *.yml); - for stdin; several "
        "are read as one input",
    )
    parser.add_argument(
        "--to",
        choices=("crd", "k8s"),
        default="crd",
        help="crd: ecs-operator custom resources (default); k8s: plain Kubernetes objects",
    )
    parser.add_argument("--namespace", help="namespace of the objects (k8s default: default)")
    parser.add_argument("--cluster", help="ECS cluster name when the input names none")
    parser.add_argument(
        "--pod-level-resources",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="task cpu/memory as pod spec.resources (Kubernetes 1.34+), as `ecs-operator run` "
        "renders it by default; --no-pod-level-resources spreads it over the containers",
    )
    parser.add_argument(
        "--container-restart-rules",
        action="store_true",
        help="per-container restartPolicy/restartPolicyRules (ContainerRestartRules, 1.34+)",
    )
    parser.add_argument("--account-id", help="AWS account id completing short role names")
    parser.add_argument(
        "--emit-volumes",
        action="store_true",
        help="with --to k8s: also the PersistentVolume (EFS CSI driver, its volume handle and "
        "mount options) and claim of each EFS volume, and the claim of each shared Docker volume",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a CloudFormation template's parameter (or an Fn::ImportValue export) value; "
        "repeat for more (default: the parameter's Default)",
    )
    parser.add_argument(
        "--nodes",
        metavar="FILE",
        help="the cluster's nodes (kubectl get nodes -o json), to expand a memberOf regular "
        "expression (attribute:ecs.instance-type =~ t2.*) into the label values they have",
    )


@dataclass(slots=True)
class Document:
    """One validated input object, where it came from, and what convert noticed about it."""

    where: str
    spec: TaskDefinitionSpec | ServiceSpec | TaskSpec | ClusterSpec | ScheduledTaskSpec
    revision: int | None = None
    notes: list[str] = field(default_factory=list)
    #: a ScheduledTask's name (its spec, CreateSchedule's input, has none of its own)
    name: str | None = None

    @property
    def title(self) -> str:
        """How stderr names it: ``TaskDefinition web:3``, ``Service web``, ``Task web``."""
        spec = self.spec
        if isinstance(spec, TaskDefinitionSpec):
            suffix = f":{self.revision}" if self.revision is not None else ""
            return f"TaskDefinition {spec.family}{suffix}"
        if isinstance(spec, ServiceSpec):
            return f"Service {spec.serviceName}"
        if isinstance(spec, ClusterSpec):
            return f"Cluster {spec.clusterName or DEFAULT_CLUSTER}"
        if isinstance(spec, ScheduledTaskSpec):
            return f"ScheduledTask {self.name}"
        return f"Task {spec.taskDefinition}"


def _strip_read_only(data: dict[str, Any], notes: list[str]) -> int | None:
    stripped = [key for key in READ_ONLY_MEMBERS if key in data]
    revision = data.get("revision")
    for key in stripped:
        del data[key]
    if stripped:
        notes.append(f"read-only describe-task-definition members stripped: {', '.join(stripped)}")
    return revision if isinstance(revision, int) and not isinstance(revision, bool) else None


def _task_definition(data: Mapping[str, Any], where: str) -> Document:
    notes: list[str] = []
    body = dict(data)
    if isinstance(body.get("taskDefinition"), dict):
        wrapper, body = body, dict(body["taskDefinition"])
        if wrapper.get("tags") and "tags" not in body:
            body["tags"] = wrapper["tags"]
    revision = _strip_read_only(body, notes)
    spec = parse_task_definition(body)
    for member, units in (("cpu", "CPU units"), ("memory", "MiB")):
        written, stored = body.get(member), getattr(spec, member)
        if written is not None and str(written) != stored:
            notes.append(
                f"{member} {written!r} -> {stored!r}: in {units}, as ECS registers it "
                "(describe-task-definition shows the same)"
            )
    if platform.operating_system_family(spec) is None and not platform.is_windows(spec):
        notes.append(LINUX_NOTE)
    return Document(where, spec, revision, notes)


def read_document(data: Any, where: str, kind: sources.Kind | None = None) -> Document:
    """Recognise (unless the input's form said its ``kind``) and validate one input object
    (EcsValidationError when invalid, with paths relative to the object)."""
    if not isinstance(data, dict):
        raise EcsValidationError([Violation("", "expected a JSON object")], "input")
    if kind == "ScheduledTask":
        body = {k: v for k, v in data.items() if k != "name"}
        name = str(data.get("name") or "schedule")
        return Document(where, parse_scheduled_task(body, name), name=name)
    if kind == "TaskDefinition" or (
        kind is None
        and ("containerDefinitions" in data or isinstance(data.get("taskDefinition"), dict))
    ):
        return _task_definition(data, where)
    if kind == "Service" or (kind is None and "serviceName" in data):
        return Document(where, parse_service(data))
    if kind == "Task" or (kind is None and "taskDefinition" in data):
        return Document(where, parse_task(data), notes=[GENERATE_NAME_NOTE])
    if kind == "Cluster" or (kind is None and "clusterName" in data):
        return Document(where, parse_cluster(data))
    misspelt = [
        Violation(key, f"ECS member names are camelCase: {marker}")
        for key in data
        for marker in MARKERS
        if key != marker and key.lower() == marker.lower()
    ]
    raise EcsValidationError(
        misspelt
        or [
            Violation(
                "",
                "not a task definition (containerDefinitions), a service (serviceName), "
                "a run-task request (taskDefinition) or a cluster (clusterName)",
            )
        ],
        "input",
    )


def read_documents(data: Any, inputs: sources.Inputs | None = None) -> list[Document]:
    """All input objects; every invalid one is reported, each path prefixed by where it is."""
    documents: list[Document] = []
    violations: list[Violation] = []
    for item in sources.items(data, inputs):
        try:
            document = read_document(item.body, item.where, item.kind)
        except EcsValidationError as error:
            violations += [v.under(item.where) for v in error.violations]
            continue
        document.notes[:0] = item.notes
        documents.append(document)
    if violations:
        raise EcsValidationError(violations, "input")
    return documents


def to_custom_resources(
    documents: Iterable[Document], namespace: str | None
) -> list[dict[str, Any]]:
    """TaskDefinition / Service / Task custom resources; the spec is the ECS JSON."""
    resources = []
    for doc in documents:
        spec = doc.spec
        if isinstance(spec, TaskDefinitionSpec):
            kind, metadata = "TaskDefinition", {"name": dns_label(spec.family)}
        elif isinstance(spec, ServiceSpec):
            kind, metadata = "Service", {"name": dns_label(spec.serviceName)}
        elif isinstance(spec, ClusterSpec):
            kind, metadata = "Cluster", {"name": dns_label(spec.clusterName or DEFAULT_CLUSTER)}
        elif isinstance(spec, ScheduledTaskSpec):
            kind, metadata = "ScheduledTask", {"name": dns_label(doc.name or "schedule")}
        else:
            family = spec.task_definition_ref.family
            kind, metadata = "Task", {"generateName": dns_label(family, GENERATE_NAME_MAX) + "-"}
        if namespace:
            metadata["namespace"] = namespace
        body = spec.model_dump(mode="json", exclude_none=True)
        if isinstance(spec, ServiceSpec | TaskSpec):
            _follow_family(body, doc.notes)
        if isinstance(spec, ScheduledTaskSpec):
            _follow_family(body["target"]["ecsParameters"], doc.notes, "taskDefinitionArn")
        resources.append(
            {"apiVersion": CRD_API_VERSION, "kind": kind, "metadata": metadata, "spec": body}
        )
    return resources


def _follow_family(body: dict[str, Any], notes: list[str], member: str = "taskDefinition") -> None:
    """``taskDefinition: web:7`` (or an ARN) becomes ``web``: the cluster numbers a family's
    revisions anew from 1, so AWS's revision numbers mean nothing there."""
    text = body.get(member)
    if not text:
        return
    family = TaskDefinitionRef.parse(text).family
    if family != text:
        body[member] = family
        notes.append(
            f"{member} {text} -> {family}: revisions are numbered anew from 1 in the "
            f"cluster; pin {family}:N once it is registered there"
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


class _Dumper(yaml.SafeDumper):
    """safe_dump without YAML aliases (Kubernetes tooling reads them poorly)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(documents: list[dict[str, Any]], out: TextIO) -> None:
    """Documents as a YAML stream (keys in rendering order)."""
    yaml.dump_all(documents, out, Dumper=_Dumper, sort_keys=False, width=100_000)


def _read(path: str) -> Any:
    if path == "-":
        return sources.parse(sys.stdin.read())
    with open(path, encoding="utf-8") as handle:
        return sources.parse(handle.read())


def _print_reports(reports: list[tuple[str, list[str]]], err: TextIO) -> None:
    for title, lines in reports:
        print(title, file=err)
        for line in lines:
            print(f"  {line}", file=err)


def _node_labels(path: str | None) -> NodeLabels | None:
    """The label values of ``kubectl get nodes -o json`` output (a List or one Node)."""
    if path is None:
        return None
    data = _read(path)
    listed = data.get("items", [data]) if isinstance(data, dict) else None
    if not isinstance(listed, list) or not all(isinstance(n, dict) for n in listed):
        raise ValueError("not the output of kubectl get nodes -o json")
    return label_values(listed)


#: the files a directory given to convert contributes
INPUT_SUFFIXES = (".json", ".yaml", ".yml")


def input_files(paths: list[str]) -> list[str]:
    """The files named, a directory standing for its input files (sorted, not recursive)."""
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        if path != "-" and folder.is_dir():
            files += sorted(
                str(p) for p in folder.iterdir() if p.is_file() and p.suffix in INPUT_SUFFIXES
            )
        else:
            files.append(path)
    return files


class Unreadable(Exception):
    """An input file that cannot be read or parsed (the message names it)."""


def _documents(files: list[str], inputs: sources.Inputs) -> list[Document]:
    """Every file's documents, in order; an error names the file when there are several."""
    documents: list[Document] = []
    for path in files:
        try:
            data = _read(path)
        except (OSError, json.JSONDecodeError) as error:
            raise Unreadable(f"{path}: {error}") from None
        try:
            documents += read_documents(data, inputs)
        except EcsValidationError as error:
            if len(files) == 1:
                raise
            raise EcsValidationError(error.violations, f"input {path}") from None
    return documents


def options_of(args: argparse.Namespace, node_labels: NodeLabels | None = None) -> Options:
    """The rendering options ``convert``'s arguments give (the operator's come from its
    flags and the Cluster)."""
    return Options(
        namespace=args.namespace or "default",
        cluster=args.cluster,
        pod_level_resources=args.pod_level_resources,
        container_restart_rules=args.container_restart_rules,
        account_id=args.account_id,
        node_labels=node_labels,
    )


def inputs_of(args: argparse.Namespace) -> sources.Inputs:
    """What ``--parameter`` and ``--account-id`` give the input's templates."""
    return sources.Inputs(
        dict(p.partition("=")[::2] for p in args.parameter), account_id=args.account_id
    )


def run(args: argparse.Namespace) -> int:
    """Convert ``args.file``; 0 on success, 1 on unreadable or invalid input."""
    files = input_files(args.file)
    try:
        node_labels = _node_labels(args.nodes)
    except (OSError, ValueError) as error:
        print(f"error: --nodes {args.nodes}: {error}", file=sys.stderr)
        return 1
    options = options_of(args, node_labels)
    inputs = inputs_of(args)
    try:
        documents = _documents(files, inputs)
        if args.to == "crd":
            out = to_custom_resources(documents, args.namespace)
            reports = [(doc.title, doc.notes) for doc in documents if doc.notes]
            hints = missing_clusters(documents, options)
            if hints:
                reports.append(("Clusters", hints))
        else:
            conversion = to_kubernetes(documents, options, args.emit_volumes)
            out, reports = conversion.documents(), conversion.reports
    except EcsValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Unreadable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    dump(out, sys.stdout)
    _print_reports(reports, sys.stderr)
    return 0
