"""`kubectl ecs` without a cluster: the aws CLI shapes (views), the tables, and the commands
over a fake source. The fixtures are what the operator itself produces: a service status from
``status.service``, pods from the renderer's own pod template, a Task's records."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_operator.api.identifiers import task_id
from ecs_operator.api.parse import parse_service, parse_task_definition
from ecs_operator.kube.owners import child_of
from ecs_operator.plan.taskdefinition import controller_revision
from ecs_operator.plugin import cli, table, task_views, views
from ecs_operator.render import keys, request
from ecs_operator.render.service import render_service
from ecs_operator.status.conditions import condition
from ecs_operator.status.service import service_status, with_problem_event
from ecs_operator.status.service_tasks import STOPPED_TASKS, stopped_task
from ecs_operator.status.taskdefinition import DEREGISTERED, Arns
from ecs_operator.status.workloads import WorkloadState

REPO = Path(__file__).resolve().parents[2]
ARNS = Arns()
Body = dict[str, Any]


def example(name: str) -> dict[str, Body]:
    """The objects of examples/<name>.yaml by kind."""
    return {d["kind"]: d for d in yaml.safe_load_all((REPO / "examples" / name).read_text())}


def with_metadata(body: Body, **metadata: Any) -> Body:
    defaults = {"namespace": "shop", "uid": f"uid-{body['metadata']['name']}"}
    defaults["creationTimestamp"] = "2026-01-01T00:00:00Z"
    return {**body, "metadata": {**body["metadata"], **defaults, **metadata}}


@pytest.fixture
def web() -> Body:
    """The example Fargate service, converged: 2 of 2 running, as the operator reports it."""
    service = with_metadata(example("fargate-web.yaml")["Service"])
    ready = WorkloadState(2, 2, 2, 2, 2, current=True, failed=False)
    view = service_status("web", 2, "web:1", [ready], {}, 1)
    return {**service, "status": {**view.status, "clusterArn": "default"}}


@pytest.fixture
def web_pods() -> list[Body]:
    """Two Running pods of the web service, from the renderer's pod template."""
    objects = example("fargate-web.yaml")
    rendered = render_service(
        parse_service(objects["Service"]["spec"]),
        parse_task_definition(objects["TaskDefinition"]["spec"]),
        request.Options(namespace="shop", cluster="default"),
        revision=1,
    )
    template = rendered.workload["spec"]["template"]
    containers = template["spec"]["containers"]
    return [
        {
            "metadata": {
                **template["metadata"],
                "name": f"web-7d4b9c-{suffix}",
                "namespace": "shop",
                "creationTimestamp": "2026-01-01T00:00:05Z",
            },
            "spec": {**template["spec"], "nodeName": "fargate-0"},
            "status": {
                "phase": "Running",
                "startTime": "2026-01-01T00:00:06Z",
                "containerStatuses": [
                    {"name": c["name"], "state": {"running": {}}} for c in containers
                ],
            },
        }
        for suffix in ("abcde", "fghij")
    ]


@pytest.fixture
def batch() -> Body:
    """The example batch Task: one task still running, one stopped with exit code 0."""
    task = with_metadata(example("batch-task.yaml")["Task"])
    running = {"taskId": "nightly-report-0", "lastStatus": "RUNNING", "desiredStatus": "RUNNING"}
    stopped = {
        "taskId": "nightly-report-1",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited: report exited with code 0",
        "containers": [{"name": "report", "lastStatus": "STOPPED", "exitCode": 0}],
    }
    status = {"lastStatus": "RUNNING", "taskDefinition": "nightly-report:1"}
    return {**task, "status": {**status, "tasks": [running, stopped]}}


@pytest.fixture
def web_td() -> Body:
    """The web TaskDefinition with revision 1 (deregistered) and 2 (ACTIVE)."""
    td = with_metadata(example("fargate-web.yaml")["TaskDefinition"])
    td["metadata"]["annotations"] = {DEREGISTERED: "1"}
    return {**td, "status": {"family": "web", "revision": 2}}


