"""Benchmark: how fast the template renders, and how fast a fresh render gets all-green.

    uv run python bench/bench_render.py [--runs 5] [--python 3.13]

Prints, from measurements taken in this run (nothing is hard-coded):

1. `python -c "import copier"` in a subprocess, the median of N runs;
2. `copier copy --defaults --trust --vcs-ref HEAD <this repo> <tmp>` through the CLI, the
   median of N runs, and its ratio to (1) (target: at most 1.5x);
3. on one fresh render with a warm uv cache, the time of each gate the slow tests run
   (tests/gates.py: the same commands and environment) and the total from `copier copy` to
   the last green gate (target: under 45 s).

The generated tests get a DATABASE_URL to a PostgreSQL cluster started for the benchmark
(tests/postgres.py); its start-up is reported on its own line, outside the total, as a
developer's server would already be running.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

from gates import (  # noqa: E402
    SYNC_GATE,
    GateResult,
    base_env,
    find_uv,
    project_gates,
    run_gate,
)
from postgres import postgres_cluster  # noqa: E402

IMPORT_TARGET = 1.5  # copier copy / import copier
TOTAL_TARGET = 45.0  # seconds, render to all gates green


def copier_env(home: Path) -> dict[str, str]:
    """The harness's isolation (tests/conftest.py): no user settings, a fixed git identity."""
    settings = home / "copier-settings.yml"
    settings.write_text("{}\n")
    gitconfig = home / "gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n")
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(
        COPIER_SETTINGS_PATH=str(settings),
        GIT_AUTHOR_NAME="Template Bench",
        GIT_AUTHOR_EMAIL="template-bench@example.com",
        GIT_COMMITTER_NAME="Template Bench",
        GIT_COMMITTER_EMAIL="template-bench@example.com",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return seconds


def copier_copy_argv(dst: Path, python_version: str) -> list[str]:
    copier = Path(sys.executable).parent / "copier"
    if not copier.exists():
        sys.exit(f"copier not found next to {sys.executable}: run with `uv run`")
    return [
        str(copier), "copy", "--defaults", "--trust", "--vcs-ref", "HEAD",
        "--data", f"python_version={python_version}", str(REPO_ROOT), str(dst),
    ]  # fmt: skip


def print_table(rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for index, row in enumerate(rows):
        print(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]}")
        if index == 0:
            print(f"  {'-' * widths[0]}  {'-' * widths[1]}  {'-' * widths[2]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions for the medians")
    parser.add_argument("--python", default="3.13", help="python_version answer (3.12, 3.13)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        env = copier_env(work)
        uv_version = subprocess.run(
            [str(find_uv()), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        print(
            f"machine: {os.cpu_count()} cores, {platform.platform()}; harness Python "
            f"{platform.python_version()}; {uv_version}; service Python {args.python}"
        )

        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            print(
                "note: PYTHONDONTWRITEBYTECODE is set: modules without a cached .pyc are "
                "compiled on every import, in every step below"
            )

        # 1 and 2: the bare import against the whole CLI render, alternating, same run,
        # after one untimed round (first-run costs: .pyc writing, git's caches).
        timed([sys.executable, "-c", "import copier"], env)
        timed(copier_copy_argv(work / "copy-warm-up", args.python), env)
        shutil.rmtree(work / "copy-warm-up")
        imports, copies = [], []
        for run in range(args.runs):
            imports.append(timed([sys.executable, "-c", "import copier"], env))
            copies.append(timed(copier_copy_argv(work / f"copy-{run}", args.python), env))
            shutil.rmtree(work / f"copy-{run}")
        import_s = statistics.median(imports)
        copy_s = statistics.median(copies)
        ratio = copy_s / import_s
        print(f"\nRender speed (median of {args.runs}):")
        print_table(
            [
                ("measure", "seconds", "runs"),
                ('python -c "import copier"', f"{import_s:.2f}", _runs(imports)),
                ("copier copy --defaults --trust", f"{copy_s:.2f}", _runs(copies)),
                ("ratio copy / import", f"{ratio:.2f}x", _verdict(ratio, IMPORT_TARGET, "x")),
            ]
        )

        # 3: a warm uv cache first (untimed), then one fresh render timed gate by gate.
        gate_env = base_env()
        warm = work / "warm-up"
        timed(copier_copy_argv(warm, args.python), env)
        warm_sync = run_gate(SYNC_GATE, warm, gate_env)
        if not warm_sync.ok:
            print(warm_sync.report())
            return 1
        shutil.rmtree(warm)

        started = time.perf_counter()
        with postgres_cluster() as cluster:
            cluster_s = time.perf_counter() - started
            database_url = cluster.create_database("bench")
            project = work / "svc"
            render_s = timed(copier_copy_argv(project, args.python), env)
            results: list[GateResult] = [run_gate(SYNC_GATE, project, gate_env)]
            if results[0].ok:
                gates = project_gates(project, database_url, work / "schema.yaml")
                results += [run_gate(gate, project, gate_env) for gate in gates]
        total = render_s + sum(result.seconds for result in results)
        green = all(result.ok for result in results) and len(results) > 1

        print(f"\nRender to all gates green (warm uv cache, {os.cpu_count()} cores):")
        rows = [("step", "seconds", "result"), ("copier copy", f"{render_s:.2f}", "ok")]
        rows += [
            (result.gate.name, f"{result.seconds:.2f}", "ok" if result.ok else "FAILED")
            for result in results
        ]
        verdict = _verdict(total, TOTAL_TARGET, " s") if green else "NOT all green"
        rows.append(("total", f"{total:.2f}", verdict))
        rows.append(("(PostgreSQL cluster start, not counted)", f"{cluster_s:.2f}", ""))
        print_table(rows)
        slowest = max(results, key=lambda result: result.seconds)
        print(
            f"\nslowest step: {slowest.gate.name} ({slowest.seconds:.2f} s, "
            f"{100 * slowest.seconds / total:.0f}% of the total)"
        )
        for result in results:
            if not result.ok:
                print("\n" + result.report())
        return 0 if green else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _runs(values: list[float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


def _verdict(value: float, target: float, unit: str) -> str:
    if value <= target:
        return f"meets target <= {target:g}{unit}"
    return f"MISSES target <= {target:g}{unit} by {value - target:.2f}{unit}"


if __name__ == "__main__":
    sys.exit(main())
