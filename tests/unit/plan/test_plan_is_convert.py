"""What ``convert --to k8s`` prints is what the operator creates: every golden case's
expected.yaml (what convert prints, checked by test_render_golden) equals the objects of the
plans made with a context built as the operator builds it (its object's name, the namespace's
policy, the strategy in force), including a service split over several capacity providers.

The two differ only where they must: the operator names a task's pods (``<task>-<i>``) where
convert, having no Task object, gives a ``generateName``; and a task definition no service or
task uses is a PodTemplate for convert, a ControllerRevision (plan_taskdefinition) for the
operator.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_operator import convert
from ecs_operator.api.models import ClusterSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec
from ecs_operator.api.ref import TaskDefinitionRef
from ecs_operator.plan import PlanContext, plan_service, plan_task
from ecs_operator.policy import EXPOSED_SERVICE_TYPES, Policy
from ecs_operator.render import keys
from ecs_operator.render.names import dns_label

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
#: the golden cases convert renders as Kubernetes objects (the others print custom resources)
CASES = sorted(
    p.name
    for p in GOLDEN.iterdir()
    if (p / "input.json").is_file()
    and "crd" not in ((p / "args").read_text().split() if (p / "args").exists() else [])
)
#: what convert prints beside the plans: accounts (compared apart), a lone task definition's
#: PodTemplate, and with --emit-volumes the volumes the pods need
CONVERT_ONLY = ("ServiceAccount", "PodTemplate", "PersistentVolume", "PersistentVolumeClaim")
#: a namespace whose admin allows every Service type (convert offers every one)
OPEN = Policy(service_types=frozenset(EXPOSED_SERVICE_TYPES))


def _arguments(case: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    convert.configure(parser)
    extra = (case / "args").read_text().split() if (case / "args").exists() else []
    return parser.parse_args([str(case / "input.json"), *extra])


def _task_definition(documents: list[convert.Document], text: str) -> convert.Document:
    ref = TaskDefinitionRef.parse(text)
    return max(
        (
            d
            for d in documents
            if isinstance(d.spec, TaskDefinitionSpec) and d.spec.family == ref.family
        ),
        key=lambda d: d.revision or 0,
    )


def _operator_plans(case: Path) -> list[Any]:
    """The plans the operator makes of the case's services and tasks: the context it builds
    from the custom resources convert --to crd makes of the same input."""
    args = _arguments(case)
    options = convert.options_of(args)
    data = json.loads((case / "input.json").read_text())
    documents = convert.read_documents(data, convert.inputs_of(args))
    plans = []
    for doc in documents:
        spec = doc.spec
        if isinstance(spec, TaskDefinitionSpec | ClusterSpec):
            continue
        assert isinstance(spec, ServiceSpec | TaskSpec) and spec.taskDefinition
        td = _task_definition(documents, spec.taskDefinition)
        assert isinstance(td.spec, TaskDefinitionSpec)
        strategy = tuple(spec.capacityProviderStrategy or ()) or None
        if isinstance(spec, ServiceSpec):
            context = PlanContext(
                td.spec, td.revision, options, strategy, dns_label(spec.serviceName), {}, OPEN
            )
            plans.append(plan_service(spec, context))
        else:
            name = f"task-{len(plans)}"
            context = PlanContext(td.spec, td.revision, options, strategy, name, {}, OPEN)
            plans.append(plan_task(spec, context))
    return plans


@pytest.mark.parametrize("case", CASES)
def test_convert_prints_the_operators_plan(case: str) -> None:
    printed = [d for d in yaml.safe_load_all((GOLDEN / case / "expected.yaml").read_text()) if d]
    plans = _operator_plans(GOLDEN / case)
    accounts = {a["metadata"]["name"]: a for plan in plans for a in plan.accounts}
    printed_accounts = {d["metadata"]["name"]: d for d in printed if d["kind"] == "ServiceAccount"}
    assert printed_accounts.items() >= accounts.items()
    planned = [_unnamed(o) for plan in plans for o in plan.objects if o["kind"] != "ServiceAccount"]
    workloads = [_unnamed(d) for d in printed if d["kind"] not in CONVERT_ONLY]
    assert workloads == planned


def _unnamed(obj: dict[str, Any]) -> dict[str, Any]:
    """A task's pod without what names it: the operator's fixed name and task label, or
    convert's ``generateName`` (the one difference there is)."""
    if obj["kind"] != "Pod":
        return obj
    metadata = {k: v for k, v in obj["metadata"].items() if k not in ("name", "generateName")}
    labels = {k: v for k, v in metadata["labels"].items() if k != keys.LABEL_TASK}
    return {**obj, "metadata": {**metadata, "labels": labels}}


def test_a_golden_case_splits_a_service_over_several_providers() -> None:
    """The claim above holds for a multi-provider strategy, not only for one provider."""
    plans = _operator_plans(GOLDEN / "fargate-spot-strategy")
    [service] = plans
    assert service.workloads[0]["metadata"]["name"] == "image-resizer-fargate"
    assert len(service.workloads) == 2
    assert sum(w["spec"]["replicas"] for w in service.workloads) == 10
