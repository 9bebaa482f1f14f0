"""Why a service's DaemonSet cannot create its pods.

A Deployment's ReplicaSet says it in a ``ReplicaFailure`` condition (the API server's refusal:
Pod Security admission, a quota), which status/workloads.py reads. A DaemonSet has no such
condition: its controller tells a refused create only in a ``FailedCreate`` Event. So while a
service's DaemonSet, caught up with its spec, runs pods on fewer nodes than it should, the
newest of those Events is read (one LIST, of that DaemonSet's FailedCreate Events only) and
becomes the workload's failure, as a ReplicaSet's would be: the service is Degraded
(``TaskLaunchFailed``) with the API server's words. Events go out after the DaemonSet's status,
so one not there yet is looked for again a little later; a DaemonSet short for another moment
(a node just added) has caught up by then.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ecs_operator.kube.client import ApiError, field_selector
from ecs_operator.kube.events import EVENT
from ecs_operator.status.workloads import WorkloadState, workload_state

from .context import Context
from .queue import Key

log = logging.getLogger(__name__)

#: how soon a DaemonSet short of pods, with no FailedCreate Event yet, is looked at again
RECHECK_SECONDS = 10.0
#: the most of an Event's text a status takes (events.k8s.io's limit of a note): anyone who
#: may create Events in the namespace can write one naming the DaemonSet
MESSAGE_MAX = 1024


async def workload_states(
    ctx: Context, key: Key, workloads: list[dict[str, Any]]
) -> list[WorkloadState]:
    """Each of a service's workloads as status/workloads.py reads it; a DaemonSet short of
    pods with why its controller cannot create them, once it has said (until then, the
    service ``key`` is looked at again in :data:`RECHECK_SECONDS`)."""
    states = []
    for workload in workloads:
        state = workload_state(workload)
        if _short(workload, state):
            state = await _with_create_failure(ctx, workload, state)
            if not state.failure:
                ctx.queue.add(key, after=RECHECK_SECONDS)
        states.append(state)
    return states


def _short(workload: dict[str, Any], state: WorkloadState) -> bool:
    """Whether ``workload`` is a DaemonSet, caught up with its spec, with pods on fewer nodes
    than it should have them (``replicas``: its nodes with a pod of it, created or not yet
    placed)."""
    return workload.get("kind") == "DaemonSet" and state.current and state.replicas < state.desired


async def _with_create_failure(
    ctx: Context, workload: dict[str, Any], state: WorkloadState
) -> WorkloadState:
    """``state`` with its controller's newest FailedCreate Event, if there is one."""
    metadata = workload["metadata"]
    fields = {"involvedObject.uid": metadata["uid"], "reason": "FailedCreate"}
    try:
        events = [
            event
            async for page in ctx.writer.client.list(
                EVENT, metadata["namespace"], field_selector=field_selector(fields)
            )
            for event in page
        ]
    except ApiError as error:  # reading why is worth a try, not a failed reconcile
        log.info("FailedCreate Events of %s unread: %s", metadata["name"], error.message)
        return state
    if not events:
        return state
    newest = max(events, key=_when)
    message = str(newest.get("message") or "FailedCreate")
    return replace(state, failure=message[:MESSAGE_MAX])


def _when(event: dict[str, Any]) -> str:
    """An Event's last occurrence, as RFC 3339 text (which sorts as time)."""
    series = event.get("series") or {}
    return str(
        event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime") or ""
    )