def revision_of(td: Body, number: int, **spec: Any) -> Body:
    """Revision ``number`` of ``td`` as its ControllerRevision records it, registered on the
    ``number``th of January."""
    recorded = {**td["spec"], **spec}
    revision = child_of(
        controller_revision(
            td["metadata"]["name"], td["metadata"]["uid"], recorded, number, "", number
        ),
        {**td, "apiVersion": "ecs-operator.dev/v1alpha1", "kind": "TaskDefinition"},
    )
    revision["metadata"]["creationTimestamp"] = f"2026-01-0{number}T00:00:00Z"
    return revision


def test_describe_services_is_the_aws_cli_shape(web: Body) -> None:
    described = views.describe_services([web], "default", ["web", "gone"], ARNS)
    (service,) = described["services"]
    assert service["serviceName"] == "web"
    assert service["serviceArn"] == "arn:aws:ecs:local:000000000000:service/default/web"
    assert service["clusterArn"] == "arn:aws:ecs:local:000000000000:cluster/default"
    assert service["status"] == "ACTIVE"
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (2, 2, 0)
    assert service["taskDefinition"].endswith(":task-definition/web:1")
    assert service["launchType"] == "FARGATE"
    assert service["deployments"][0]["status"] == "PRIMARY"
    digits = service["deployments"][0]["id"].removeprefix("ecs-svc/")
    assert service["currentServiceDeployment"] == (
        f"arn:aws:ecs:local:000000000000:service-deployment/default/web/{digits}"
    )
    assert [r["runningTaskCount"] for r in service["currentServiceRevisions"]] == [2]
    messages = [e["message"] for e in service["events"]]
    assert "(service web) has reached a steady state." in messages
    assert described["failures"] == [
        {"arn": "arn:aws:ecs:local:000000000000:service/default/gone", "reason": "MISSING"}
    ]


def test_services_belong_to_their_cluster(web: Body) -> None:
    other = with_metadata(example("ec2-worker.yaml")["Service"])
    assert views.list_services([web, other], "production", ARNS) == {
        "serviceArns": ["arn:aws:ecs:local:000000000000:service/production/worker"]
    }
    everything = views.describe_services([web, other], "default", [], ARNS)
    assert [s["serviceName"] for s in everything["services"]] == ["web"]
    by_arn = views.describe_services(
        [web], "default", [everything["services"][0]["serviceArn"]], ARNS
    )
    assert len(by_arn["services"]) == 1


def test_a_service_deleted_through_the_ecs_api_is_not_listed(web: Body) -> None:
    """As ECS's ListServices and the ECS API leave a deleted service out."""
    gone = copy.deepcopy(web)
    gone["metadata"].setdefault("annotations", {})[keys.ANNOTATION_DELETED_AT] = (
        "2026-12-05T07:00:00Z"
    )
    assert views.list_services([gone], "default", ARNS) == {"serviceArns": []}


def test_a_count_changed_since_the_status_is_answered_at_once(web: Body) -> None:
    """ECS answers UpdateService, and the DescribeServices after it, with the new desiredCount
    at once (Terraform reads it back straight after an update); the status catches up later."""
    scaled = with_metadata({**web, "spec": {**web["spec"], "desiredCount": 5}}, generation=2)
    service = views.service_view(scaled, ARNS)
    assert (service["desiredCount"], service["runningCount"]) == (5, 2)
    assert service["deployments"][0]["desiredCount"] == 5
    caught_up = with_metadata(scaled, generation=1)
    assert views.service_view(caught_up, ARNS)["desiredCount"] == 2


def test_an_autoscaled_count_stands_through_a_change_of_the_spec(web: Body) -> None:
    """With autoScaling the autoscaler's count is ECS's desiredCount, also while the operator
    has not yet read a spec changed for another reason."""
    scaling = {"minCapacity": 1, "maxCapacity": 6}
    spec = {**web["spec"], "autoScaling": scaling, "desiredCount": 1}
    scaled = {**web, "spec": spec, "status": {**web["status"], "desiredCount": 4}}
    assert views.service_view(with_metadata(scaled, generation=2), ARNS)["desiredCount"] == 4


