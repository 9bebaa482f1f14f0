"""plan_task and plan_taskdefinition: a RunTask's pods spread over the strategy, named for the
operator; a TaskDefinition's next revision, recorded only when the spec changed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.parse import parse_task, parse_task_definition
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.plan import (
    PlanContext,
    RecordedRevision,
    TaskDefinitionContext,
    plan_task,
    plan_taskdefinition,
)
from ecs_operator.plan.task import placed_as_planned, pod_name, to_start
from ecs_operator.policy import PRIVILEGE_NOT_ALLOWED, Policy
from ecs_operator.render import keys
from ecs_operator.status.task_placement import where_placed

from ..render.helpers import container, task, validate

SIMULATED = "sim.ecs-operator.dev/exit-after"


def run(**members: Any) -> Any:
    return parse_task({"taskDefinition": "demo", **members})


def test_a_tasks_pods_are_spread_over_its_strategy() -> None:
    ec2 = tuple(
        CapacityProviderStrategyItem.model_validate(i)
        for i in ({"capacityProvider": "a", "base": 1}, {"capacityProvider": "b", "weight": 1})
    )
    plan = plan_task(run(count=3), PlanContext(task(), 1, strategy=ec2))
    providers = [p["metadata"]["labels"][keys.LABEL_CAPACITY_PROVIDER] for p in plan.pods]
    assert providers == ["a", "b", "b"]
    assert all(p["metadata"]["generateName"] == "demo-" for p in plan.pods)  # convert: no name
    assert [f.path for f in plan.findings if f.path == "capacityProviderStrategy"] == []


def test_the_operators_pods_have_fixed_names_and_the_tasks_hints() -> None:
    context = PlanContext(task(), 2, name="nightly", annotations={SIMULATED: "5s", "a": "b"})
    plan = plan_task(run(count=2), context)
    assert [p["metadata"]["name"] for p in plan.pods] == ["nightly-0", "nightly-1"]
    for index, pod in enumerate(plan.pods):
        assert "generateName" not in pod["metadata"]
        assert pod["metadata"]["labels"][keys.LABEL_TASK] == pod_name("nightly", index)
        assert pod["metadata"]["annotations"][SIMULATED] == "5s"
        assert "a" not in pod["metadata"]["annotations"]
        validate(pod)
    assert plan.status_inputs.task_definition == "demo:2"
    assert [o["kind"] for o in plan.objects] == ["ServiceAccount", "Pod", "Pod"]


def test_the_essential_containers_and_the_refusal_are_planned() -> None:
    td = task([container(), container("log", essential=False)], pidMode="host")
    plan = plan_task(run(), PlanContext(td, 1, policy=Policy()))
    assert plan.status_inputs.essential == {"app"}
    assert plan.refusal is not None and plan.refusal.reason == PRIVILEGE_NOT_ALLOWED
    assert plan_task(run(), PlanContext(td, 1)).refusal is None  # convert: no policy


TD = {"family": "web", "containerDefinitions": [container()]}


def revision_of(spec: dict[str, Any], latest: RecordedRevision | None, generation: int = 1) -> Any:
    context = TaskDefinitionContext(
        "web-td", "uid-web-td", generation, latest, account_id="123456789012"
    )
    return plan_taskdefinition(parse_task_definition(spec), context)


def test_a_task_definitions_first_revision_is_1() -> None:
    plan = revision_of(TD, None)
    revision = plan.revision
    assert revision["metadata"]["name"] == "web-td-1" and revision["revision"] == 1
    assert revision["data"]["spec"] == parse_task_definition(TD).to_ecs()
    assert revision["metadata"]["labels"][keys.LABEL_REVISION] == "1"
    assert revision["metadata"]["labels"][keys.LABEL_CONTROLLER_UID] == "uid-web-td"
    assert revision["metadata"]["annotations"][keys.ANNOTATION_FAMILY] == "web"
    assert (plan.status_inputs.family, plan.status_inputs.account_id) == ("web", "123456789012")


def test_only_a_changed_spec_records_a_revision() -> None:
    first = revision_of(TD, None).revision
    recorded = RecordedRevision.of(first)
    assert recorded == RecordedRevision(
        1, first["metadata"]["annotations"][keys.ANNOTATION_SPEC_HASH], 1
    )
    assert revision_of(TD, recorded).revision is None
    changed = revision_of({**TD, "cpu": "256"}, recorded, generation=2).revision
    assert changed["revision"] == 2 and changed["metadata"]["name"] == "web-td-2"
    assert RecordedRevision.of(changed) == RecordedRevision(
        2, changed["metadata"]["annotations"][keys.ANNOTATION_SPEC_HASH], 2
    )


def test_a_spec_older_than_the_latest_revisions_records_nothing() -> None:
    """`ecs-operator api` changes the spec and records its revision; a store that sees the
    revision first still holds the older spec, which must not become a revision of its own."""
    newer = RecordedRevision.of(revision_of({**TD, "cpu": "256"}, None, generation=2).revision)
    assert revision_of(TD, newer, generation=1).revision is None
    assert revision_of({**TD, "cpu": "512"}, newer, generation=3).revision["revision"] == 2


def test_a_revision_recorded_without_its_generation_is_followed_on_a_change() -> None:
    """Revisions recorded before they held their spec's generation (an upgraded operator)."""
    first = revision_of(TD, None).revision
    del first["metadata"]["annotations"][keys.ANNOTATION_SPEC_GENERATION]
    recorded = RecordedRevision.of(first)
    assert recorded.generation is None
    assert revision_of({**TD, "cpu": "256"}, recorded, generation=1).revision["revision"] == 2


