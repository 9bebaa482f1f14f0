"""A hostile namespace: does the operator's memory stay under the chart's limit?

A tenant who may write TaskDefinitions may create as many, as large, as the API server takes.
This starts a fresh devcluster and the operator (as the other benchmarks do) and, in one
namespace:

1. creates ``--count`` task definitions as large as ECS accepts (just under 64 KiB of JSON)
   and as costly as JSON gets in Python: thousands of short environment entries (a small dict
   and two strings each, about twelve times their JSON size) plus one long string; waits until
   every one has registered its revision (a ControllerRevision holding the spec again);
2. creates ``--oversize`` more, each ``--oversize-bytes`` of JSON (the schema lets them
   through, field by field), and waits until every one reports ``InvalidSpec``;
3. restarts the operator, which lists everything again, and waits until it has reconciled
   every task definition once.

It reports the operator's RSS (VmRSS) and peak (VmHWM) after each step against the chart's
memory limit (``charts/ecs-operator/values.yaml``). Not part of ``make bench`` or ``make
test``::

    .venv/bin/python -m bench.hostile                       # N = 1000 (about 20 minutes)
    .venv/bin/python -m bench.hostile --count 50 --oversize 20   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ecs_operator.api.size import TASK_DEFINITION_MAX_BYTES, json_bytes
from ecs_operator.kube.resources import TASK_DEFINITION
from ecs_operator_devtools.devcluster import binaries
from ecs_operator_devtools.devcluster.cluster import DevCluster

from .api import Api, Tracker, Until
from .env import fresh_devcluster, log
from .operator_process import OperatorProcess, Usage
from .workload import resource

NAMESPACE = "hostile"
#: where the chart's memory limit is (RSS is read in KiB from /proc and reported in MiB, as the
#: limit is)
VALUES = binaries.repo_root() / "charts/ecs-operator/values.yaml"
#: JSON bytes of a registrable task definition: as close under ECS's 64 KiB as entries allow
VALID_BYTES = TASK_DEFINITION_MAX_BYTES - 64
#: the share of a task definition's bytes in one long string (the rest: short entries)
LONG_STRING_SHARE = 0.1
CONTAINERS = 10
SETTLE_S = 5.0
LIMIT_S = 1800.0


def hostile_spec(family: str, size: int) -> dict[str, Any]:
    """A valid-looking EC2 task definition of about ``size`` bytes of compact JSON: ten
    containers sharing thousands of environment entries ``{"name": "E<n>", "value": "v"}``,
    and one long ``command`` string."""
    containers: list[dict[str, Any]] = [
        {"name": f"c{i}", "image": "busybox", "memory": 6, "environment": []}
        for i in range(CONTAINERS)
    ]
    containers[0]["command"] = ["x" * int(size * LONG_STRING_SHARE)]
    spec = {"family": family, "containerDefinitions": containers}
    used = len(json_bytes(spec))
    entry = 0
    while True:
        item = {"name": f"E{entry}", "value": "v"}
        cost = len(json_bytes(item)) + 1  # and a comma
        if used + cost > size:
            return spec
        containers[entry % CONTAINERS]["environment"].append(item)
        used += cost
        entry += 1


def task_definitions(prefix: str, count: int, size: int) -> list[dict[str, Any]]:
    """``count`` TaskDefinitions ``<prefix>-<i>`` of ``size`` bytes each."""
    return [
        resource("TaskDefinition", f"{prefix}-{i}", NAMESPACE, hostile_spec(f"{prefix}-{i}", size))
        for i in range(count)
    ]


def registered(body: dict[str, Any]) -> bool:
    return bool((body.get("status") or {}).get("revision"))


def refused(body: dict[str, Any]) -> bool:
    conditions = (body.get("status") or {}).get("conditions") or []
    return any(
        c.get("type") == "Valid" and c.get("status") == "False" and c.get("reason") == "InvalidSpec"
        for c in conditions
    )


def memory_limit_mib() -> int:
    """``resources.limits.memory`` of the chart's values (``512Mi``)."""
    found = re.search(r"limits:\s*\n(?:\s+\w+:.*\n)*?\s+memory:\s*(\d+)Mi", VALUES.read_text())
    if not found:
        raise ValueError(f"no memory limit in {VALUES}")
    return int(found.group(1))


def _reading(usage: Usage) -> dict[str, float]:
    return {"rss_mb": round(usage.rss_mb, 1), "peak_rss_mb": round(usage.peak_rss_mb, 1)}


async def _create(api: Api, bodies: list[dict[str, Any]], done: Any, what: str) -> float:
    """Create ``bodies`` (16 at a time) and wait until ``done`` holds for each; seconds."""
    tracker = Tracker(api, TASK_DEFINITION.path(NAMESPACE), done)
    started = time.monotonic()
    async with Until({what: (tracker, len(bodies))}) as until:
        path = TASK_DEFINITION.path(NAMESPACE)
        await asyncio.gather(*(api.request("POST", path, body) for body in bodies))
        finished = await until.wait(LIMIT_S, what)
    return finished - started


