"""The results: a table on stdout, ``latest.json`` and a plot in bench/results/, and the
numbers section of docs/benchmarks.md (between its ``results`` markers), so that the
published numbers are always the ones the last full run measured, never hand-copied.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from ecs_operator_devtools.devcluster import binaries

ROOT = binaries.repo_root()
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

#: The targets of the issue ("Prove it"), checked by :func:`verdicts`.
TARGETS = {
    "ratio": 1.25,
    "growth_exponent": 1.1,
    "writes_per_service": 4.0,
    "idle_writes": 0.0,
    "rss_mb": 200.0,
    "render_per_s": 2000.0,
}


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    total = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(total.group(1)) / 1024 / 1024, 1) if total else None,
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "python": platform.python_version(),
        "kubernetes": binaries.KUBE_VERSION,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_revision() -> str:
    """The commit measured, with ``+dirty`` when the tree had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "operator"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("+dirty" if dirty else "")


def growth_exponents(points: list[dict[str, Any]], key: str) -> list[float]:
    """log(t2/t1) / log(n2/n1) between consecutive sizes: 1 is linear, above 1 superlinear."""
    return [
        round(math.log(b[key] / a[key]) / math.log(b["n"] / a["n"]), 2)
        for a, b in itertools.pairwise(points)
    ]


def verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    """Each target met (True), missed (False) or not measured (None)."""
    points = results.get("convergence") or []
    exponents = results.get("growth_exponents", {}).get("operator") or []

    def at_most(value: Any, limit: float) -> bool | None:
        return None if value is None else bool(value <= limit)

    return {
        "ratio <= 1.25 at every N": (
            all(p["ratio"] <= TARGETS["ratio"] for p in points) if points else None
        ),
        "no superlinear growth": (
            all(e <= TARGETS["growth_exponent"] for e in exponents) if exponents else None
        ),
        "writes per Service <= 4": at_most(
            results.get("writes_per_service"), TARGETS["writes_per_service"]
        ),
        "0 idle writes": at_most(results.get("idle_writes"), TARGETS["idle_writes"]),
        "RSS <= 200 MB": at_most(results.get("rss_mb"), TARGETS["rss_mb"]),
        "render >= 2000/s": (
            None
            if results.get("render_per_s") is None
            else results["render_per_s"] >= TARGETS["render_per_s"]
        ),
    }


def _mark(ok: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "not measured"}[ok]


def table(results: dict[str, Any]) -> str:
    """The plain-text summary printed at the end of a run."""
    lines = ["", "convergence (seconds until every task runs and every Service is steady)"]
    lines.append(f"  {'N':>5} {'operator':>9} {'direct':>8} {'ratio':>6}  writes/Service")
    for p in results.get("convergence") or []:
        lines.append(
            f"  {p['n']:>5} {p['operator_s']:>9.1f} {p['direct_s']:>8.1f} {p['ratio']:>6.2f}"
            f"  {p['writes_per_service']:.2f}"
        )
    for p in results.get("convergence") or []:
        if p.get("direct_cpu_s"):
            lines.append(
                f"  N={p['n']}: CPU seconds, operator side {p['operator_side_cpu_s']['total']:.0f}"
                f" against direct {p['direct_cpu_s']['total']:.0f} (x{p['cpu_ratio']:.2f})"
            )
    growth = results.get("growth_exponents")
    if growth:
        lines.append(
            f"  growth exponents (1 = linear): operator {growth['operator']}, "
            f"direct {growth['direct']}"
        )
    rows = [
        ("writes per Service to converge", results.get("writes_per_service"), "<= 4"),
        ("writes in idle (converged)", results.get("idle_writes"), "0"),
        ("writes for one revision rolling 100", results.get("revision_rollout_writes"), "-"),
        ("operator RSS, 1,000 Services (MB)", results.get("rss_mb"), "<= 200"),
        ("render throughput (/s)", results.get("render_per_s"), ">= 2000"),
    ]
    lines.append("")
    for name, value, target in rows:
        shown = "-" if value is None else f"{value:g}"
        lines.append(f"  {name:<40} {shown:>10}   target {target}")
    lines.extend(_ecsapi_lines(results.get("ecsapi")))
    lines.extend(_task_metadata_lines(results.get("task_metadata")))
    lines.append("")
    for name, ok in verdicts(results).items():
        lines.append(f"  {_mark(ok):<13} {name}")
    return "\n".join(lines)