#: a strategy's providers: Fargate's, or EC2 ones (ECS refuses a mix)
_PROVIDERS = st.sampled_from([["FARGATE", "FARGATE_SPOT"], ["spot-pool", "on-demand", "gpu"]])
_ITEMS = _PROVIDERS.flatmap(
    lambda names: st.lists(
        st.fixed_dictionaries(
            {"capacityProvider": st.sampled_from(names)},
            optional={"base": st.integers(0, 3), "weight": st.integers(0, 4)},
        ),
        min_size=1,
        max_size=len(names),
        unique_by=lambda i: i["capacityProvider"],
    )
)


@given(
    placement=st.one_of(
        st.fixed_dictionaries({"capacityProviderStrategy": _ITEMS}),
        st.fixed_dictionaries({"launchType": st.sampled_from(["EC2", "FARGATE", "EXTERNAL"])}),
    ),
    count=st.integers(1, 6),
)
def test_where_each_task_will_run_is_where_its_pod_is_planned(
    placement: dict[str, Any], count: int
) -> None:
    """RunTask's answer tells each task's launch type and capacity provider before its pod
    exists (``placed_as_planned``): what the pod's labels say once the operator made it."""
    try:
        spec = run(count=count, **placement)
    except EcsValidationError:  # no weight above 0, or a base on two providers
        assume(False)
    strategy = tuple(spec.capacityProviderStrategy or ()) or None
    runs_anywhere = task(
        networkMode="awsvpc", cpu="256", memory="512", requiresCompatibilities=["EC2", "FARGATE"]
    )
    plan = plan_task(spec, PlanContext(runs_anywhere, 1, strategy=strategy))
    from_pods = [
        {k: v for k, v in where_placed(pod).items() if k != "availabilityZone"} for pod in plan.pods
    ]
    assert placed_as_planned(spec) == from_pods


def test_a_task_that_names_no_placement_is_placed_by_its_cluster_and_definition() -> None:
    assert placed_as_planned(run(count=2)) == []


@pytest.mark.parametrize(
    ("pods", "recorded", "held_back", "stop", "started"),
    [
        pytest.param({"t-0": None, "t-1": None}, (), (), False, ["t-0", "t-1"], id="new"),
        pytest.param({"t-0": {"pod": 1}, "t-1": None}, (), (), False, ["t-1"], id="one-running"),
        pytest.param({"t-0": None, "t-1": None}, ("t-0",), (), False, ["t-1"], id="one-gone"),
        pytest.param({"t-0": None, "t-1": None}, (), ("t-1",), False, ["t-0"], id="held-back"),
        pytest.param({"t-0": None, "t-1": None}, (), (), True, [], id="asked-to-stop"),
    ],
)
def test_which_tasks_a_pass_starts(
    pods: dict[str, Any],
    recorded: tuple[str, ...],
    held_back: tuple[str, ...],
    stop: bool,
    started: list[str],
) -> None:
    """A task runs at most once: one with a record but no pod (it ran, and its pod went) is
    never started again."""
    assert to_start(list(pods), pods, recorded, held_back, stop) == started