def test_the_capacity_in_force_is_shown_where_the_spec_names_none(web: Body) -> None:
    """ECS shows a service's launchType (EC2 by default) or the cluster's default strategy it
    took; the operator reports which in its status."""
    spec = {k: v for k, v in web["spec"].items() if k != "launchType"}
    status = {**web["status"], "launchType": "EC2"}
    bare = views.service_view({**web, "spec": spec, "status": status}, ARNS)
    assert (bare["launchType"], "capacityProviderStrategy" in bare) == ("EC2", False)
    assert bare["deployments"][0]["launchType"] == "EC2"  # the PRIMARY runs with it
    assert views.service_view({**web, "status": status}, ARNS)["launchType"] == "FARGATE"
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    own = {**web, "spec": {**spec, "capacityProviderStrategy": strategy}, "status": status}
    shown = views.service_view(own, ARNS)
    assert (shown["capacityProviderStrategy"], "launchType" in shown) == (strategy, False)


def test_a_service_being_deleted_is_draining(web: Body) -> None:
    deleting = with_metadata(web, deletionTimestamp="2026-01-01T01:00:00Z")
    assert views.service_view(deleting, ARNS)["status"] == "DRAINING"


def test_services_table_shows_counts_deployments_and_events(web: Body) -> None:
    text = table.services(views.describe_services([web], "default", [], ARNS))
    header, row = text.splitlines()[:2]
    assert header.split() == [
        "SERVICE", "STATUS", "DESIRED", "RUNNING", "PENDING", "TASK", "DEFINITION", "LAUNCH",
    ]  # fmt: skip
    assert row.split() == ["web", "ACTIVE", "2", "2", "0", "web:1", "FARGATE"]
    assert "web: deployments" in text and "PRIMARY" in text and "COMPLETED" in text
    assert "(service web) has reached a steady state." in text


def test_a_degraded_service_shows_its_problem(web: Body) -> None:
    problem = "taskDefinition: no TaskDefinition registers family web"
    conditions = [
        condition("Ready", False, "TaskDefinitionNotFound", problem),
        condition("Degraded", True, "TaskDefinitionNotFound", problem),
    ]
    status = with_problem_event({"conditions": conditions}, "web", problem)
    broken = {**web, "status": status}

    described = views.describe_services([broken], "default", [], ARNS)
    view = described["services"][0]
    assert view["status"] == "ACTIVE", "the ECS status member keeps ECS's values"
    assert view["conditions"] == conditions
    text = table.services(described)
    assert text.splitlines()[1].split()[:2] == ["web", "DEGRADED"]
    assert f"web: Degraded (TaskDefinitionNotFound): {problem}" in text
    assert f"failed to launch a task with (error {problem})" in text

    assert "Degraded" not in table.services(views.describe_services([web], "default", [], ARNS))


def test_tasks_come_from_pods_and_task_objects(web_pods: list[Body], batch: Body) -> None:
    tasks = task_views.all_tasks([batch], web_pods, "default", ARNS)
    by_id = {t["taskId"]: t for t in tasks}
    assert sorted(by_id) == [
        "nightly-report-0", "nightly-report-1", "web-7d4b9c-abcde", "web-7d4b9c-fghij",
    ]  # fmt: skip
    service_task = by_id["web-7d4b9c-abcde"]
    assert service_task["group"] == "service:web"
    assert service_task["lastStatus"] == "RUNNING"
    assert service_task["taskDefinitionArn"].endswith(":task-definition/web:1")
    assert service_task["launchType"] == "FARGATE"
    assert service_task["startedAt"] == "2026-01-01T00:00:06Z"
    # status.task maps containerStatuses; native sidecars report in initContainerStatuses.
    assert "web" in {c["name"] for c in service_task["containers"]}
    standalone = by_id["nightly-report-1"]
    assert standalone["group"] == "family:nightly-report"
    assert standalone["startedBy"] == "nightly-cron"
    assert standalone["stopCode"] == "EssentialContainerExited"
    assert standalone["taskArn"] == "arn:aws:ecs:local:000000000000:task/default/nightly-report-1"


