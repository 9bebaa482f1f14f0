"""Platform (os/arch), capacity placement, placement constraints and strategies."""

from __future__ import annotations

import pytest

from ecs_operator import nodes
from ecs_operator.api.parse import parse_cluster
from ecs_operator.api.shapes import CapacityProviderStrategyItem, CreateServiceRequest
from ecs_operator.render import Constraint, Placement, RenderError
from ecs_operator.render.capacity import placement_for, provider_placement
from ecs_operator.render.findings import Report
from ecs_operator.render.memberof import NO_MATCH, Untranslatable, expression_terms
from ecs_operator.render.request import Options
from ecs_operator.render.service import render_service

from .helpers import container, findings_at, render, spec, task


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


@pytest.mark.parametrize(
    ("members", "evidence"),
    [
        ({"image": "mcr.microsoft.com/windows/servercore/iis"}, "containerDefinitions[0].image"),
        ({"image": "amazon/aws-for-fluent-bit:windowsservercore-latest"}, ".image"),
        ({"image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}, ".image"),
        ({"mountPoints": [{"sourceVolume": "v", "containerPath": "C:\\data"}]}, "containerPath"),
        ({"dockerSecurityOptions": ["credentialspec:file://gmsa.json"]}, "dockerSecurityOptions"),
        ({"entryPoint": ["powershell", "-Command"]}, ".entryPoint (powershell)"),
        ({"workingDirectory": "C:/app"}, ".workingDirectory"),
    ],
)
def test_windows_is_inferred_without_runtime_platform(
    members: dict[str, object], evidence: str
) -> None:
    td = task([container(**members)], volumes=[{"name": "v"}])
    rendered = render(td)
    pod = spec(rendered)
    assert pod["os"] == {"name": "windows"}
    assert pod["nodeSelector"] == {"kubernetes.io/os": "windows"}
    [finding] = findings_at(rendered, "runtimePlatform")
    assert evidence in finding.message and "pin it with runtimePlatform" in finding.message


def test_windows_is_inferred_from_an_fsx_volume_but_never_against_linux_only_members() -> None:
    fsx = {
        "name": "share",
        "fsxWindowsFileServerVolumeConfiguration": {
            "fileSystemId": "fs-1",
            "rootDirectory": "share",
            "authorizationConfig": {"credentialsParameter": "arn:x", "domain": "corp"},
        },
    }
    assert spec(render(task(volumes=[fsx])))["os"] == {"name": "windows"}
    linux_too = [
        container(image="mcr.microsoft.com/windows/servercore", linuxParameters={}),
        container(image="x:nanoserver", dockerSecurityOptions=["credentialspec:x", "label:type:t"]),
        container(
            credentialSpecs=["credentialspecdomainless:arn:aws:ssm:x"],  # gMSA runs on Linux too
            mountPoints=[{"sourceVolume": "share", "containerPath": "/data"}],
        ),
    ]
    for linux in linux_too:
        rendered = render(task([linux], volumes=[fsx]))
        assert "os" not in spec(rendered) and not findings_at(rendered, "runtimePlatform")
    pinned = task(
        [container(image="mcr.microsoft.com/windows/servercore")],
        runtimePlatform={"operatingSystemFamily": "LINUX"},
    )
    assert spec(render(pinned))["nodeSelector"]["kubernetes.io/os"] == "linux"


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


def test_a_clusters_definition_places_its_capacity_providers_tasks() -> None:
    cluster = parse_cluster(
        {
            "clusterName": "prod",
            "capacityProviders": ["prod-asg", "gpu"],
            "capacityProviderDefinitions": [
                {"name": "prod-asg", "nodeSelector": {nodes.LABEL_NODE_POOL: "general"}},
                {"name": "gpu", "tolerations": [{"key": "gpu", "operator": "Exists"}]},
            ],
        }
    )
    strategy = [CapacityProviderStrategyItem(capacityProvider="prod-asg", weight=1)]
    svc = CreateServiceRequest(serviceName="web", capacityProviderStrategy=strategy)
    options = Options(capacity_providers=cluster.definitions())
    pod = render_service(svc, task(), options).pod.pod_template["spec"]
    assert pod["nodeSelector"][nodes.LABEL_NODE_POOL] == "general"
    assert "tolerations" not in pod

    gpu = provider_placement("gpu", cluster.definitions())  # tolerations, its own pool
    assert gpu.node_selector == nodes.pool_node_selector("gpu")
    assert gpu.tolerations == ({"key": "gpu", "operator": "Exists"},)
    assert gpu.capacity_provider == "gpu" and not gpu.is_fargate
    undefined = provider_placement("batch", cluster.definitions())
    assert undefined.node_selector == nodes.pool_node_selector("batch")


@pytest.mark.parametrize(
    ("definition", "kept_off"),
    [
        # Fargate's own selector and toleration, or a toleration of every taint: the pods
        # are EC2 tasks, without Fargate's sandbox, so never on Fargate's shared nodes
        (
            {
                "nodeSelector": nodes.fargate_node_selector(nodes.FARGATE),
                "tolerations": nodes.fargate_tolerations(),
            },
            True,
        ),
        ({"nodeSelector": {}, "tolerations": [{"operator": "Exists"}]}, True),
        # a toleration of another taint: Fargate's taint keeps the pods off, nothing added
        ({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}, False),
    ],
)
def test_an_ec2_capacity_provider_that_tolerates_fargates_taint_never_runs_there(
    definition: dict[str, object], kept_off: bool
) -> None:
    """A tenant writes its Cluster's capacityProviderDefinitions (docs/security.md)."""
    cluster = parse_cluster(
        {
            "clusterName": "team-a",
            "capacityProviders": ["mine"],
            "capacityProviderDefinitions": [{"name": "mine", **definition}],
        }
    )
    strategy = [CapacityProviderStrategyItem(capacityProvider="mine", weight=1)]
    svc = CreateServiceRequest(serviceName="web", capacityProviderStrategy=strategy)
    pod = render_service(svc, task(), Options(capacity_providers=cluster.definitions()))
    affinity = pod.pod.pod_template["spec"].get("affinity") or {}
    required = affinity.get("nodeAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution", {"nodeSelectorTerms": []}
    )
    away = {"key": nodes.LABEL_VK_TYPE, "operator": "NotIn", "values": [nodes.VK_TYPE]}
    terms = required["nodeSelectorTerms"]
    assert (bool(terms) and all(away in t["matchExpressions"] for t in terms)) is kept_off


def _cluster_definitions(*providers: str) -> dict[str, object]:
    cluster = parse_cluster(
        {
            "clusterName": "team-a",
            "capacityProviders": ["FARGATE", *providers],
            "capacityProviderDefinitions": [
                {"name": "gpu", "tolerations": [{"key": "gpu", "operator": "Exists"}]}
            ]
            if "gpu" in providers
            else None,
        }
    )
    return cluster.definitions()  # type: ignore[return-value]


def test_a_daemon_runs_on_every_node_of_its_own_clusters_ec2_capacity_and_no_other() -> None:
    """ECS places a DAEMON service's tasks on its cluster's container instances: here the
    nodes of the cluster's two EC2 capacity providers, never another cluster's pool."""
    svc = CreateServiceRequest(serviceName="agent", launchType="EC2", schedulingStrategy="DAEMON")
    options = Options(capacity_providers=_cluster_definitions("general", "gpu"))  # type: ignore[arg-type]
    daemon_set = render_service(svc, task(), options).workload
    pod = daemon_set["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    pool = nodes.LABEL_NODE_POOL
    away_from_fargate = {"key": nodes.LABEL_VK_TYPE, "operator": "NotIn", "values": [nodes.VK_TYPE]}
    assert terms == [
        {"matchExpressions": [{"key": pool, "operator": "In", "values": [name]}, away_from_fargate]}
        for name in ("general", "gpu")
    ]
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists"}]


def test_a_bare_ec2_launch_type_runs_on_its_clusters_ec2_capacity() -> None:
    one = placement_for("EC2", None, None, Report(), _cluster_definitions("general"))  # type: ignore[arg-type]
    assert one.node_selector == nodes.pool_node_selector("general")
    assert one.capacity_provider is None and one.launch_type == "EC2"
    # a cluster that names no EC2 capacity provider (the namespace's default Cluster): any node
    anywhere = placement_for("EC2", None, None, Report(), _cluster_definitions())  # type: ignore[arg-type]
    assert anywhere == Placement()


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
        "task:group == web",
        "attribute:ecs.ami-id == ami-1",
        "ec2InstanceId in [i-1]",
        "attribute:a > big",
        "(attribute:a == b",
        "attribute:a == b or",
        "attribute:a in b",
    ],
)
def test_untranslatable_expressions(expression: str) -> None:
    with pytest.raises(Untranslatable):
        expression_terms(expression)


LIVE = {"node.kubernetes.io/instance-type": frozenset({"t2.micro", "t2.large", "c5.xlarge"})}


@pytest.mark.parametrize(
    ("expression", "operator", "values"),
    [
        ("attribute:ecs.instance-type =~ t2.*", "In", ["t2.large", "t2.micro"]),
        ("attribute:ecs.instance-type matches c5.*|t2.l.*", "In", ["c5.xlarge", "t2.large"]),
        ("attribute:ecs.instance-type !~ t2.*", "NotIn", ["t2.large", "t2.micro"]),
        ("attribute:ecs.instance-type =~ t2", "In", ["t2"]),  # a literal: no expansion
        ("attribute:ecs.instance-type =~ 2.*", "In", [NO_MATCH]),  # a whole value must match
        ("attribute:ecs.instance-type =~ m5.*", "In", [NO_MATCH]),
    ],
)
def test_a_regular_expression_is_expanded_against_the_nodes_labels(
    expression: str, operator: str, values: list[str]
) -> None:
    key = "node.kubernetes.io/instance-type"
    assert expression_terms(expression, LIVE) == [
        [{"key": key, "operator": operator, "values": values}]
    ]


def test_a_regular_expression_that_is_none_or_would_backtrack_forever() -> None:
    with pytest.raises(Untranslatable, match="not a regular expression"):
        expression_terms("attribute:ecs.instance-type =~ t2.[*", LIVE)
    slow = {"node.kubernetes.io/instance-type": frozenset({"a" * 62})}
    assert expression_terms("attribute:ecs.instance-type =~ a*a*a*a*a*a*a*a*a*b", slow) == [
        [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [NO_MATCH]}]
    ]  # linear time: Python's re would take hours on this one


