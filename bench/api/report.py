"""The report: software and machine, the load table, ratios, queries and SQL."""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import textwrap
from pathlib import Path

from .common import (
    LOAD_PAGE_SIZE,
    PAGE_SIZES,
    QUIET_CORES,
    TARGET_VS_LIMIT,
    TARGET_VS_NAIVE,
    run,
)
from .load import Measured

OBSERVABILITY = {
    "off": "off (not generated)",
    "on": "on, no OTLP endpoint (metrics only)",
    "export": "on, exporting spans over OTLP/HTTP to a sink on loopback",
}


def versions(service: Path) -> dict[str, str]:
    code = (
        "import sys, django, rest_framework, gunicorn, psycopg; print(sys.version.split()[0],"
        " django.__version__, rest_framework.__version__, gunicorn.__version__,"
        " psycopg.__version__)"
    )
    out = run([str(service / ".venv" / "bin" / "python"), "-c", code], what="versions")
    return dict(zip(["python", "django", "drf", "gunicorn", "psycopg"], out.split(), strict=True))


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "")
    return {
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "cpu": cpu or platform.machine(),
        "kernel": platform.release(),
    }


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def breakdown_rows(breakdown: dict[str, dict[str, float]]) -> list[str]:
    steps = list(dict.fromkeys(step for per in breakdown.values() for step in per))
    steps.sort(key=lambda step: step == "total in Django")  # the total last
    return [
        f"| {step} | "
        + " | ".join(f"{per.get(step, 0.0):.2f}" for per in breakdown.values())
        + " |"
        for step in steps
    ]


def paired_ratio(a: Measured, b: Measured, attr: str) -> float:
    """Median over rounds of a's figure / b's figure in the same round; NaN when no round
    has both figures (a run that served no request has neither req/s nor CPU per request)."""
    pairs = zip(a.rounds, b.rounds, strict=True)
    ratios = [
        getattr(x, attr) / getattr(y, attr)
        for x, y in pairs
        if getattr(x, attr) and getattr(y, attr)
    ]
    return statistics.median(ratios) if ratios else math.nan


def verdict(ratio: float, target: float) -> str:
    if math.isnan(ratio):
        return f"target >= {target:.1f}x: not measured (a run served no request)"
    if ratio >= target:
        return f"target >= {target:.1f}x: met"
    return f"target >= {target:.1f}x: MISSED by {target - ratio:.3f}x ({1 - ratio / target:.1%})"


