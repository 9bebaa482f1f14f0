"""The API server's own request metrics, read as the benchmarks need them: write requests by
verb and resource (``apiserver_request_total``), the seconds spent answering them
(``apiserver_request_duration_seconds``), and the operator's share of a delta."""

from __future__ import annotations

import re
from dataclasses import dataclass

WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY")


@dataclass(frozen=True, order=True)
class RequestKey:
    """One ``apiserver_request_total`` series, without its response code."""

    verb: str
    group: str
    resource: str
    subresource: str


_SAMPLE = re.compile(r"^apiserver_request_total\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _write_key(labels_text: str) -> RequestKey | None:
    """The key of a sample's labels, None unless it counts writes."""
    labels = dict(_LABEL.findall(labels_text))
    if labels.get("verb") not in WRITE_VERBS:
        return None
    return RequestKey(
        labels["verb"],
        labels.get("group", ""),
        labels.get("resource", ""),
        labels.get("subresource", ""),
    )


def parse_request_counts(text: str) -> dict[RequestKey, float]:
    """Write requests by verb, group, resource and subresource (codes summed)."""
    counts: dict[RequestKey, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        key = _write_key(match.group(1))
        if key is None:
            continue
        counts[key] = counts.get(key, 0.0) + float(match.group(2))
    return counts


_DURATION = re.compile(r"^apiserver_request_duration_seconds_(sum|count)\{(.*)\} (\S+)$")


def parse_request_time(text: str) -> dict[str, float]:
    """Seconds the API server spent answering requests, by ``"VERB resource[/subresource]"``:
    on a machine the API server saturates, which requests its time went to. Not WATCH nor
    CONNECT: a watch's duration is how long a client kept it open."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = _DURATION.match(line)
        if not match or match.group(1) != "sum":
            continue
        labels = dict(_LABEL.findall(match.group(2)))
        if labels.get("verb") in ("WATCH", "CONNECT"):
            continue
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource += f"/{labels['subresource']}"
        key = f"{labels.get('verb', '')} {resource}"
        found[key] = found.get(key, 0.0) + float(match.group(3))
    return found


def parse_request_seconds(text: str) -> dict[RequestKey, tuple[float, float]]:
    """Time the API server spent on writes: (seconds, requests) by verb and resource."""
    found: dict[RequestKey, list[float]] = {}
    for line in text.splitlines():
        match = _DURATION.match(line)
        if not match:
            continue
        key = _write_key(match.group(2))
        if key is None:
            continue
        pair = found.setdefault(key, [0.0, 0.0])
        pair[0 if match.group(1) == "sum" else 1] += float(match.group(3))
    return {key: (pair[0], pair[1]) for key, pair in found.items()}


def mean_latency(
    before: dict[RequestKey, tuple[float, float]],
    after: dict[RequestKey, tuple[float, float]],
    keys: set[str],
) -> dict[str, float]:
    """Mean seconds per request between two readings, for the ``"VERB resource[/sub]"``
    series in ``keys`` (the operator's writes): where an operator's time goes when it waits."""
    means: dict[str, float] = {}
    for key, (total, count) in after.items():
        name = f"{key.verb} {key.resource}" + (f"/{key.subresource}" if key.subresource else "")
        old_total, old_count = before.get(key, (0.0, 0.0))
        if name in keys and count > old_count:
            means[name] = round((total - old_total) / (count - old_count), 3)
    return dict(sorted(means.items()))


def count_delta(
    before: dict[RequestKey, float], after: dict[RequestKey, float]
) -> dict[RequestKey, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


#: The requests only the operator sends: writes to ECS objects (the bench's own applies are
#: subtracted), server-side applies (of Deployments, ServiceAccounts, PodDisruptionBudgets...:
#: the controllers update with PUT and create with POST, they never apply), the creations of
#: the kinds only the operator creates here (it creates new children with POST, and applies
#: only to its own), owners patched onto shared ServiceAccounts, and ControllerRevision
#: creations (no DaemonSet or StatefulSet runs in these benchmarks). Events are counted
#: apart: every component posts them.
OPERATOR_SERIES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("ecs-operator.dev", "*", frozenset(WRITE_VERBS)),
    ("*", "*", frozenset({"APPLY"})),
    ("", "serviceaccounts", frozenset({"PATCH", "POST"})),
    ("apps", "controllerrevisions", frozenset({"POST", "DELETE"})),
    ("apps", "deployments", frozenset({"POST"})),
    ("apps", "daemonsets", frozenset({"POST"})),
    ("", "services", frozenset({"POST"})),
    ("autoscaling", "horizontalpodautoscalers", frozenset({"POST"})),
    ("policy", "poddisruptionbudgets", frozenset({"POST"})),
)


def operator_writes(
    delta: dict[RequestKey, float], own: dict[tuple[str, str], int]
) -> dict[str, float]:
    """The operator's share of an API server counter delta, as ``"VERB resource"`` -> count
    (``resource/subresource`` for subresources), the bench's own writes taken out."""
    found: dict[str, float] = {}
    for key, value in delta.items():
        for group, resource, verbs in OPERATOR_SERIES:
            if group in ("*", key.group) and resource in ("*", key.resource) and key.verb in verbs:
                if key.group == "ecs-operator.dev" and not key.subresource:
                    value -= own.get((key.verb, key.resource), 0)
                name = key.resource + (f"/{key.subresource}" if key.subresource else "")
                if value > 0:
                    found[f"{key.verb} {name}"] = found.get(f"{key.verb} {name}", 0.0) + value
                break
    return found


def event_writes(delta: dict[RequestKey, float]) -> float:
    """Events created by every component (core and events.k8s.io)."""
    return sum(v for k, v in delta.items() if k.resource == "events" and k.verb == "POST")
