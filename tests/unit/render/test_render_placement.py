"""Platform (os/arch), capacity placement, placement constraints and strategies."""

from __future__ import annotations

import pytest

from ecs_operator import nodes
from ecs_operator.api.shapes import CapacityProviderStrategyItem
from ecs_operator.render import Constraint, Placement
from ecs_operator.render.capacity import placement_for
from ecs_operator.render.findings import Report
from ecs_operator.render.placement import Untranslatable, expression_terms

from .helpers import findings_at, render, spec, task


def test_linux_by_default_and_architecture() -> None:
    assert spec(render(task()))["nodeSelector"] == {"kubernetes.io/os": "linux"}
    arm = task(runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"})
    assert spec(render(arm))["nodeSelector"]["kubernetes.io/arch"] == "arm64"


def test_windows_selects_the_build_and_sets_pod_os() -> None:
    td = task(runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2019_FULL"})
    pod = spec(render(td))
    assert pod["os"] == {"name": "windows"}
    assert pod["nodeSelector"]["kubernetes.io/os"] == "windows"
    assert pod["nodeSelector"]["node.kubernetes.io/windows-build"] == "10.0.17763"


def test_fargate_and_pool_placement() -> None:
    pod = spec(render(task(), placement=Placement.fargate(nodes.FARGATE_SPOT)))
    assert pod["nodeSelector"]["ecs-operator.dev/capacity-type"] == "spot"
    assert pod["tolerations"] == nodes.fargate_tolerations()
    pool = spec(render(task(), placement=Placement.pool("compute")))
    assert pool["nodeSelector"]["ecs-operator.dev/node-pool"] == "compute"


def test_capacity_strategy_picks_the_base_provider() -> None:
    report = Report()
    strategy = [
        CapacityProviderStrategyItem(capacityProvider="FARGATE_SPOT", weight=4),
        CapacityProviderStrategyItem(capacityProvider="FARGATE", base=1, weight=1),
    ]
    chosen = placement_for(None, strategy, None, report)
    assert chosen.capacity_provider == "FARGATE" and chosen.is_fargate
    assert report.findings[0].path == "capacityProviderStrategy"


@pytest.mark.parametrize(
    ("launch_type", "requires", "fargate"),
    [
        ("FARGATE", None, True),
        ("EC2", ["FARGATE"], False),
        (None, ["FARGATE"], True),
        (None, ["EC2", "FARGATE"], False),
    ],
)
def test_launch_type_defaults(
    launch_type: str | None, requires: list[str] | None, fargate: bool
) -> None:
    assert placement_for(launch_type, None, requires, Report()).is_fargate is fargate  # type: ignore[arg-type]


def test_member_of_expressions() -> None:
    terms = expression_terms(
        "attribute:ecs.instance-type == t3.large and attribute:stack != dev"
        " or attribute:ecs.cpu-architecture in [arm64]"
    )
    assert terms == [
        [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["t3.large"]},
            {"key": "attribute.ecs-operator.dev/stack", "operator": "NotIn", "values": ["dev"]},
        ],
        [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}],
    ]
    assert expression_terms("attribute:gpu exists") == [
        [{"key": "attribute.ecs-operator.dev/gpu", "operator": "Exists"}]
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "attribute:ecs.instance-type =~ t2.*",
        "(attribute:a == b)",
        "task:group == web",
        "attribute:ecs.ami-id == ami-1",
    ],
)
def test_untranslatable_expressions(expression: str) -> None:
    with pytest.raises(Untranslatable):
        expression_terms(expression)


def test_constraints_and_strategies_from_a_service() -> None:
    placement = Placement(
        constraints=(
            Constraint("placementConstraints[0]", "distinctInstance"),
            Constraint("placementConstraints[1]", "memberOf", "attribute:x =~ a.*"),
        ),
        strategies=(
            Constraint("placementStrategy[0]", "spread", "instanceId"),
            Constraint("placementStrategy[1]", "binpack", "memory"),
        ),
    )
    td = task(
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]
    )
    rendered = render(td, service="web", placement=placement)
    pod = spec(rendered)
    assert (
        pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
            "topologyKey"
        ]
        == "kubernetes.io/hostname"
    )
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}
    ]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert findings_at(rendered, "placementConstraints[1].expression")
    assert findings_at(rendered, "placementStrategy[1]")