def test_constraints_and_strategies_from_a_service() -> None:
    placement = Placement(
        constraints=(
            Constraint("placementConstraints[0]", "distinctInstance"),
            Constraint("placementConstraints[1]", "memberOf", "attribute:x =~ a"),
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
        {
            "matchExpressions": [
                {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                {"key": "attribute.ecs-operator.dev/x", "operator": "In", "values": ["a"]},
            ]
        }
    ]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    packed = pod["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert packed[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert [f.kind for f in findings_at(rendered, "placementStrategy[1]")] == ["mapped-approx"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute:a equals b", [[("a", "In", ["b"])]]),
        ("attribute:a not_equals b", [[("a", "NotIn", ["b"])]]),
        ("attribute:a !in [b, c]", [[("a", "NotIn", ["b", "c"])]]),
        ("attribute:a not_exists", [[("a", "DoesNotExist", None)]]),
        ("attribute:a >= 4", [[("a", "Gt", ["3"])]]),
        ("attribute:a less_than_equal 4", [[("a", "Lt", ["5"])]]),
        ("attribute:a matches b", [[("a", "In", ["b"])]]),
        ("attribute:a !~ b", [[("a", "NotIn", ["b"])]]),
        ("attribute:team == rock-and-roll", [[("team", "In", ["rock-and-roll"])]]),
        (
            "(attribute:a == b || attribute:c == d) && attribute:e exists",
            [
                [("a", "In", ["b"]), ("e", "Exists", None)],
                [("c", "In", ["d"]), ("e", "Exists", None)],
            ],
        ),
        (
            "attribute:a == b and (attribute:c == d or (attribute:e == f))",
            [[("a", "In", ["b"]), ("c", "In", ["d"])], [("a", "In", ["b"]), ("e", "In", ["f"])]],
        ),
    ],
)
def test_the_query_language_translates(
    expression: str, expected: list[list[tuple[str, str, list[str] | None]]]
) -> None:
    """Both spellings of every operator, and/or with either spelling, and parentheses."""

    def requirement(attr: str, operator: str, values: list[str] | None) -> dict[str, object]:
        out: dict[str, object] = {"key": f"attribute.ecs-operator.dev/{attr}", "operator": operator}
        return out if values is None else {**out, "values": values}

    assert expression_terms(expression) == [[requirement(*r) for r in term] for term in expected]


