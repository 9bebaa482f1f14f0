"""A Task object's status put together from its tasks (ECS JSON, status/task.py): the whole
Task's last and desired status, its conditions, the Events of tasks that stopped, and why a
task waits for a place to run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import condition, merge, override
from .task import ESSENTIAL_EXITED, FAILED_TO_START, LIFECYCLE, TERMINATION_NOTICE
from .task_records import ecs_record, essential_exit_code
from .workloads import placement_failure, unschedulable


def failure(states: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first stopped task that failed: its pod could not start, Kubernetes took it (it did
    not finish), or the essential container that stopped it exited non-zero (its record keeps
    that code, ``essentialExitCode``: the other containers' codes are those of being killed).
    None when every stopped task succeeded or was stopped by its user."""
    for state in states:
        code = state.get("stopCode")
        if code in (FAILED_TO_START, TERMINATION_NOTICE) or (
            code == ESSENTIAL_EXITED and essential_exit_code(state) != 0
        ):
            return state
    return None


def stop_words(record: Mapping[str, Any]) -> str:
    """Why a task stopped, in ECS's words, with the exit code that stopped it where its
    essential container's exit did: the Events' and the ``Degraded`` condition's words."""
    reason = str(ecs_record(record).get("stoppedReason") or "")
    if record.get("stopCode") == ESSENTIAL_EXITED:
        reason = f"{reason} (exit code {essential_exit_code(record)})"
    return reason


def unplaced(pods: Iterable[dict[str, Any] | None]) -> str | None:
    """Why a task waits for somewhere to run, in the words of ECS's own placement failure: the
    scheduler's reason for the first of ``pods`` it cannot place (which nodeSelector, when
    nodes' labels ruled them out: status/workloads.unschedulable). ECS refuses a RunTask it
    cannot place; here the task stays PROVISIONING, as ECS's do while a capacity provider
    scales out, since a node may yet come (the cluster autoscaler, Karpenter)."""
    for pod in filter(None, pods):
        reason = unschedulable(pod)
        if reason:
            return placement_failure(f"unable to place task {pod['metadata']['name']}", reason)
    return None


def task_conditions(
    last_status: str, states: Sequence[Mapping[str, Any]], waiting: str | None = None
) -> list[dict[str, Any]]:
    """A Task's ``Ready``, ``Stopped`` and ``Degraded``: Ready while it runs and once it stopped
    as asked or succeeded (a finished batch task is done, as a Job is Complete: kstatus Current),
    not Ready with why while a task ``waiting`` for a place to run (:func:`unplaced`) keeps it
    PROVISIONING; Degraded, which kstatus reads as Failed, when a task of it failed
    (:func:`failure`)."""
    failed = failure(states) if last_status == "STOPPED" else None
    ready = last_status == "RUNNING" or (last_status == "STOPPED" and failed is None)
    why = waiting if waiting and last_status == "PROVISIONING" else ""
    return [
        condition("Ready", ready, last_status.title(), why),
        condition("Stopped", last_status == "STOPPED", last_status.title()),
        condition(
            "Degraded",
            failed is not None,
            str(failed["stopCode"]) if failed else "AsExpected",
            stop_words(failed) if failed else "",
        ),
    ]


def overall_status(
    tasks: Sequence[Mapping[str, Any]], stop_requested: bool, waiting: bool
) -> tuple[str, str]:
    """The whole Task's last and desired status from its tasks' (ECS JSON); ``waiting``: some
    task of it has not started yet (its pod name is taken), so it is still PROVISIONING."""
    if waiting and not stop_requested:
        tasks = [*tasks, {"lastStatus": "PROVISIONING", "desiredStatus": "RUNNING"}]
    if not tasks:
        return "STOPPED", "STOPPED"
    last = min((t["lastStatus"] for t in tasks), key=LIFECYCLE.index)
    stopped = stop_requested or all(t["desiredStatus"] == "STOPPED" for t in tasks)
    return last, "STOPPED" if stopped else "RUNNING"


@dataclass(frozen=True)
class StoppedEvent:
    """A task that stopped since the last status: the Event's message, and whether it is a
    Warning (anything but every essential container exiting 0)."""

    message: str
    warning: bool


def stopped_events(
    tasks: Sequence[Mapping[str, Any]], previous: Mapping[str, Any]
) -> list[StoppedEvent]:
    """The tasks that are STOPPED now and were not in ``previous`` (the status before)."""
    before = {t["taskId"]: t for t in previous.get("tasks") or []}
    events = []
    for task in tasks:
        if (
            task["lastStatus"] != "STOPPED"
            or before.get(task["taskId"], {}).get("lastStatus") == "STOPPED"
        ):
            continue
        code = task.get("stopCode", "")
        failed = any(c.get("exitCode") not in (0, None) for c in task.get("containers", []))
        events.append(
            StoppedEvent(
                f"task {task['taskId']} stopped: {code} {stop_words(task)}".strip(),
                code != ESSENTIAL_EXITED or failed,
            )
        )
    return events


def task_status(
    previous: Mapping[str, Any],
    tasks: list[dict[str, Any]],
    generation: int | None,
    *,
    stop_requested: bool,
    task_definition: str | None = None,
    problem: Sequence[dict[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    waiting: str | None = None,
) -> dict[str, Any]:
    """A Task object's status: its tasks (ECS JSON), the whole Task's last and desired status,
    its conditions (:func:`task_conditions`; ``problem``'s conditions, a name conflict, outranking
    them; a conflict also means a task still waits to start), and ``extra`` members (the
    findings)."""
    last, desired = overall_status(tasks, stop_requested, bool(problem or waiting))
    conditions = task_conditions(last, tasks, waiting)
    if problem:
        conditions = override(conditions, problem)
    status = {
        **previous,
        "lastStatus": last,
        "desiredStatus": desired,
        "tasks": tasks,
        "conditions": merge(previous.get("conditions"), conditions, generation),
        "observedGeneration": generation,
    }
    if task_definition:
        status["taskDefinition"] = task_definition
    status.update(extra or {})
    return status
