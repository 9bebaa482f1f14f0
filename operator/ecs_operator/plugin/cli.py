"""`kubectl ecs COMMAND`: the aws CLI's ECS read commands over the custom resources.

kubectl runs any ``kubectl-ecs`` on PATH as ``kubectl ecs`` (installed with the package as a
console script). The commands and their flags are the aws CLI's (``--cluster``, ``--services``,
``--tasks``, ``--task-definition``), plus kubectl's ``-n/--namespace``, ``--context`` and
``--kubeconfig``; ``-o json`` prints what ``aws ecs`` prints, ``-o table`` (the default) a
summary for people. ``logs`` and ``execute-command`` hand over to ``kubectl logs`` / ``exec``
on the task's pod (``actions.py``).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ecs_operator.api.identifiers import DEFAULT_CLUSTER
from ecs_operator.status.taskdefinition import DEFAULT_ACCOUNT, Arns

from . import actions, table, task_views, views
from .source import KubeSource, Source, SourceError

Body = dict[str, Any]
#: (the JSON a command prints, its table) for the parsed arguments and a source.
Command = Callable[[argparse.Namespace, Source, Arns], tuple[Body, str]]
#: the kubectl command line a command hands over to (``logs``, ``execute-command``)
Handoff = Callable[[argparse.Namespace, Source], list[str]]


def _describe_services(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    described = views.describe_services(
        source.custom("services"), args.cluster, args.services, arns
    )
    return described, table.services(described)


def _list_services(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    listed = views.list_services(source.custom("services"), args.cluster, arns)
    return listed, table.arns(listed, "serviceArns")


def _tasks(args: argparse.Namespace, source: Source, arns: Arns) -> list[Body]:
    services = source.custom("services")
    deployments = task_views.service_deployments(services, args.cluster, arns)
    return task_views.all_tasks(
        source.custom("tasks"), source.pods(), args.cluster, arns, deployments, services
    )


def _describe_tasks(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    described = task_views.describe_tasks(
        _tasks(args, source, arns), args.tasks, arns, args.cluster, source.namespace
    )
    described["tasks"] = _as_described(source, described["tasks"])
    return described, table.tasks(described)


def _as_described(source: Source, tasks: list[Body]) -> list[Body]:
    """``tasks`` as describe-tasks shows them (``task_views.as_described``): one read of each
    revision."""
    definitions = source.custom("taskdefinitions") if tasks else []
    revisions: dict[str, Body | None] = {}
    for arn in {t["taskDefinitionArn"] for t in tasks if t.get("taskDefinitionArn")}:
        try:
            body, revision = views.find_task_definition(definitions, arn)
        except views.TaskDefinitionNotFound:
            continue
        stored = source.controller_revision(views.revision_object_name(body, revision))
        if views.is_revision_of(stored, body):
            revisions[arn] = stored
    return [
        task_views.as_described(t, revisions.get(t.get("taskDefinitionArn") or "")) for t in tasks
    ]


def _list_tasks(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    listed = task_views.list_tasks(
        _tasks(args, source, arns), args.service_name, args.family, args.desired_status
    )
    return listed, table.arns(listed, "taskArns")


def _describe_task_definition(
    args: argparse.Namespace, source: Source, arns: Arns
) -> tuple[Body, str]:
    body, revision = views.find_task_definition(
        source.custom("taskdefinitions"), args.task_definition
    )
    stored = source.controller_revision(views.revision_object_name(body, revision))
    described = views.describe_task_definition(body, revision, stored, arns)
    return described, table.task_definition(described)


def _describe_clusters(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    task_bodies, pods = source.custom("tasks"), source.pods()
    described = views.describe_clusters(
        source.custom("clusters"),
        args.clusters,
        arns,
        lambda cluster: task_views.all_tasks(task_bodies, pods, cluster, arns),
    )
    return described, table.clusters(described)


def _wait(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    """The aws CLI's waiters: nothing printed, a failure when the deadline passes."""
    if args.waiter == "services-stable":

        def services_stable() -> tuple[bool, str]:
            bodies = source.custom("services")
            described = views.describe_services(bodies, args.cluster, args.services, arns)
            behind = views.behind_their_spec(bodies, source.custom("taskdefinitions"))
            return actions.services_stable(described, behind)

        actions.wait_until(services_stable, actions.SERVICES_STABLE_TIMEOUT)
    else:
        actions.wait_until(
            lambda: actions.tasks_stopped(
                task_views.describe_tasks(
                    _tasks(args, source, arns), args.tasks, arns, args.cluster, source.namespace
                )
            ),
            actions.TASKS_STOPPED_TIMEOUT,
        )
    return {}, ""


