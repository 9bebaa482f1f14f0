"""The benchmarks' own access to the API server: parallel server-side applies, list+watch
trackers and the API server's request counters (read by request_metrics.py).

Why not kubectl or the official client: a benchmark must not be timed by its driver. kubectl
applies one object at a time (a thousand objects take longer than the controllers need to
converge them), and polling with LISTs every fraction of a second would load the 2-core machine
we measure on and round every time up to the polling interval. So objects are applied in
parallel over one aiohttp session, and convergence is observed from watch events, to the
millisecond and at the cost of a single LIST per collection.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ecs_operator.kube.client import Resource
from ecs_operator.kube.resources import resource_of
from ecs_operator_devtools.devcluster.cluster import DevCluster

from .request_metrics import (
    RequestKey,
    parse_request_counts,
    parse_request_seconds,
    parse_request_time,
)

FIELD_MANAGER = "ecs-bench"
#: how long an apply answered 503 (a kind not available yet) is tried again
UNAVAILABLE_S = 30.0
NAMESPACE = Resource("", "v1", "namespaces", "Namespace", namespaced=False)


class ApiError(Exception):
    """A non-2xx answer, with its status code."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text[:500]}")
        self.status = status


class Api:
    """An aiohttp session to a devcluster's API server with its admin client certificate
    (``system:masters``: it may read ``/metrics`` too)."""

    def __init__(self, cluster: DevCluster, concurrency: int = 16) -> None:
        certs = cluster.certs
        context = ssl.create_default_context(cafile=str(certs.ca_cert))
        context.load_cert_chain(str(certs.admin_cert), str(certs.admin_key))
        self.server = cluster.server()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=64),
            headers={"User-Agent": FIELD_MANAGER},
        )
        self._slots = asyncio.Semaphore(concurrency)
        #: writes this client sent, by (verb, resource plural): subtracted from the API
        #: server's counters so that only the operator's writes remain
        self.writes: dict[tuple[str, str], int] = {}

    async def close(self) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = {"Content-Type": content_type} if data is not None else {}
        async with (
            self._slots,
            self._session.request(
                method, self.server + path, params=params, data=data, headers=headers
            ) as response,
        ):
            text = await response.text()
            if response.status >= 400:
                raise ApiError(response.status, text)
            return json.loads(text) if text and text[0] in "{[" else text

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply one object (forced, with the bench's field manager). A 503 is
        tried again for up to :data:`UNAVAILABLE_S`: right after the CRDs and the chart's
        admission policy are installed, the policy's dispatcher may not know a kind's schema
        yet ("There can be a delay between when CustomResourceDefinitions are created and
        when they are available"), as kubectl users and GitOps tools retry it too. Every try
        is counted: the API server counts it as a write."""
        resource = resource_of(body)
        metadata = body["metadata"]
        key = ("APPLY", resource.plural)
        deadline = time.monotonic() + UNAVAILABLE_S
        while True:
            self.writes[key] = self.writes.get(key, 0) + 1
            try:
                applied: dict[str, Any] = await self.request(
                    "PATCH",
                    resource.path(metadata.get("namespace"), metadata["name"]),
                    body,
                    {"fieldManager": FIELD_MANAGER, "force": "true"},
                    "application/apply-patch+yaml",
                )
                return applied
            except ApiError as error:
                if error.status != 503 or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.5)

    async def apply_all(self, bodies: Iterable[dict[str, Any]]) -> None:
        """Apply every object at once (``concurrency`` requests in flight)."""
        await asyncio.gather(*(self.apply(body) for body in bodies))

    async def create_namespace(self, name: str) -> None:
        await self.request("POST", NAMESPACE.path(), {"metadata": {"name": name}})

    async def delete_namespace(self, name: str, timeout: float) -> float:
        """Delete a namespace and wait until it is gone; returns the seconds it took."""
        started = time.monotonic()
        await self.request("DELETE", NAMESPACE.path(name=name))
        while time.monotonic() - started < timeout:
            try:
                await self.get(NAMESPACE.path(name=name))
            except ApiError as error:
                if error.status == 404:
                    return time.monotonic() - started
                raise
            await asyncio.sleep(0.5)
        raise TimeoutError(f"namespace {name} still exists after {timeout:.0f}s")

    async def watch(self, path: str, version: str) -> AsyncIterator[dict[str, Any]]:
        """Watch events from ``version`` on, until the server ends the watch.

        Lines are split by hand: aiohttp's ``readline`` refuses lines over 64 KiB, and one
        object (a ServiceAccount with an owner reference per Service) can be larger."""
        params = {"watch": "1", "resourceVersion": version, "timeoutSeconds": "1800"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self._session.get(
            self.server + path, params=params, timeout=timeout
        ) as response:
            if response.status >= 400:
                raise ApiError(response.status, await response.text())
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)

    async def request_counts(self) -> dict[RequestKey, float]:
        """The API server's ``apiserver_request_total`` write counters."""
        return parse_request_counts(str(await self.get("/metrics")))

    async def request_time(self) -> dict[str, float]:
        """``parse_request_time`` of the API server's metrics now."""
        return parse_request_time(str(await self.get("/metrics")))

    async def request_seconds(self) -> dict[RequestKey, tuple[float, float]]:
        """The API server's ``apiserver_request_duration_seconds`` (sum, count) of writes."""
        return parse_request_seconds(str(await self.get("/metrics")))


Done = Callable[[dict[str, Any]], bool]


@dataclass
class Tracker:
    """A list+watch of one collection that keeps the names of the objects satisfying
    ``done`` (only names: a thousand pods must not cost the bench much memory or CPU)."""

    api: Api
    path: str
    done: Done
    changed: Callable[[], None] = lambda: None
    names: set[str] = field(default_factory=set)
    satisfied: set[str] = field(default_factory=set)
    listed: asyncio.Event = field(default_factory=asyncio.Event)

    def _update(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.names.discard(name)
            self.satisfied.discard(name)
        else:
            self.names.add(name)
            if self.done(obj):
                self.satisfied.add(name)
            else:
                self.satisfied.discard(name)
        self.changed()

    async def run(self) -> None:
        """Follow the collection until cancelled (re-listing if the watch expires)."""
        while True:
            listing = await self.api.get(self.path)
            self.names.clear()
            self.satisfied.clear()
            for item in listing["items"]:
                self._update("ADDED", item)
            self.listed.set()
            version = listing["metadata"]["resourceVersion"]
            try:
                while True:
                    async for event in self.api.watch(self.path, version):
                        if event["type"] == "ERROR":
                            raise ApiError(int(event["object"].get("code", 500)), "watch")
                        version = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] != "BOOKMARK":
                            self._update(event["type"], event["object"])
            except (ApiError, aiohttp.ClientError, TimeoutError):
                continue  # expired or dropped: list again


class Until:
    """Wait for several collections to reach their target counts of satisfied objects at the
    same moment, timed from the watch event that completed it.

    Used as ``async with Until(...) as until: <apply>; finished = await until.wait(...)``:
    the trackers have listed before the body runs, so no event is missed and an already
    satisfied condition is not mistaken for a fast one."""

    def __init__(self, trackers: dict[str, tuple[Tracker, int]]) -> None:
        self.trackers = trackers
        #: when each tracker first reached its target (the milestones of a run)
        self.reached: dict[str, float] = {}
        self._finished: asyncio.Future[float] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _check(self) -> None:
        now = time.monotonic()
        for name, (tracker, target) in self.trackers.items():
            if name not in self.reached and len(tracker.satisfied) >= target:
                self.reached[name] = now
        if self._finished is None or self._finished.done():
            return
        if all(len(t.satisfied) >= target for t, target in self.trackers.values()):
            self._finished.set_result(now)

    async def __aenter__(self) -> Until:
        self._finished = asyncio.get_running_loop().create_future()
        self.reached = {}
        for tracker, _ in self.trackers.values():
            tracker.changed = self._check
        self._tasks = [asyncio.create_task(t.run()) for t, _ in self.trackers.values()]
        await asyncio.gather(*(t.listed.wait() for t, _ in self.trackers.values()))
        return self

    async def wait(self, timeout: float, what: str) -> float:
        """The monotonic time at which every target was met."""
        assert self._finished is not None
        self._check()
        try:
            return await asyncio.wait_for(asyncio.shield(self._finished), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"timed out after {timeout:.0f}s waiting for {what}: {self.progress()}"
            ) from None

    def counts(self) -> dict[str, str]:
        """How far each tracker got: ``"satisfied/target"``."""
        return {name: f"{len(t.satisfied)}/{target}" for name, (t, target) in self.trackers.items()}

    def progress(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.counts().items())

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
