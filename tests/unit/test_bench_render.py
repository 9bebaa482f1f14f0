"""The render benchmark reads the golden inputs as ``convert`` does (each case with its flags),
so a new golden case cannot stop ``make bench`` at its first step."""

from __future__ import annotations

from bench import bench_render


def test_the_render_benchmark_renders_every_golden_task_definition() -> None:
    cases_with_flags = [
        p for p in bench_render.GOLDEN.glob("*/args") if "--parameter" in p.read_text()
    ]
    assert cases_with_flags, "no golden case needs its flags any more: this test checks nothing"
    tds = bench_render.task_definitions()
    _, _, distinct = bench_render.measure_both(0.05)
    assert distinct == len(tds) > 30