def test_list_tasks_filters_like_ecs(web_pods: list[Body], batch: Body) -> None:
    tasks = task_views.all_tasks([batch], web_pods, "default", ARNS)
    running = task_views.list_tasks(tasks)["taskArns"]
    assert len(running) == 3, "STOPPED tasks only with --desired-status STOPPED"
    assert task_views.list_tasks(tasks, desired_status="STOPPED")["taskArns"] == [
        "arn:aws:ecs:local:000000000000:task/default/nightly-report-1"
    ]
    assert len(task_views.list_tasks(tasks, service="web")["taskArns"]) == 2
    assert len(task_views.list_tasks(tasks, family="nightly-report")["taskArns"]) == 1
    assert task_views.all_tasks([batch], web_pods, "production", ARNS) == []


def test_describe_tasks_table(web_pods: list[Body], batch: Body) -> None:
    tasks = task_views.all_tasks([batch], web_pods, "default", ARNS)
    described = task_views.describe_tasks(
        tasks, ["nightly-report-1", "missing"], ARNS, "default", "shop"
    )
    assert [t["taskId"] for t in described["tasks"]] == ["nightly-report-1"]
    # the same task by the id the ECS API and the task metadata endpoint give it
    by_ecs_id = task_views.describe_tasks(
        tasks, [task_id("shop", "nightly-report-1")], ARNS, "default", "shop"
    )
    assert [t["taskId"] for t in by_ecs_id["tasks"]] == ["nightly-report-1"]
    text = table.tasks(described)
    assert "nightly-report-1" in text and "EssentialContainerExited" in text
    assert "MISSING" in text


def test_describe_task_definition_uses_the_stored_revision(web_td: Body) -> None:
    body, revision = views.find_task_definition([web_td], "web")
    assert revision == 2, "a bare family means the latest ACTIVE revision"
    stored = revision_of(web_td, 2, cpu="1024", memory="2048")
    described = views.describe_task_definition(body, 2, stored, ARNS)
    definition = described["taskDefinition"]
    assert definition["taskDefinitionArn"] == (
        "arn:aws:ecs:local:000000000000:task-definition/web:2"
    )
    assert (definition["revision"], definition["status"], definition["cpu"]) == (
        2,
        "ACTIVE",
        "1024",
    )
    assert definition["registeredAt"] == "2026-01-02T00:00:00Z"
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["compatibilities"] == ["EC2", "FARGATE"]  # as ECS reports it
    body, revision = views.find_task_definition([web_td], "web:1")
    first = views.describe_task_definition(body, revision, revision_of(web_td, 1), ARNS)
    assert first["taskDefinition"]["status"] == "INACTIVE"
    text = table.task_definition(described)
    assert "web" in text and "log-tailer" in text and "awsvpc" in text


def test_a_bare_family_skips_its_deregistered_revisions(web_td: Body) -> None:
    web_td["metadata"]["annotations"][DEREGISTERED] = "1,2"
    with pytest.raises(views.TaskDefinitionNotFound, match="no ACTIVE revision"):
        views.find_task_definition([web_td], "web")
    web_td["status"]["revision"] = 3  # registered since
    assert views.find_task_definition([web_td], "web")[1] == 3


@pytest.mark.parametrize("reference", ["nope", "not a ref"])
def test_unknown_task_definitions_are_reported(web_td: Body, reference: str) -> None:
    with pytest.raises(views.TaskDefinitionNotFound):
        views.find_task_definition([web_td], reference)


def test_a_revision_without_its_record_is_not_registered(web_td: Body) -> None:
    body, revision = views.find_task_definition([web_td], "web:3")
    with pytest.raises(views.TaskDefinitionNotFound, match="web:3 is not registered"):
        views.describe_task_definition(body, revision, None, ARNS)
    stranger = revision_of(web_td, 3)
    stranger["metadata"]["ownerReferences"][0]["uid"] = "uid-of-a-deleted-web"
    with pytest.raises(views.TaskDefinitionNotFound):
        views.describe_task_definition(body, revision, stranger, ARNS)