def _ecsapi_lines(found: dict[str, Any] | None) -> list[str]:
    """The ECS API lane: p50/p99 per call at its concurrency, a registration's cost against its
    family's size, and the load it ran under."""
    if not found:
        return []
    rows = [
        ("describe_services", f"DescribeServices ({found['services']} services)"),
        ("kubernetes_list_services", "the same read, Kubernetes LIST"),
        ("describe_tasks", "DescribeTasks (a standalone task)"),
        ("register_task_definition", "RegisterTaskDefinition"),
    ]
    lines = ["", f"ECS API, {found['clients']} concurrent clients (p50 / p99 ms)"]
    # (results before the lane timed DescribeTasks have none)
    lines.extend(_latency_line(found[key], name) for key, name in rows if key in found)
    if "revisions" in found:  # results before the lane timed a family's size have none
        large = found["revisions"]
        lines.append("ECS API, one client, a new image into a family of N revisions")
        lines.append(_latency_line(found["register_into_small_family"], "N = 1"))
        lines.append(_latency_line(found["register_into_large_family"], f"N = {large}"))
        size = found["large_family_status_bytes"]
        lines.append(f"  the TaskDefinition's status at N = {large}: {size:,} bytes")
    before, after = found["load_average"]
    lines.append(f"  load average {before} -> {after} on {found['cpus']} CPUs")
    return lines


def _task_metadata_lines(found: dict[str, Any] | None) -> list[str]:
    """The task metadata lane: p50/p99 of a task's read and of the same pod's GET."""
    if not found:
        return []
    before, after = found["load_average"]
    return [
        "",
        f"task metadata endpoint, {found['clients']} concurrent clients (p50 / p99 ms)",
        _latency_line(found["task_metadata_task"], f"…/task ({found['tasks']} tasks)"),
        _latency_line(found["kubernetes_get_pod"], "the same pods, Kubernetes GET"),
        f"  load average {before} -> {after} on {found['cpus']} CPUs",
    ]


def _latency_line(point: dict[str, Any], name: str) -> str:
    return f"  {name:<40} {point['p50_ms']:>8.1f} / {point['p99_ms']:<8.1f}"


