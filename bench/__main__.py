"""`make bench` (``python -m bench``): every benchmark, each on a fresh devcluster, then the
table, bench/results/latest.json, the plot and the numbers in docs/benchmarks.md.

    .venv/bin/python -m bench                 # the full run (20-40 minutes on 2 cores)
    .venv/bin/python -m bench --quick         # a smoke test of the whole pipeline (~5 min)
    .venv/bin/python -m bench --only convergence --sizes 10,100

The operator's logs (and py-spy profiles with ``--profile``) go to a temporary directory
printed at the end; so do the results of quick, partial (``--only``) and experimental runs:
only a full run as designed replaces bench/results/latest.* and the numbers in the docs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import (
    bench_render,
    convergence,
    ecsapi,
    footprint,
    operator_process,
    report,
    task_metadata,
    writes,
)
from .env import log

BENCHMARKS = ("convergence", "writes", "footprint", "render", "ecsapi", "metadata")
RESULTS = Path(__file__).resolve().parent / "results"


def _sizes(text: str) -> list[int]:
    return sorted({int(part) for part in text.split(",") if part.strip()})


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke test, not a measurement"
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {BENCHMARKS}"
    )
    parser.add_argument("--sizes", type=_sizes, default=None, help="convergence sizes N")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per side and N (default: 3 for N <= 10, 2 for N <= 100, else 1)",
    )
    parser.add_argument("--writes-services", type=int, default=None)
    parser.add_argument("--rollout-services", type=int, default=None)
    parser.add_argument("--footprint-services", type=int, default=None)
    parser.add_argument("--idle", type=float, default=None, help="idle window, seconds")
    parser.add_argument(
        "--api-calls", type=int, default=None, help="ECS API calls per client and operation"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the devclusters' state dirs")
    parser.add_argument(
        "--profile", metavar="PY_SPY", default=None, help="sample the operator with this py-spy"
    )
    parser.add_argument(
        "--task-roles",
        action="store_true",
        help="a task role (so a ServiceAccount) per Service instead of one shared (experiment)",
    )
    parser.add_argument(
        "--operator-args",
        default="",
        help='extra `ecs-operator run` arguments, e.g. "--workers 32" (experiments)',
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults: dict[str, Any] = {
        "sizes": [10, 50] if quick else [10, 100, 500],
        "writes_services": 50 if quick else 500,
        "rollout_services": 20 if quick else 100,
        "footprint_services": 100 if quick else 1000,
        "idle": 10.0 if quick else 60.0,
        "api_calls": 5 if quick else 25,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    return args


def repeats_for(n: int, override: int | None, quick: bool) -> int:
    """Small runs are short and noisy: repeat them (the median is kept)."""
    if override is not None:
        return override
    if quick:
        return 1
    return 3 if n <= 10 else 2 if n <= 100 else 1


def run_kind(args: argparse.Namespace) -> str:
    """``latest`` for a full run of every benchmark as designed; else what it was."""
    if args.quick:
        return "quick"
    if args.operator_args or args.task_roles:
        return "experiment"
    if set(args.only) != set(BENCHMARKS):
        return "partial"
    return "latest"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    operator_process.OPERATOR_ARGS[:] = shlex.split(args.operator_args)
    kind = run_kind(args)
    started = time.monotonic()
    logs = Path(tempfile.mkdtemp(prefix="ecs-bench-logs-"))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": report.git_revision(),
        "machine": report.machine(),
        "quick": args.quick,
        "operator_args": operator_process.OPERATOR_ARGS,
        "task_roles": args.task_roles,
        "targets": report.TARGETS,
    }
    try:
        if "render" in args.only:
            rate, count = bench_render.measure(1.0 if args.quick else 3.0)
            results["render_per_s"] = round(rate)
            results["render_task_definitions"] = count
            log(f"render: {rate:.0f} task definitions/s")
        if "convergence" in args.only:
            repeats = {n: repeats_for(n, args.repeats, args.quick) for n in args.sizes}
            points = convergence.run(
                args.sizes, repeats, logs, args.keep, args.profile, args.task_roles
            )
            results["convergence"] = points
            results["growth_exponents"] = {
                "operator": report.growth_exponents(points, "operator_s"),
                "direct": report.growth_exponents(points, "direct_s"),
            }
        if "writes" in args.only:
            found = writes.run(
                args.writes_services,
                args.rollout_services,
                args.idle,
                logs,
                args.keep,
                args.task_roles,
            )
            results["writes"] = found
            results["writes_per_service"] = found["converge"]["writes_per_service"]
            results["idle_writes"] = found["idle"]["writes"]
            results["revision_rollout_writes"] = found["rollout"]["writes"]
        if "footprint" in args.only:
            found = footprint.run(
                args.footprint_services, args.idle, logs, args.keep, args.task_roles
            )
            results["footprint"] = found
            results["rss_mb"] = found["converged"]["rss_mb"]
        if "ecsapi" in args.only:
            found = ecsapi.run(args.api_calls, logs, args.keep)
            results["ecsapi"] = found
            log(f"ecsapi: {found}")
        if "metadata" in args.only:
            found = task_metadata.run(args.api_calls, logs, args.keep)
            results["task_metadata"] = found
            log(f"task metadata: {found}")
    finally:
        results["duration_s"] = round(time.monotonic() - started)
        # only a full, unmodified run replaces bench/results/latest.*; the others go with the
        # logs unless --output says otherwise
        directory = args.output if kind == "latest" or args.output != RESULTS else logs
        data, image = report.write(results, directory, kind)
        log(f"wrote {data} and {image}; operator logs in {logs}")
    print(report.table(results))
    if kind == "latest" and report.update_docs(results):
        log(f"updated the numbers in {report.DOCS}")
    print(f"\nmake bench took {results['duration_s'] / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