def test_describe_clusters_counts_ec2_and_fargate(web_pods: list[Body], batch: Body) -> None:
    cluster = with_metadata(example("cluster.yaml")["Cluster"])
    cluster["status"] = {
        "status": "ACTIVE",
        "runningTasksCount": 6,
        "pendingTasksCount": 1,
        "activeServicesCount": 2,
        "registeredContainerInstancesCount": 5,
    }
    worker = {"taskId": "w", "lastStatus": "RUNNING", "capacityProviderName": "general"}
    daemon = {"taskId": "d", "lastStatus": "PENDING", "launchType": "EC2"}
    spot = {"taskId": "s", "lastStatus": "RUNNING", "capacityProviderName": "FARGATE_SPOT"}
    stopped = {"taskId": "x", "lastStatus": "STOPPED", "launchType": "FARGATE"}
    tasks = {"production": [worker, daemon, spot, stopped]}
    described = views.describe_clusters(
        [cluster], ["production", "default"], ARNS, lambda name: tasks.get(name, [])
    )
    (shown,) = described["clusters"]
    stats = {s["name"]: s["value"] for s in shown["statistics"]}
    assert stats == {
        "runningEC2TasksCount": "1",
        "runningFargateTasksCount": "1",
        "pendingEC2TasksCount": "1",
        "pendingFargateTasksCount": "0",
    }
    assert shown["capacityProviders"] == ["general", "compute", "FARGATE", "FARGATE_SPOT"]
    assert described["failures"][0]["reason"] == "MISSING"
    row = table.clusters(described).splitlines()[1].split()
    assert row[:7] == ["production", "ACTIVE", "2", "6", "1", "5", "1/1"]


def test_launch_types_of_real_tasks_feed_the_statistics(web_pods: list[Body], batch: Body) -> None:
    """The example's Fargate service and batch task count as Fargate (launchType FARGATE)."""
    tasks = task_views.all_tasks([batch], web_pods, "default", ARNS)
    default = with_metadata({"metadata": {"name": "default"}, "spec": {"clusterName": "default"}})
    (shown,) = views.describe_clusters([default], [], ARNS, lambda _: tasks)["clusters"]
    stats = {s["name"]: s["value"] for s in shown["statistics"]}
    assert stats["runningFargateTasksCount"] == "3" and stats["runningEC2TasksCount"] == "0"


class FakeSource:
    """A namespace's objects, in memory."""

    namespace = "shop"

    def __init__(
        self, objects: dict[str, list[Body]], pods: list[Body], revisions: tuple[Body, ...] = ()
    ) -> None:
        self.objects = objects
        self._pods = pods
        self.revisions = {r["metadata"]["name"]: r for r in revisions}

    def custom(self, plural: str) -> list[Body]:
        return self.objects.get(plural, [])

    def pods(self) -> list[Body]:
        return self._pods

    def controller_revision(self, name: str) -> Body | None:
        return self.revisions.get(name)


@pytest.mark.parametrize(
    "argv",
    [
        ["describe-services", "--cluster", "default"],
        ["list-services"],
        ["describe-tasks", "--tasks", "nightly-report-0"],
        ["list-tasks", "--service-name", "web"],
        ["describe-task-definition", "--task-definition", "web:2"],
        ["describe-clusters", "--clusters", "default"],
    ],
    ids=lambda argv: argv[0],
)
def test_commands_print_json_and_tables(
    argv: list[str], web: Body, web_pods: list[Body], batch: Body, web_td: Body
) -> None:
    source = FakeSource(
        {"services": [web], "tasks": [batch], "taskdefinitions": [web_td]},
        web_pods,
        (revision_of(web_td, 2),),
    )
    out = io.StringIO()
    assert cli.run(cli.parser().parse_args([*argv, "-o", "json"]), source, out) == 0
    printed = json.loads(out.getvalue())
    expected_keys = {
        "describe-services": {"services", "failures"},
        "list-services": {"serviceArns"},
        "describe-tasks": {"tasks", "failures"},
        "list-tasks": {"taskArns"},
        "describe-task-definition": {"taskDefinition", "tags"},
        "describe-clusters": {"clusters", "failures"},
    }
    assert set(printed) == expected_keys[argv[0]]
    out = io.StringIO()
    assert cli.run(cli.parser().parse_args(argv), source, out) == 0
    assert out.getvalue().strip()