def build_report(
    args: argparse.Namespace, setup: dict, measured: dict[str, Measured], meta: dict
) -> str:
    box, v, rows = meta["machine"], meta["versions"], setup["rows"]
    lines = [
        "",
        f"API benchmark: GET product list, page_size={LOAD_PAGE_SIZE}, session cookies of "
        f"{len(setup['session_keys'])} signed-in users in turn",
        f"template  {meta['template']}, default answers"
        + (f" but python_version={args.python}" if args.python else ""),
        f"machine   {box['nproc']} cores ({box['cpu']}), {box['memory']}, Linux {box['kernel']}",
        f"software  Python {v['python']}, Django {v['django']}, DRF {v['drf']}, gunicorn "
        f"{v['gunicorn']} (gthread, {args.workers} workers x {args.threads} threads, worker "
        f"recycling {'off' if args.no_recycle else 'as in gunicorn.conf.py'}), psycopg "
        f"{v['psycopg']}, PostgreSQL {meta['postgres']}, cache {args.cache}, database "
        f"connections {'pooled (psycopg pool)' if args.db_pool == 'on' else 'persistent'}, "
        f"observability {OBSERVABILITY[args.observability]}"
        + (f" ({meta['spans_exported']} spans received)" if "spans_exported" in meta else ""),
        f"load      {args.loader}, {args.connections} connections, {args.rounds} rounds x "
        f"{args.duration:g}s per endpoint after {args.warmup:g}s warm-up; medians of the rounds"
        + (
            f"; each run waited up to {args.wait_quiet:g}s for other processes to use < "
            f"{QUIET_CORES} cores"
            if args.wait_quiet
            else ""
        ),
        f"rows      {rows['users']} users, {rows['categories']} categories, {rows['products']} "
        f"products ({rows['published']} published, {rows['visible']} visible to the user), "
        f"{rows['reviews']} reviews",
        f"loadavg   {meta['loadavg_before']} before the load, {meta['loadavg_after']} after "
        "(other work on the machine shows here)",
        "",
        "| endpoint | req/s (median) | req/s (min-max) | p50 ms | p99 ms | server CPU "
        "ms/req | req/s the CPU cost allows | other processes (cores) | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in measured.items():
        rps = [r.rps for r in m.rounds]
        lines.append(
            f"| {name} | {m.median('rps'):.0f} | {min(rps):.0f}-{max(rps):.0f} | "
            f"{m.median('p50_ms'):.1f} | {m.median('p99_ms'):.1f} | {m.median('cpu_ms'):.2f} | "
            f"{m.median('capacity'):.0f} | {m.median('other_cores'):.2f} | "
            f"{sum(r.errors for r in m.rounds)} |"
        )
    counts = setup["counts"]
    constant = len({counts["example"][str(n)]["queries"] for n in PAGE_SIZES}) == 1
    lines += [
        "",
        "Ratios: each round runs the three endpoints back to back, so a ratio is taken within",
        "a round (the same background load) and the median over rounds is shown; the CPU",
        "ratio compares server CPU per request, which other work on the machine barely moves.",
        "",
    ]
    for other, target in (("naive", TARGET_VS_NAIVE), ("limit", TARGET_VS_LIMIT)):
        by_rps = paired_ratio(measured["example"], measured[other], "rps")
        by_cpu = 1 / paired_ratio(measured["example"], measured[other], "cpu_ms")  # NaN stays NaN
        lines.append(
            f"example / {other} = {by_rps:.3f}x by req/s ({verdict(by_rps, target)}); "
            f"{by_cpu:.3f}x by CPU per request ({verdict(by_cpu, target)})"
        )
    lines += [
        "",
        "Queries per request (the session and user lookups included), by rows per page:",
        "",
        "| endpoint | " + " | ".join(f"{n} rows" for n in PAGE_SIZES) + " |",
        "| --- |" + " ---: |" * len(PAGE_SIZES),
    ]
    for name, per_size in counts.items():
        cells = [
            str(c["queries"]) + ("" if c["rows"] == n else f" ({c['rows']} rows)")
            for n in PAGE_SIZES
            for c in [per_size[str(n)]]
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"example query count constant across page sizes: {'yes' if constant else 'NO'}",
        f"same rows on all three endpoints: {'yes' if setup['same_ids'] else 'NO'}; "
        f"example and naive bodies identical: {'yes' if setup['same_body'] else 'no'}",
        "",
        "example endpoint SQL at 25 rows:",
        *(f"  {i}. {textwrap.shorten(sql, 400)}" for i, sql in enumerate(setup["example_sql"], 1)),
        "",
        "database time of the example's list SQL (EXPLAIN ANALYZE, best of 5):",
        *(f"  {ms:8.2f} ms  {what}" for what, ms in setup["sql_times"].items()),
        "",
        "where a request's time goes (ms per request, in-process, one thread, test client;",
        "each step excludes the steps it calls):",
        "",
        "| step | " + " | ".join(setup["breakdown"]) + " |",
        "| --- |" + " ---: |" * len(setup["breakdown"]),
        *breakdown_rows(setup["breakdown"]),
        "",
        "plan of the list query (EXPLAIN ANALYZE):",
        *(f"  {line}" for line in setup["list_plan"]),
        "",
        f"total time {meta['seconds']}s",
    ]
    return "\n".join(lines)