async def _phase(
    api: Api,
    operator: OperatorProcess,
    batch: tuple[str, int, int],
    done: Any,
    what: str,
) -> tuple[float, dict[str, float]]:
    """Create a ``batch`` of task definitions (name prefix, how many, bytes each), wait until
    ``done`` holds for each and the operator settles: seconds taken, and its memory then. The
    bodies are dropped before the reading (the bench's own memory is not measured, but the
    machine is shared)."""
    seconds = await _create(api, task_definitions(*batch), done, what)
    await asyncio.sleep(SETTLE_S)
    return round(seconds, 1), _reading(operator.usage())


async def _reconciled_once(operator: OperatorProcess, count: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < LIMIT_S:
        done = sum(v for k, v in operator.reconciles().items() if k.startswith("TaskDefinition "))
        if done >= count:
            return time.monotonic() - started
        await asyncio.sleep(1)
    raise TimeoutError(f"the restarted operator did not reconcile {count} task definitions")


async def _measure(
    cluster: DevCluster, count: int, oversize: int, oversize_bytes: int, logs: Path
) -> dict[str, Any]:
    api = Api(cluster)
    results: dict[str, Any] = {
        "count": count,
        "valid_bytes": len(json_bytes(hostile_spec("hostile-0", VALID_BYTES))),
        "environment_entries": sum(
            len(c["environment"])
            for c in hostile_spec("hostile-0", VALID_BYTES)["containerDefinitions"]
        ),
        "oversize": oversize,
        "oversize_bytes": len(json_bytes(hostile_spec("over-0", oversize_bytes))),
        "limit_mib": memory_limit_mib(),
    }
    operator = OperatorProcess(cluster, logs / "operator-hostile.log")
    try:
        await api.create_namespace(NAMESPACE)
        await asyncio.to_thread(operator.wait_started)
        await asyncio.sleep(SETTLE_S)
        results["empty"] = _reading(operator.usage())
        log(f"  operator started: {results['empty']}")

        results["register_s"], results["registered"] = await _phase(
            api, operator, ("hostile", count, VALID_BYTES), registered, "registered"
        )
        log(f"  {count} registered in {results['register_s']}s: {results['registered']}")

        if oversize:
            results["refuse_s"], results["refused"] = await _phase(
                api, operator, ("over", oversize, oversize_bytes), refused, "refused"
            )
            log(f"  {oversize} refused in {results['refuse_s']}s: {results['refused']}")
    except BaseException:
        log(f"operator log tail:\n{operator.tail()}")
        raise
    finally:
        operator.stop()

    restarted = OperatorProcess(cluster, logs / "operator-hostile-restart.log")
    try:
        results["restart_s"] = round(await asyncio.to_thread(restarted.wait_started, 600.0), 1)
        results["restart_reconcile_s"] = round(
            await _reconciled_once(restarted, count + oversize), 1
        )
        await asyncio.sleep(SETTLE_S)
        results["restarted"] = _reading(restarted.usage())
        log(f"  restarted in {results['restart_s']}s: {results['restarted']}")
    except BaseException:
        log(f"operator log tail:\n{restarted.tail()}")
        raise
    finally:
        restarted.stop()
        await api.close()
    steps = [results[k] for k in ("registered", "refused", "restarted") if k in results]
    results["peak_rss_mb"] = max(step["peak_rss_mb"] for step in steps)
    results["within_limit"] = results["peak_rss_mb"] < results["limit_mib"]
    return results


def table(results: dict[str, Any]) -> str:
    first = results.get("refused", results["registered"])
    rows = [
        ("task definitions registered", results["count"]),
        ("  JSON bytes each", results["valid_bytes"]),
        ("  environment entries each", results["environment_entries"]),
        ("task definitions over 64 KiB (refused)", results["oversize"]),
        ("  JSON bytes each", results["oversize_bytes"]),
        ("RSS, empty (MiB)", results["empty"]["rss_mb"]),
        ("RSS, all registered (MiB)", results["registered"]["rss_mb"]),
        ("RSS, all refused too (MiB)", results.get("refused", {}).get("rss_mb", "-")),
        ("RSS after a restart (MiB)", results["restarted"]["rss_mb"]),
        ("peak RSS, first operator (MiB)", first["peak_rss_mb"]),
        ("peak RSS, restarted operator (MiB)", results["restarted"]["peak_rss_mb"]),
        ("chart memory limit (MiB)", results["limit_mib"]),
        ("within the limit", results["within_limit"]),
    ]  # fmt: skip
    return "\n".join(f"| {name} | {value} |" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="registrable task definitions")
    parser.add_argument(
        "--oversize",
        type=int,
        default=200,
        help="task definitions over 64 KiB (1,000 of 128 KiB took the devcluster's API server "
        "past 8 GB: its memory, not the operator's, bounds this)",
    )
    parser.add_argument(
        "--oversize-bytes", type=int, default=2 * TASK_DEFINITION_MAX_BYTES, help="their JSON size"
    )
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the devcluster's state dir")
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="ecs-bench-hostile-"))
    log(f"hostile: {args.count} + {args.oversize} task definitions (logs in {logs})")
    with fresh_devcluster(0, keep=args.keep) as cluster:
        results = asyncio.run(
            _measure(cluster, args.count, args.oversize, args.oversize_bytes, logs)
        )
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