@pytest.mark.parametrize(
    "argv",
    [
        ["describe-services", "--cluster", "production"],
        ["list-tasks", "--cluster", "production"],
        ["list-services"],  # the default cluster, in a namespace with nothing of it
    ],
    ids=lambda argv: " ".join(argv),
)
def test_a_cluster_the_namespace_lacks_is_not_found_as_in_ecs(argv: list[str], web: Body) -> None:
    """A mistyped cluster, or the wrong namespace, fails as ECS fails it: no empty table."""
    empty = FakeSource({}, [])
    with pytest.raises(views.ClusterNotFound, match=r"ClusterNotFoundException.*namespace shop"):
        cli.run(cli.parser().parse_args(argv), empty, io.StringIO())
    production = with_metadata(
        {"metadata": {"name": "production"}, "spec": {"clusterName": "production"}}
    )
    # its Cluster object, or (default's, before the operator wrote it) a service naming it
    found = FakeSource(
        {"clusters": [production]} if "production" in argv else {"services": [web]}, []
    )
    assert cli.run(cli.parser().parse_args(argv), found, io.StringIO()) == 0


def test_main_explains_a_missing_kubeconfig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope")
    assert cli.main(["list-services", "--kubeconfig", missing]) == 1
    assert "kubectl ecs list-services: cannot load the kubeconfig" in capsys.readouterr().err


def test_grid_aligns_columns() -> None:
    assert table.grid(["A", "LONGER"], [["x", None], ["yyyy", [1, 2]]]).splitlines() == [
        "A     LONGER",
        "x     -",
        "yyyy  1,2",
    ]


def test_describe_tasks_shows_the_size_the_revision_registered(
    web: Body, web_pods: list[Body], web_td: Body
) -> None:
    """As ECS shows a Fargate task's task-level cpu and memory: the revision's, read once."""
    source = FakeSource(
        {"services": [web], "taskdefinitions": [web_td]}, web_pods, (revision_of(web_td, 1),)
    )
    out = io.StringIO()
    args = ["describe-tasks", "--tasks", *(p["metadata"]["name"] for p in web_pods), "-o", "json"]

    assert cli.run(cli.parser().parse_args(args), source, out) == 0

    sizes = [(t["cpu"], t["memory"]) for t in json.loads(out.getvalue())["tasks"]]
    assert sizes == [("512", "1024")] * len(web_pods)
    text = io.StringIO()
    cli.run(cli.parser().parse_args(args[:-2]), source, text)
    assert "CPU" in text.getvalue() and "1024" in text.getvalue()


def test_each_container_names_its_task_and_has_an_arn_of_its_own(
    web: Body, web_pods: list[Body], web_td: Body
) -> None:
    """As ECS's describe-tasks shows a container: its ``taskArn``, and a ``containerArn`` under
    the task's cluster and id that is the same at every call."""
    source = FakeSource(
        {"services": [web], "taskdefinitions": [web_td]}, web_pods, (revision_of(web_td, 1),)
    )

    def described() -> list[Body]:
        out = io.StringIO()
        cli.run(cli.parser().parse_args(["describe-tasks", "-o", "json"]), source, out)
        return list(json.loads(out.getvalue())["tasks"])

    tasks = described()
    containers = [c for t in tasks for c in t["containers"]]
    assert containers and all(c["taskArn"] == t["taskArn"] for t in tasks for c in t["containers"])
    arns = [c["containerArn"] for c in containers]
    assert len(set(arns)) == len(arns)
    task_arn = tasks[0]["taskArn"]
    assert tasks[0]["containers"][0]["containerArn"].startswith(
        task_arn.replace(":task/", ":container/") + "/"
    )
    assert arns == [c["containerArn"] for t in described() for c in t["containers"]]


