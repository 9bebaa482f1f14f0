"""Events in ECS words (kube/events.py): never the same one twice in a row for an object, and
what was last said remembered for a bounded number of objects, however many come and go."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from ecs_operator.kube.client import KubeClient, Resource
from ecs_operator.kube.events import EventRecorder

Body = dict[str, Any]


class Posted:
    """A KubeClient that keeps the Events it is asked to create."""

    def __init__(self) -> None:
        self.events: list[Body] = []

    async def create(self, resource: Resource, body: Body) -> Body:
        self.events.append(body)
        return body


def _task(uid: str) -> Body:
    return {
        "apiVersion": "ecs-operator.dev/v1alpha1",
        "kind": "Task",
        "metadata": {"name": f"task-{uid}", "namespace": "shop", "uid": uid},
    }


def _recorded(remembered: int, said: list[tuple[str, str]]) -> tuple[list[bool], EventRecorder]:
    """What each ``(uid, message)`` in turn gave (posted or not), and the recorder after."""

    async def say() -> tuple[list[bool], EventRecorder]:
        recorder = EventRecorder(cast(KubeClient, Posted()), remembered=remembered)
        answers = [recorder.record(_task(uid), "Stopped", message) for uid, message in said]
        await recorder.drain()
        return answers, recorder

    return asyncio.run(say())


def test_the_same_event_is_not_posted_twice_in_a_row() -> None:
    answers, _ = _recorded(10, [("a", "stopped"), ("a", "stopped"), ("a", "again"), ("b", "x")])
    assert answers == [True, False, True, True]


def test_objects_that_came_and_went_are_forgotten() -> None:
    """A scheduled task's Task every minute for a week: the recorder remembers the newest
    objects only (it remembered every one, for as long as the operator ran)."""
    week = [
        (f"task-{n}", "Task stopped: Essential container in task exited") for n in range(10_080)
    ]
    _, recorder = _recorded(100, week)
    assert len(recorder) == 100


def test_an_object_still_reporting_stays_remembered() -> None:
    """One that keeps repeating its event among many others is not posted again: each repeat
    makes it the most recent."""
    said = []
    for n in range(50):
        said += [("busy", "unable to place"), (f"other-{n}", "stopped")]
    answers, _ = _recorded(10, said)
    assert answers[::2] == [True] + [False] * 49
