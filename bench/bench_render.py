"""Render throughput: task definitions rendered per second on one core.

Renders every task definition of the golden inputs (tests/golden/*/input.json), already parsed,
with a Fargate and an EC2 context in turn, for a few seconds of CPU time, and prints the rate
per CPU second (and per wall-clock second, lower on a busy machine). The target
is 2,000 task definitions per second: the operator re-renders on every reconcile.

    .venv/bin/python bench/bench_render.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import time
from pathlib import Path

from ecs_operator.api.shapes import RegisterTaskDefinitionRequest
from ecs_operator.convert import read_documents
from ecs_operator.convert.command import configure, inputs_of
from ecs_operator.render import Placement, RenderContext, render_pod_template

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
TARGET = 2000
#: completes a task role given by name (as ``run --account-id`` does), as some inputs need
ACCOUNT_ID = "123456789012"


def task_definitions() -> list[RegisterTaskDefinitionRequest]:
    """Every task definition in the golden inputs, read with their case's ``convert`` flags
    (a template's ``--parameter`` values)."""
    parser = argparse.ArgumentParser()
    configure(parser)
    found: list[RegisterTaskDefinitionRequest] = []
    for path in sorted(GOLDEN.glob("*/input.json")):
        flags = path.with_name("args")
        argv = shlex.split(flags.read_text()) if flags.exists() else []
        inputs = inputs_of(parser.parse_args([*argv, str(path)]))
        for doc in read_documents(json.loads(path.read_text()), inputs):
            if isinstance(doc.spec, RegisterTaskDefinitionRequest):
                found.append(doc.spec)
    return found


def measure(seconds: float) -> tuple[float, int]:
    """Task definitions rendered per second of CPU time, and how many distinct ones were used.

    CPU time (``process_time``), not wall time: on a shared machine the wall-clock rate
    measures the scheduler's share of a core, not the renderer; both are in
    :func:`measure_both`."""
    cpu_rate, _, count = measure_both(seconds)
    return cpu_rate, count


def measure_both(seconds: float) -> tuple[float, float, int]:
    """(per CPU second, per wall second, distinct task definitions), rendering for about
    ``seconds`` of CPU time."""
    tds = task_definitions()
    contexts = [
        RenderContext(
            cluster="prod", service="web", revision=7, account_id=ACCOUNT_ID, placement=placement
        )
        for placement in (Placement.fargate(), Placement.pool("general"))
    ]
    work = itertools.cycle([(td, ctx) for td in tds for ctx in contexts])
    done = 0
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    deadline = cpu_start + seconds
    while time.process_time() < deadline:
        for _ in range(100):
            td, ctx = next(work)
            render_pod_template(td, ctx)
        done += 100
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start
    return done / cpu, done / wall, len(tds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    rate, wall_rate, count = measure_both(parser.parse_args().seconds)
    verdict = "ok" if rate >= TARGET else f"below the {TARGET}/s target"
    print(
        f"{rate:.0f} task definitions per CPU second ({wall_rate:.0f} per wall-clock second; "
        f"{count} golden task definitions, one core): {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
