"""Bad input thrown at the running operator all at once (issue "Prove it").

Every manifest of the refused corpus (``tests/integration/manifests/``: ``invalid/``,
``invalid-kubernetes/``, ``operator-invalid/``, see ``corpus.py``) goes into one namespace,
with well-formed neighbours applied in the middle of it: a healthy Fargate service, objects
with names as long as Kubernetes allows, two services sharing one ECS serviceName. Each bad
manifest must be refused at ``kubectl apply`` or, where only the operator can tell, reported
by it: a status condition naming the field and a Warning Event. Meanwhile the operator must
stay up, must not reconcile the bad objects in a loop, and must still bring the healthy
service to a steady state. The tests judge one snapshot, taken once the operator has reported
what it refuses and at least ``WINDOW`` seconds after the barrage began.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from tests.integration.manifests.corpus import (
    DEFAULT_REASON,
    OPERATOR_INVALID,
    REFUSED,
    Applied,
    Manifest,
    apply_all,
    load,
    params,
)
from tests.support.ecs import (
    GROUP,
    PLURALS,
    VERSION,
    apply,
    ec2_task_definition,
    fargate_task_definition,
    get,
    resource,
    service,
    status,
    wait_steady,
)
from tests.support.kube import Kube, kubectl, wait_for
from tests.support.operator import OperatorProcess

from ecs_operator.api.rules.service import tasks_per_service

pytestmark = pytest.mark.integration

#: How long the operator is watched after the barrage begins, at least; and how long, once
#: it has reported everything it refuses, it is watched doing nothing more about them.
WINDOW = 20.0
QUIET = 8.0
#: The "invalid" reconciles one refused TaskDefinition may cost in the window: one to report
#: it, one for the echo of its own status write, one to spare. A retry loop, even with
#: backoff, costs more.
PER_OBJECT = 3
#: The conditions that report a problem (kstatus: Valid, Ready, Degraded).
REPORTING = {("Valid", "False"), ("Ready", "False"), ("Degraded", "True")}

#: The healthy family the corpus' services and tasks refer to (see their headers), and the one
#: registered in another namespace only, which references must not reach.
STEADY = "steady-web"
ELSEWHERE = "elsewhere-web"
#: The longest object name Kubernetes allows, and a Task name longer than a label value.
LONGEST_NAME = "n" * 253
LONG_TASK_NAME = "k" * 100
TWINS = ("twin-a", "twin-b")

Key = tuple[str, str]  # (kind, name)


@dataclass(frozen=True)
class Barrage:
    """What came of the barrage: kubectl's answers by file, then, after the window, the
    objects and the Warning Events (reason, message) by object; and the "invalid" reconciles
    by kind, in the whole window and in its quiet end."""

    namespace: str
    applied: dict[Path, Applied]
    objects: dict[Key, dict[str, Any]]
    warnings: dict[Key, list[tuple[str, str]]]
    invalid_reconciles: dict[str, float]
    quiet_invalid_reconciles: dict[str, float]

    def status(self, kind: str, name: str) -> dict[str, Any]:
        return self.objects.get((kind, name), {}).get("status") or {}


def _neighbours() -> list[dict[str, Any]]:
    """The well-formed objects applied amid the bad ones."""
    longest_td = {**ec2_task_definition("longest_name"), "metadata": {"name": LONGEST_NAME}}
    longest_service = service("longest-name", STEADY, desiredCount=1, launchType="FARGATE")
    return [
        fargate_task_definition(STEADY),
        service(STEADY, STEADY, desiredCount=2, launchType="FARGATE"),
        longest_td,
        {**longest_service, "metadata": {"name": LONGEST_NAME}},
        resource("Task", LONG_TASK_NAME, {"taskDefinition": STEADY}),
        *(service(twin, STEADY, desiredCount=1, serviceName="twin") for twin in TWINS),
    ]


def _invalid_reconciles(operator: OperatorProcess) -> dict[str, float]:
    return {
        kind: operator.metric("ecs_operator_reconciles_total", kind=kind, outcome="invalid")
        for kind in PLURALS
    }


def _objects(kube: Kube, namespace: str) -> dict[Key, dict[str, Any]]:
    found = {}
    for kind, plural in PLURALS.items():
        listed = cast(
            dict[str, Any],
            kube.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural),
        )
        found.update({(kind, item["metadata"]["name"]): item for item in listed["items"]})
    return found


def _warnings(kube: Kube, namespace: str) -> dict[Key, list[tuple[str, str]]]:
    found: dict[Key, list[tuple[str, str]]] = {}
    for event in kube.core.list_namespaced_event(namespace).items:
        if event.type == "Warning":
            key = (str(event.involved_object.kind), str(event.involved_object.name))
            found.setdefault(key, []).append((str(event.reason), str(event.message)))
    return found


def _throw(operator: OperatorProcess, kube: Kube, namespace: str, elsewhere: str) -> Barrage:
    apply(
        elsewhere,
        fargate_task_definition(ELSEWHERE),
        resource("Cluster", "elsewhere", {"clusterName": "elsewhere"}),
    )
    wait_for(
        lambda: status(kube, elsewhere, "TaskDefinition", ELSEWHERE).get("revision") == 1,
        30,
        f"{ELSEWHERE} registered in the other namespace",
    )
    before = _invalid_reconciles(operator)
    started = time.monotonic()
    # By file name, so that the kinds and the refusers take turns.
    corpus = sorted(load(*REFUSED), key=lambda m: m.path.name)
    applied = apply_all(corpus[: len(corpus) // 2], namespace)
    apply(namespace, *_neighbours())
    applied |= apply_all(corpus[len(corpus) // 2 :], namespace)
    # every refusal the operator makes, of every kind: a refused Service or Task is reported
    # after the task definitions it names, and a late first report is no loop
    refused = [m for m in corpus if applied[m.path].accepted and not m.xfail]
    wait_for(lambda: _all_reported(kube, namespace, refused), 60, "the refusals reported")
    middle = _invalid_reconciles(operator)
    time.sleep(max(QUIET, started + WINDOW - time.monotonic()))
    after = _invalid_reconciles(operator)
    return Barrage(
        namespace,
        applied,
        _objects(kube, namespace),
        _warnings(kube, namespace),
        {kind: after[kind] - before[kind] for kind in PLURALS},
        {kind: after[kind] - middle[kind] for kind in PLURALS},
    )


def _refused_task_definitions(applied: dict[Path, Applied]) -> list[Manifest]:
    """The TaskDefinitions that went in and are the operator's to refuse (or, where marked
    xfail, that it should refuse and does not yet)."""
    return [
        m
        for m in load(OPERATOR_INVALID)
        if m.kind == "TaskDefinition" and m.reason == DEFAULT_REASON and applied[m.path].accepted
    ]


def _reports(conditions: list[dict[str, Any]], expect: str) -> list[dict[str, Any]]:
    """The conditions that report a problem naming ``expect``."""
    return [
        c
        for c in conditions
        if (c["type"], c["status"]) in REPORTING and expect in c.get("message", "")
    ]


def _all_reported(kube: Kube, namespace: str, manifests: list[Manifest]) -> bool:
    def reported(manifest: Manifest) -> bool:
        found = status(kube, namespace, manifest.kind, manifest.name)
        return bool(_reports(found.get("conditions") or [], manifest.expect))

    return all(map(reported, manifests))


@pytest.fixture(scope="module")
def barrage(operator: OperatorProcess, kube: Kube) -> Iterator[Barrage]:
    """The barrage, thrown once for the module into a fresh namespace; a second one holds
    the family and the cluster that references from the first must not reach."""
    namespace = kube.create_test_namespace("bad-input")
    elsewhere = kube.create_test_namespace("bad-input-elsewhere")
    try:
        yield _throw(operator, kube, namespace, elsewhere)
    finally:
        kube.delete_namespace(namespace)
        kube.delete_namespace(elsewhere)


@pytest.mark.parametrize("manifest", params(*REFUSED))
def test_bad_manifest_is_refused_at_apply_or_reported(manifest: Manifest, barrage: Barrage) -> None:
    applied = barrage.applied[manifest.path]
    assert manifest.expect, f"{manifest.path.name} has no '# expect:' line"
    if not applied.accepted:
        assert manifest.expect in applied.output
        return
    conditions = barrage.status(manifest.kind, manifest.name).get("conditions") or []
    assert _reports(conditions, manifest.expect), (
        f"no condition reports {manifest.expect!r}: {conditions}"
    )
    warnings = barrage.warnings.get((manifest.kind, manifest.name), [])
    assert any(
        reason == manifest.reason and manifest.expect in message for reason, message in warnings
    ), f"no Warning Event {manifest.reason} with {manifest.expect!r}: {warnings}"


def test_the_operator_survives_the_barrage(operator: OperatorProcess, barrage: Barrage) -> None:
    assert operator.process.poll() is None, operator.log.read_text()[-3000:]
    assert "ecs_operator_reconciles_total" in operator.metrics()


def test_refused_task_definitions_cost_a_bounded_number_of_reconciles(barrage: Barrage) -> None:
    """By the operator's own metric; at least one each, so the metric counts what we think."""
    refused = _refused_task_definitions(barrage.applied)
    reported = [m for m in refused if not m.xfail]

    assert len(reported) >= 10
    assert len(reported) <= barrage.invalid_reconciles["TaskDefinition"]
    assert barrage.invalid_reconciles["TaskDefinition"] <= PER_OBJECT * len(refused)