def plot(results: dict[str, Any], path: Path) -> None:
    """Convergence time against N for both sides, and their ratio against the target; small
    (about 40 KB) so that it can be committed with the numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    points = results.get("convergence") or []
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    sizes = [p["n"] for p in points]
    left.plot(sizes, [p["operator_s"] for p in points], "o-", label="ECS Services (operator)")
    left.plot(sizes, [p["direct_s"] for p in points], "s--", label="Deployments applied directly")
    right.plot(sizes, [p["ratio"] for p in points], "o-", color="tab:red", label="operator/direct")
    stalled = [p for p in points if not p.get("converged", True)]
    if stalled:  # the operator's time is then its limit, and the ratio a lower bound
        left.plot(
            [p["n"] for p in stalled],
            [p["operator_s"] for p in stalled],
            "^",
            color="black",
            label="operator not converged (lower bound)",
        )
        right.plot([p["n"] for p in stalled], [p["ratio"] for p in stalled], "^", color="black")
    right.axhline(TARGETS["ratio"], color="gray", linestyle=":", label="target 1.25")
    left.set(xscale="log", yscale="log", xlabel="Services (2 tasks each)", ylabel="seconds")
    left.set_title("time to steady state", fontsize=10)
    right.set(xscale="log", xlabel="Services (2 tasks each)", ylabel="ratio", ylim=(0, None))
    right.set_title("overhead of the operator", fontsize=10)
    for axes in (left, right):
        axes.set_xticks(sizes)
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.legend(fontsize=8)
        axes.grid(True, which="both", alpha=0.3)
    left.yaxis.set_major_formatter(ScalarFormatter())
    left.yaxis.set_minor_formatter(NullFormatter())
    machine_info = results.get("machine") or {}
    figure.suptitle(
        f"ecs-operator {results.get('revision', '')}, {results.get('date', '')[:10]}, "
        f"{machine_info.get('nproc')} cores",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write(results: dict[str, Any], directory: Path, name: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / f"{name}.json"
    data.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    image = directory / f"{name}.png"
    if results.get("convergence"):
        plot(results, image)
    return data, image


def markdown(results: dict[str, Any]) -> str:
    """The numbers section of docs/benchmarks.md."""
    m = results["machine"]
    out = [
        f"Measured {results['date'][:16].replace('T', ' ')} UTC on commit "
        f"`{results['revision']}`, by `make bench` in {results['duration_s'] / 60:.0f} minutes: "
        f"{m['nproc']} cores ({m['cpu_model']}), {m['memory_gb']} GB, Python {m['python']}, "
        f"Kubernetes {m['kubernetes']} devcluster; load average at start "
        f"{m['load_average_at_start']} (the machine is shared).",
        "",
        "| Services | operator (s) | direct (s) | ratio (target ≤ 1.25) "
        "| CPU s, operator side / direct (ratio) | writes/Service |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in results.get("convergence") or []:
        cpu = "-"
        if p.get("direct_cpu_s"):
            cpu = (
                f"{p['operator_side_cpu_s']['total']:.1f} / {p['direct_cpu_s']['total']:.1f} "
                f"({p['cpu_ratio']:.2f})"
            )
        out.append(
            f"| {p['n']} | {p['operator_s']:.1f} | {p['direct_s']:.1f} | {p['ratio']:.2f} | "
            f"{cpu} | {p['writes_per_service']:.2f} |"
        )
    growth = results.get("growth_exponents") or {}
    footprint = results.get("footprint") or {}
    imports = footprint.get("imports") or {}
    converged = footprint.get("converged") or {}
    writes = results.get("writes") or {}
    converge = writes.get("converge") or {}
    services = writes.get("services", "N")
    idle = (writes.get("idle") or {}).get("seconds", "?")
    rolled = writes.get("rollout_services", "N")
    fleet = footprint.get("services", "N")
    rows: list[tuple[str, Any, str]] = [
        ("growth exponent of the operator's time (1 = linear)", growth.get("operator"), "≤ 1.1"),
        ("growth exponent of the direct time", growth.get("direct"), "-"),
        (f"writes per Service to converge {services}", results.get("writes_per_service"), "≤ 4"),
        (
            "  of which for the Service itself (status, workload, ServiceAccount, PDB)",
            converge.get("service_path_writes_per_service"),
            "-",
        ),
        ("events per Service (counted apart)", converge.get("events_per_service"), "-"),
        (
            f"writes in {idle:g} s idle, {services} Services converged",
            results.get("idle_writes"),
            "0",
        ),
        (
            f"writes for one TaskDefinition revision rolling {rolled} Services",
            results.get("revision_rollout_writes"),
            "-",
        ),
        (
            f"operator RSS, {fleet} Services + TaskDefinitions converged (MB)",
            results.get("rss_mb"),
            "≤ 200",
        ),
        ("operator peak RSS (VmHWM) (MB)", converged.get("peak_rss_mb"), "-"),
        (
            "operator RSS on an empty cluster (MB)",
            (footprint.get("empty") or {}).get("rss_mb"),
            "-",
        ),
        (
            "RSS of a process that only imports the operator's modules (MB)",
            imports.get("operator_modules_rss_mb"),
            "-",
        ),
        (
            "  the same with the official client blocked (MB)",
            imports.get("operator_modules_without_kubernetes_rss_mb"),
            "-",
        ),
        (
            "official `kubernetes` client imported by the operator process",
            imports.get("kubernetes_client_imported"),
            "no",
        ),
        (
            f"operator CPU idle, {fleet} Services converged (% of a core)",
            converged.get("idle_cpu_percent"),
            "-",
        ),
        (
            "render throughput (task definitions per CPU second)",
            results.get("render_per_s"),
            "≥ 2,000",
        ),
    ]
    out += ["", "| measure | value | target |", "| --- | ---: | ---: |"]
    for name, value, target in rows:
        out.append(f"| {name} | {'-' if value is None else value} | {target} |")
    out += ["", "| target | verdict |", "| --- | --- |"]
    out += [f"| {name} | {_mark(ok)} |" for name, ok in verdicts(results).items()]
    return "\n".join(out)


def update_docs(results: dict[str, Any]) -> bool:
    """Replace the numbers between the markers of docs/benchmarks.md; False if absent."""
    if not DOCS.exists():
        return False
    text = DOCS.read_text()
    if BEGIN not in text or END not in text:
        return False
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{BEGIN}\n{markdown(results)}\n{END}{tail}")
    return True