def _update_service(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    body = actions.service_object(source.custom("services"), args.cluster, args.service)
    patch: Body = actions.force_new_deployment_patch() if args.force_new_deployment else {}
    if args.desired_count is not None:
        patch["spec"] = {"desiredCount": args.desired_count}
    updated = source.patch("services", body["metadata"]["name"], patch) if patch else body
    view = views.service_view(updated, arns)
    return {"service": view}, table.services({"services": [view], "failures": []})


def _kubectl(args: argparse.Namespace) -> list[str]:
    flags = [f"--{f}={getattr(args, f)}" for f in ("context", "kubeconfig") if getattr(args, f)]
    return ["kubectl", *flags]


def _logs(args: argparse.Namespace, source: Source) -> list[str]:
    return actions.logs_argv(_kubectl(args), source.pods(), args.task, args.container, args.follow)


def _execute_command(args: argparse.Namespace, source: Source) -> list[str]:
    return actions.execute_command_argv(
        _kubectl(args), source.pods(), args.task, args.container, args.command, args.interactive
    )


def _handed_over(args: argparse.Namespace, source: Source, arns: Arns) -> tuple[Body, str]:
    """What ``logs`` / ``execute-command`` run (``main`` runs it in the plugin's place)."""
    argv: list[str] = args.handoff(args, source)
    return {"command": argv}, shlex.join(argv)


#: what ``kubectl ecs --help`` says first (the module's docstring is for its readers)
DESCRIPTION = (
    "The aws CLI's ECS commands over ecs-operator's objects in one namespace: the same "
    "commands and flags (--cluster, --services, --tasks, --task-definition), plus kubectl's "
    "-n/--namespace, --context and --kubeconfig. -o json prints what aws ecs prints; -o table "
    "(the default), a summary. logs and execute-command run kubectl logs / exec on the task's "
    "pod. A task is named by its id (its pod's name), the ECS API's id, or an ARN with either."
)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    common.add_argument("--context", help="kubeconfig context (default: the current one)")
    common.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube)")
    common.add_argument("-o", "--output", choices=("table", "json"), default="table")
    common.add_argument("--account-id", default=DEFAULT_ACCOUNT, help="AWS account id in ARNs")
    top = argparse.ArgumentParser(prog="kubectl ecs", description=DESCRIPTION)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        added = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        added.set_defaults(run=run)
        return added

    def cluster_flag(added: argparse.ArgumentParser) -> None:
        added.add_argument(
            "--cluster", default=DEFAULT_CLUSTER, help="cluster name or ARN (default)"
        )

    added = command("describe-services", _describe_services, "describe services (ECS view)")
    cluster_flag(added)
    added.add_argument("--services", nargs="*", default=[], help="names or ARNs (default: all)")
    added = command("list-services", _list_services, "list a cluster's service ARNs")
    cluster_flag(added)
    added = command("describe-tasks", _describe_tasks, "describe tasks (services' and standalone)")
    cluster_flag(added)
    added.add_argument("--tasks", nargs="*", default=[], help="task ids or ARNs (default: all)")
    added = command("list-tasks", _list_tasks, "list a cluster's task ARNs")
    cluster_flag(added)
    added.add_argument("--service-name", help="only this service's tasks")
    added.add_argument("--family", help="only tasks of this task definition family")
    added.add_argument("--desired-status", choices=("RUNNING", "STOPPED"), default="RUNNING")
    added = command(
        "describe-task-definition", _describe_task_definition, "describe a task definition"
    )
    added.add_argument("--task-definition", required=True, help="family, family:revision or ARN")
    added = command("describe-clusters", _describe_clusters, "describe clusters")
    added.add_argument("--clusters", nargs="*", default=[], help="names or ARNs (default: default)")
    added = command("wait", _wait, "wait as the aws CLI's waiters do (10 minutes at most)")
    added.add_argument("waiter", choices=("services-stable", "tasks-stopped"))
    cluster_flag(added)
    added.add_argument("--services", nargs="*", default=[], help="services-stable: names or ARNs")
    added.add_argument("--tasks", nargs="*", default=[], help="tasks-stopped: task ids or ARNs")
    added = command("update-service", _update_service, "force a new deployment, or scale")
    cluster_flag(added)
    added.add_argument("--service", required=True, help="name or ARN")
    added.add_argument(
        "--force-new-deployment", action="store_true", help="replace the tasks with new ones"
    )
    added.add_argument("--desired-count", type=int, help="the new desiredCount")
    for name, handoff, help_text in (
        ("logs", _logs, "a task's container logs (kubectl logs)"),
        ("execute-command", _execute_command, "run a command in a task's container (kubectl exec)"),
    ):
        added = command(name, _handed_over, help_text)
        added.set_defaults(handoff=handoff)
        cluster_flag(added)
        added.add_argument("--task", required=True, help="task id or ARN")
        added.add_argument("--container", help="ECS container name (needed if several)")
    added.add_argument("--command", required=True, help="the command line to run")
    added.add_argument("--interactive", action="store_true", help="attach a terminal (-it)")
    sub.choices["logs"].add_argument("-f", "--follow", action="store_true", help="stream")
    return top


def _require_cluster(args: argparse.Namespace, source: Source) -> None:
    """A command about one cluster (``--cluster``) names one the namespace has, or fails as
    ECS fails it, rather than print an empty answer for a mistyped name or namespace (``logs``
    and ``execute-command`` name their task, whose pod says where it is)."""
    if getattr(args, "cluster", None) is not None and getattr(args, "handoff", None) is None:
        views.require_cluster(args.cluster, source.namespace, source.custom)


def run(args: argparse.Namespace, source: Source, out: TextIO) -> int:
    """Run a parsed command against ``source``, printing to ``out``."""
    _require_cluster(args, source)
    described, text = args.run(args, source, Arns(args.account_id))
    if not described and not text:  # a waiter: its exit status says it all
        return 0
    if args.output == "json":
        out.write(json.dumps(described, indent=4) + "\n")
    else:
        out.write(text + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        source = KubeSource.connect(args.kubeconfig, args.context, args.namespace)
        handoff: Handoff | None = getattr(args, "handoff", None)
        if handoff is not None:
            argv = handoff(args, source)
            # exec ends this program without its exit handlers: run them first, for the
            # kubernetes client's removes the copies of the kubeconfig's client key and
            # certificates it wrote to the temporary directory
            atexit._run_exitfuncs()
            os.execvp(argv[0], argv)
        return run(args, source, sys.stdout)
    except (
        SourceError,
        views.ClusterNotFound,
        views.TaskDefinitionNotFound,
        actions.ActionError,
    ) as error:
        print(f"kubectl ecs {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