def test_a_tasks_sizes_are_its_revisions_as_its_overrides_change_them() -> None:
    """describe-tasks shows the task's and each container's sizes as ECS does: strings, from
    the revision it runs, a RunTask's overrides taking precedence; nothing where neither has
    one."""
    spec = {
        "family": "job",
        "memory": "1024",
        "containerDefinitions": [
            {"name": "main", "image": "x", "cpu": 128, "memory": 256},
            {"name": "side", "image": "y", "memoryReservation": 64},
        ],
    }
    overrides = {"cpu": "512", "containerOverrides": [{"name": "main", "memory": 512}]}
    arn = "arn:aws:ecs:local:000000000000:task/default/job-0"
    task = {
        "taskArn": arn,
        "overrides": overrides,
        "containers": [{"name": "main"}, {"name": "side"}],
    }

    shown = task_views.as_described(task, {"data": {"spec": spec}})

    assert (shown["cpu"], shown["memory"]) == ("512", "1024")
    assert [_sizes_of(c) for c in shown["containers"]] == [
        {"name": "main", "cpu": "128", "memory": "512"},
        {"name": "side", "memoryReservation": "64"},
    ]
    plain = task_views.as_described({"taskArn": arn, "containers": [{"name": "main"}]}, None)
    assert [_sizes_of(c) for c in plain["containers"]] == [{"name": "main"}]


def _sizes_of(container: Body) -> Body:
    return {k: v for k, v in container.items() if k not in ("taskArn", "containerArn")}


def test_a_task_not_started_yet_lists_its_revisions_containers_pending() -> None:
    """As ECS's RunTask answers: the task's containers from its start, PENDING, named and
    sized, before the operator has made its pod."""
    spec = {"family": "job", "containerDefinitions": [{"name": "main", "image": "x", "cpu": 128}]}
    arn = "arn:aws:ecs:local:000000000000:task/default/job-0"
    task = {"taskArn": arn, "lastStatus": "PROVISIONING", "containers": []}

    [container] = task_views.as_described(task, {"data": {"spec": spec}})["containers"]

    assert _sizes_of(container) == {
        "name": "main",
        "lastStatus": "PENDING",
        "healthStatus": "UNKNOWN",
        "image": "x",
        "cpu": "128",
    }
    assert container["containerArn"].startswith(arn.replace(":task/", ":container/"))


def test_a_service_task_is_started_by_the_deployment_that_runs_it(web_pods: list[Body]) -> None:
    """ECS's ``startedBy`` of a service's task is its deployment's id: after a forced new
    deployment (the same revision) the tasks started before it are the ACTIVE deployment's."""
    old, new = web_pods
    new = {**new, "metadata": {**new["metadata"], "creationTimestamp": "2026-01-01T00:10:03Z"}}
    first = {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": "web:1",
             "createdAt": "2026-01-01T00:00:00Z"}  # fmt: skip
    forced = {"id": "ecs-svc/2", "status": "PRIMARY",
              "taskDefinition": "arn:aws:ecs:local:000000000000:task-definition/web:1",
              "createdAt": "2026-01-01T00:10:00Z"}  # fmt: skip

    def started(deployments: list[Body]) -> dict[str, str | None]:
        tasks = task_views.all_tasks([], [old, new], "default", ARNS, {"web": deployments})
        return {t["taskId"]: t.get("startedBy") for t in tasks}

    assert started([forced, first]) == {
        "web-7d4b9c-abcde": "ecs-svc/1", "web-7d4b9c-fghij": "ecs-svc/2",
    }  # fmt: skip
    # a new revision: the tasks of web:1 are the older deployment's until they are replaced
    revised = {**forced, "taskDefinition": "web:2"}
    assert set(started([revised, first]).values()) == {"ecs-svc/1"}
    # a revision no deployment shown runs any more: ECS would name one we no longer know
    assert set(started([revised]).values()) == {None}


def test_a_service_task_whose_pod_went_is_listed_stopped(web: Body, web_pods: list[Body]) -> None:
    """kubectl ecs list-tasks --desired-status STOPPED and describe-tasks show a service's
    stopped tasks from its status; the running ones from their pods."""
    gone, still = web_pods
    deployments = web["status"]["deployments"]
    record = stopped_task(gone, deployments, 1767225600.0)
    service = {**web, "status": {**web["status"], STOPPED_TASKS: [record]}}

    tasks = task_views.all_tasks([], [still], "default", ARNS, None, [service])

    stopped = task_views.list_tasks(tasks, service="web", desired_status="STOPPED")["taskArns"]
    assert stopped == [ARNS.task("default", gone["metadata"]["name"])]
    assert len(task_views.list_tasks(tasks, service="web")["taskArns"]) == 1
    described = task_views.describe_tasks(
        tasks, [gone["metadata"]["name"]], ARNS, "default", "shop"
    )
    (shown,) = described["tasks"]
    assert shown["stopCode"] == "ServiceSchedulerInitiated"
    assert shown["taskDefinitionArn"] == ARNS.task_definition(record["taskDefinition"])
    assert "ServiceSchedulerInitiated" in table.tasks(described)


