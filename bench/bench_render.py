"""Render throughput: task definitions rendered per second on one core.

Renders every task definition of the golden inputs (tests/golden/*/input.json), already parsed,
with a Fargate and an EC2 context in turn, for a few seconds, and prints the rate. The target
is 2,000 task definitions per second: the operator re-renders on every reconcile.

    .venv/bin/python bench/bench_render.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from ecs_operator.api.shapes import RegisterTaskDefinitionRequest
from ecs_operator.convert import read_documents
from ecs_operator.render import Placement, RenderContext, render_pod_template

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
TARGET = 2000


def task_definitions() -> list[RegisterTaskDefinitionRequest]:
    """Every task definition in the golden inputs."""
    found: list[RegisterTaskDefinitionRequest] = []
    for path in sorted(GOLDEN.glob("*/input.json")):
        for doc in read_documents(json.loads(path.read_text())):
            if isinstance(doc.spec, RegisterTaskDefinitionRequest):
                found.append(doc.spec)
    return found


def measure(seconds: float) -> tuple[float, int]:
    """Task definitions rendered per second, and how many distinct ones were used."""
    tds = task_definitions()
    contexts = [
        RenderContext(cluster="prod", service="web", revision=7, placement=Placement.fargate()),
        RenderContext(
            cluster="prod", service="web", revision=7, placement=Placement.pool("general")
        ),
    ]
    work = itertools.cycle([(td, ctx) for td in tds for ctx in contexts])
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            td, ctx = next(work)
            render_pod_template(td, ctx)
        done += 100
    return done / (time.perf_counter() - start), len(tds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    rate, count = measure(parser.parse_args().seconds)
    verdict = "ok" if rate >= TARGET else f"below the {TARGET}/s target"
    print(f"{rate:.0f} task definitions/s ({count} golden task definitions, one core): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