def test_an_untranslatable_member_of_is_an_error_naming_the_term() -> None:
    placement = Placement(
        constraints=(
            Constraint(
                "placementConstraints[1]", "memberOf", "attribute:ecs.instance-type =~ c5.*"
            ),
        )
    )
    with pytest.raises(RenderError) as refused:
        render(task(), service="web", placement=placement)
    assert refused.value.paths == ["placementConstraints[1].expression"]
    assert "regular expression 'c5.*'" in str(refused.value)
    assert "attribute:ecs.instance-type =~ c5.*" in str(refused.value)


def test_strategies_spread_binpack_and_random() -> None:
    placement = Placement(
        strategies=(
            Constraint("placementStrategy[0]", "spread", "attribute:ecs.availability-zone"),
            Constraint("placementStrategy[1]", "random"),
        )
    )
    rendered = render(task(), service="web", placement=placement)
    pod = spec(rendered)
    assert pod["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {
                "matchLabels": {
                    "ecs-operator.dev/cluster": "default",
                    "ecs-operator.dev/service": "web",
                }
            },
        }
    ]
    assert "affinity" not in pod
    assert [f.kind for f in findings_at(rendered, "placementStrategy[1]")] == ["ignored"]


ZONE_SPREAD = {
    "maxSkew": 1,
    "topologyKey": "topology.kubernetes.io/zone",
    "whenUnsatisfiable": "ScheduleAnyway",
    "labelSelector": {
        "matchLabels": {"ecs-operator.dev/cluster": "default", "ecs-operator.dev/service": "web"}
    },
}