def test_refused_objects_are_left_alone_once_reported(barrage: Barrage) -> None:
    """No loop, not even one with backoff: once everything is reported, the operator
    reconciles nothing it refuses. (Before that, a refused Service or Task is checked again
    whenever its task definition family changes, so its count depends on its neighbours.)"""
    assert barrage.quiet_invalid_reconciles == dict.fromkeys(PLURALS, 0.0)


def test_a_healthy_service_amid_the_barrage_reaches_a_steady_state(
    kube: Kube, barrage: Barrage
) -> None:
    steady = wait_steady(kube, barrage.namespace, STEADY, 2, timeout=60)
    assert steady["desiredCount"] == steady["runningCount"] == 2


def test_a_service_with_the_longest_object_name_runs(kube: Kube, barrage: Barrage) -> None:
    wait_steady(kube, barrage.namespace, LONGEST_NAME, 1, timeout=60)


def test_a_task_definition_with_the_longest_object_name_registers(barrage: Barrage) -> None:
    assert barrage.status("TaskDefinition", LONGEST_NAME).get("revision") == 1


def test_a_task_with_a_name_longer_than_a_label_value_starts(barrage: Barrage) -> None:
    assert barrage.status("Task", LONG_TASK_NAME).get("tasks")


def test_two_services_sharing_a_service_name_are_told_apart(kube: Kube, barrage: Barrage) -> None:
    """The first (by creation, then by name) runs; the other reports the clash."""
    first, second = TWINS
    wait_steady(kube, barrage.namespace, first, 1, timeout=60)
    conditions = barrage.status("Service", second).get("conditions", [])
    assert any(
        (c["type"], c["status"]) in REPORTING
        and "serviceName" in c.get("message", "")
        and f"Service {first}" in c.get("message", "")
        for c in conditions
    ), conditions


def test_scaling_a_service_past_the_ecs_quota_is_refused(kube: Kube, barrage: Barrage) -> None:
    """The scale subresource (``kubectl scale``, an autoscaler) meets the same quota as an
    apply: ECS's 5000 tasks per service."""
    scaled = kubectl(
        "scale", "-n", barrage.namespace, f"services.{GROUP}/{STEADY}", "--replicas=5001",
        check=False,
    )  # fmt: skip
    assert scaled.returncode != 0
    assert tasks_per_service("desiredCount") in scaled.stderr
    assert get(kube, barrage.namespace, "Service", STEADY)["spec"]["desiredCount"] == 2