def test_a_refusal_stops_the_unstarted_tasks_of_the_spec_it_was_made_for_only() -> None:
    """The operator's refusal (``Stalled`` for the current generation) stops a Task's
    unstarted tasks, TaskFailedToStart; a corrected spec (a newer generation) reads
    PROVISIONING again until the operator has looked at it."""
    stalled = {
        "type": "Stalled",
        "status": "True",
        "reason": "TaskRoleNotAllowed",
        "message": "taskRoleArn: not allowed",
        "lastTransitionTime": "2026-12-05T04:00:00Z",
    }

    def task(generation: int) -> dict[str, Any]:
        return {
            "kind": "Task",
            "metadata": {"name": "job", "namespace": "shop", "generation": generation},
            "spec": {"taskDefinition": "job:1"},
            "status": {"observedGeneration": 1, "conditions": [stalled]},
        }

    [refused] = task_views.all_tasks([task(1)], [], "default", ARNS)
    [corrected] = task_views.all_tasks([task(2)], [], "default", ARNS)

    assert (refused["lastStatus"], refused["stopCode"]) == ("STOPPED", "TaskFailedToStart")
    assert refused["stoppedReason"] == "Task failed to start: taskRoleArn: not allowed"
    assert (corrected["lastStatus"], corrected.get("stopCode")) == ("PROVISIONING", None)


def test_a_service_task_being_stopped_says_why_and_since_when(web_pods: list[Body]) -> None:
    """StopTask of a service's task: while its containers stop (DEPROVISIONING), ECS shows the
    reason given and ``stoppingAt``, the stop's call; here it read "Task stopped by user" and
    no ``stoppingAt`` until the pod was gone (seen on a real node). A pod the rollout
    replaces reads as the scheduler's."""
    asked = copy.deepcopy(web_pods[0])
    asked["metadata"]["annotations"][keys.ANNOTATION_STOP_REASON] = "migrating"
    asked["metadata"] |= {
        "deletionTimestamp": "2026-01-01T01:00:30Z",
        "deletionGracePeriodSeconds": 30,
    }
    replaced = copy.deepcopy(web_pods[1])
    replaced["metadata"] |= {
        "deletionTimestamp": "2026-01-01T01:00:30Z",
        "deletionGracePeriodSeconds": 30,
    }
    tasks = {t["taskId"]: t for t in task_views.all_tasks([], [asked, replaced], "default", ARNS)}
    stopping = tasks["web-7d4b9c-abcde"]
    assert (stopping["lastStatus"], stopping["desiredStatus"]) == ("DEPROVISIONING", "STOPPED")
    assert (stopping["stopCode"], stopping["stoppedReason"]) == ("UserInitiated", "migrating")
    assert stopping["stoppingAt"] == "2026-01-01T01:00:00Z"
    scaled = tasks["web-7d4b9c-fghij"]
    assert scaled["stopCode"] == "ServiceSchedulerInitiated"
    assert scaled["stoppingAt"] == "2026-01-01T01:00:00Z"


def test_a_service_task_whose_container_the_kubelet_restarts_stays_running(
    web_pods: list[Body],
) -> None:
    """A service's essential container exits and its pod waits out the kubelet's back-off
    before restarting it in place (restartPolicy Always): the task read STOPPED,
    EssentialContainerExited, then RUNNING again under the same ARN (seen on a real node),
    where STOPPED is final on ECS. Until the pod goes, its task runs on and shows the exit in
    its container."""
    crashing = copy.deepcopy(web_pods[0])
    statuses = crashing["status"]["containerStatuses"]
    statuses[0] = {
        "name": statuses[0]["name"],
        "restartCount": 3,
        "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
    }
    [task] = task_views.all_tasks([], [crashing], "default", ARNS)
    assert (task["lastStatus"], task["desiredStatus"]) == ("RUNNING", "RUNNING")
    assert "stopCode" not in task