@pytest.mark.parametrize("launch_type", ["EC2", "FARGATE"])
def test_a_service_that_names_no_strategy_spreads_its_tasks_over_zones_as_ecs_does(
    launch_type: str,
) -> None:
    """ECS: "For tasks running as part of an Amazon ECS service, the task placement strategy is
    spread using the attribute:ecs.availability-zone" (task-placement-strategies.html). A
    service's own strategy replaces it; a standalone task's default is random, and a DAEMON
    runs one task per instance."""
    web = {"serviceName": "web", "desiredCount": 4, "launchType": launch_type}
    fargate = {"networkMode": "awsvpc", "cpu": "256", "memory": "512"}
    td = task(**(fargate if launch_type == "FARGATE" else {}))
    pod = render_service(CreateServiceRequest(**web), td, Options()).workload
    assert pod["spec"]["template"]["spec"]["topologySpreadConstraints"] == [ZONE_SPREAD]
    packed = CreateServiceRequest(**web, placementStrategy=[{"type": "binpack", "field": "memory"}])
    own = render_service(packed, td, Options()).workload["spec"]["template"]["spec"]
    assert "topologySpreadConstraints" not in own
    if launch_type == "EC2":
        daemon = CreateServiceRequest(serviceName="web", schedulingStrategy="DAEMON")
        agent = render_service(daemon, td, Options()).workload["spec"]["template"]["spec"]
        assert "topologySpreadConstraints" not in agent
    assert "topologySpreadConstraints" not in spec(render(td))
