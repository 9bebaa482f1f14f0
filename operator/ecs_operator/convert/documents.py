"""The input objects of ``convert``: each one recognised (task definition, service, run-task,
cluster), validated, and stripped of what only describe-* output carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import sources
from ..api.errors import EcsValidationError, Violation
from ..api.identifiers import DEFAULT_CLUSTER
from ..api.models import ClusterSpec, ScheduledTaskSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
from ..api.parse import (
    parse_cluster,
    parse_scheduled_task,
    parse_service,
    parse_task,
    parse_task_definition,
)
from ..render import platform

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
