"""The moments of a task's life that ECS reports besides its lifecycle's own timestamps
(``createdAt``, ``startedAt``, ``stoppingAt``, ``stoppedAt``), read off its pod.

- ``connectivity`` ``CONNECTED`` and ``connectivityAt``: ECS's agent on the task's instance
  (Fargate's on its micro-VM) has taken the task. Here the kubelet of the pod's node has
  taken the pod: its ``status.startTime``, which the kubelet sets as it acknowledges the pod,
  before it pulls the images. ECS keeps both on a stopped task, and so do we.
- ``executionStoppedAt``: the task's containers have all stopped (ECS: the task's execution
  ended, before the task is cleaned up and STOPPED): the last ``finishedAt`` once every
  container of the pod has terminated.

ECS's ``pullStartedAt`` and ``pullStoppedAt`` are not reported: the kubelet tells image pulls
only in Events, which the operator does not watch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .containers import statuses

#: what ECS describes of these moments (a task's record keeps them once its pod is gone)
MOMENTS = ("connectivity", "connectivityAt", "executionStoppedAt")


def task_moments(pod: Mapping[str, Any]) -> dict[str, str]:
    """``connectivity``/``connectivityAt`` and ``executionStoppedAt`` of the task ``pod``
    runs, as far as it has reached them."""
    moments: dict[str, str] = {}
    taken = (pod.get("status") or {}).get("startTime")
    if taken:
        moments |= {"connectivity": "CONNECTED", "connectivityAt": taken}
    ended = [(s.get("state") or {}).get("terminated") for s in statuses(pod)]
    finished = [str(t["finishedAt"]) for t in ended if t and t.get("finishedAt")]
    if ended and len(finished) == len(ended):
        moments["executionStoppedAt"] = max(finished)
    return moments
