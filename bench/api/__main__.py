"""Entry point: ``python -m bench.api`` (see the package docstring for what it does)."""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from . import __doc__ as PACKAGE_DOC
from .common import LOAD_PAGE_SIZE, QUIET_CORES, REPO_ROOT, free_port, log, run
from .endpoints import ENDPOINTS, check_endpoint, write_bench_files
from .load import Measured, cpu_snapshot, load_python, load_wrk, split_cpu, wait_until_quiet
from .otlp_sink import otlp_sink
from .render import find_uv, render_service, template_version, tool_env
from .report import build_report, loadavg, machine, versions
from .seeding import seed
from .services import gunicorn, postgres_cluster, redis_server


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api", description=(PACKAGE_DOC or "").split("\n\n")[0]
    )
    add = parser.add_argument
    add("--duration", type=float, default=10, help="seconds per measured run (default 10)")
    add("--warmup", type=float, default=3, help="seconds of warm-up per endpoint (default 3)")
    add("--rounds", type=int, default=5, help="measured runs per endpoint (default 5)")
    add("--connections", type=int, default=8, help="concurrent connections (default 8)")
    add("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    add("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    add("--no-recycle", action="store_true",
        help="turn off gunicorn.conf.py's max_requests worker recycling")  # fmt: skip
    add("--published", type=int, default=300, help="published products (default 300)")
    add("--drafts", type=int, default=40, help="drafts; half are the bench user's (default 40)")
    add("--users", type=int, default=40, help="users (default 40)")
    add("--categories", type=int, default=12, help="categories (default 12)")
    add("--max-reviews", type=int, default=8, help="reviews per product, 0..N (default 8)")
    add("--loader", choices=["auto", "wrk", "python"], default="auto",
        help="load generator: wrk when installed, else a threaded Python loader")  # fmt: skip
    add("--cache", choices=["auto", "redis", "locmem"], default="auto",
        help="the prod cache: a throwaway Redis when redis-server is installed")  # fmt: skip
    add("--committed", action="store_true",
        help="render HEAD (a clean clone) instead of the working tree")  # fmt: skip
    add("--wait-quiet", type=float, default=0, metavar="SECONDS",
        help="before each run, wait up to this long for other processes to go quiet "
        f"(< {QUIET_CORES} cores); for a shared machine (default 0: no wait)")  # fmt: skip
    add("--python", metavar="X.Y",
        help="the python_version answer (default: the template's default)")  # fmt: skip
    add("--db-pool", choices=["on", "off"], default="off",
        help="psycopg's connection pool, or persistent connections (off, the service's "
        "default under WSGI)")  # fmt: skip
    add("--observability", choices=["off", "on", "export"], default="on",
        help="the observability answer: off (not generated), on (the default: metrics, "
        "no tracer without an OTLP endpoint) or export (spans sent to an OTLP/HTTP sink "
        "on loopback)")  # fmt: skip
    add("--json", type=Path, help="also write the raw figures to this file")
    args = parser.parse_args()
    if args.loader == "auto":
        args.loader = "wrk" if shutil.which("wrk") else "python"
    if args.loader == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    if args.cache == "auto":
        args.cache = "redis" if shutil.which("redis-server") else "locmem"
    if args.cache == "redis" and not shutil.which("redis-server"):
        parser.error("redis-server is not installed (apt-get install redis-server)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.users < 2:
        parser.error("--users must be at least 2")
    return args


def main() -> int:
    args = parse_args()
    load = load_wrk if args.loader == "wrk" else load_python
    # SIGTERM unwinds like Ctrl-C, so every server started below is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    meta: dict[str, object] = {"template": template_version(args.committed)}

    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        service, home = tmp / "service", tmp / "home"
        home.mkdir()

        source = "HEAD of" if args.committed else "the working tree of"
        answers: dict[str, object] = {"python_version": args.python} if args.python else {}
        if args.observability == "off":
            answers["observability"] = False
        log(f"rendering {source} {REPO_ROOT} (default answers but {answers}) into {service}")
        render_service(service, home, committed=args.committed, answers=answers)
        env = tool_env()
        log("uv sync --locked")
        run([find_uv(), "sync", "--locked", "--quiet"], cwd=service, env=env, what="uv sync")
        write_bench_files(service)

        pg = stack.enter_context(postgres_cluster())
        server_pids = [pg.postmaster_pid]
        meta["postgres"] = pg.psql("SHOW server_version")
        log(f"PostgreSQL {meta['postgres']} on 127.0.0.1:{pg.port}")
        pg.psql("CREATE DATABASE bench")
        redis_url = "redis://127.0.0.1:1/0"  # required by the prod settings; unused by locmem
        if args.cache == "redis":
            redis_url, redis_pid = stack.enter_context(redis_server(tmp))
            server_pids.append(redis_pid)
            log(f"Redis on {redis_url}")

        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.bench",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DATABASE_URL=pg.url("bench"),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            REDIS_URL=redis_url,
            BENCH_CACHE=args.cache,
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_LOG_LEVEL="WARNING",
            PYTHONPATH=str(service / "src"),
            # The service's own switch (apps/core/database.py): psycopg's pool or persistent
            # connections (its WSGI default); the report names which one was measured.
            DJANGO_DB_POOL="true" if args.db_pool == "on" else "false",
            DJANGO_ADMIN_URL="bench-admin/",  # required by the prod settings
            # observability=true: the gunicorn master's metrics server, on loopback only.
            METRICS_BIND=f"127.0.0.1:{free_port()}",
        )
        sink = None
        if args.observability == "export":
            sink = stack.enter_context(otlp_sink())
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink.port}"
            log(f"OTLP/HTTP sink on 127.0.0.1:{sink.port}")
        python = str(service / ".venv" / "bin" / "python")
        log("migrate")
        run([python, "manage.py", "migrate", "--noinput"], cwd=service, env=env, what="migrate")
        log("seed, sign in, count queries")
        setup = seed(args, service=service, env=env, endpoints=ENDPOINTS)
        cookies = [f"{setup['session_cookie']}={key}" for key in setup["session_keys"]]

        base, gunicorn_pid = stack.enter_context(gunicorn(service, env, args))
        server_pids.append(gunicorn_pid)
        urls = {
            name: f"{base}{path}?page_size={LOAD_PAGE_SIZE}" for name, path in ENDPOINTS.items()
        }
        for name, url in urls.items():  # fail early: every endpoint answers 200 over HTTP
            check_endpoint(name, url, cookies[0])

        log(
            f"loading with {args.loader}: {args.connections} connections, warm-up "
            f"{args.warmup:g}s, {args.rounds} x {args.duration:g}s per endpoint"
        )
        meta["loadavg_before"] = loadavg()
        for url in urls.values():
            load(url, cookies, args.connections, args.warmup)
        measured = {name: Measured() for name in urls}
        names = list(urls)
        for round_no in range(args.rounds):
            shift = round_no % len(names)  # rotate: no endpoint always runs first or last
            for name in names[shift:] + names[:shift]:
                if args.wait_quiet:
                    wait_until_quiet(server_pids, args.wait_quiet)
                before = cpu_snapshot(server_pids)
                result = load(urls[name], cookies, args.connections, args.duration)
                servers, _, other = split_cpu(server_pids, before)
                result.cpu_ms = servers * 1000 / result.requests if result.requests else 0.0
                result.other_cores = other / result.seconds
                measured[name].rounds.append(result)
                log(
                    f"round {round_no + 1} {name}: {result.rps:.0f} req/s, p50 "
                    f"{result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, server CPU "
                    f"{result.cpu_ms:.1f} ms/request, other processes {result.other_cores:.2f} "
                    f"cores, errors {result.errors}"
                )
        meta["loadavg_after"] = loadavg()
        if sink is not None:
            served = sum(r.requests for m in measured.values() for r in m.rounds)
            meta["spans_exported"] = sink.spans
            log(f"spans received by the sink: {sink.spans} in {sink.exports} exports "
                f"({served} measured requests, plus warm-up and checks)")  # fmt: skip
        meta["versions"] = versions(service)
    # Here gunicorn, Redis and PostgreSQL are stopped and the temporary files removed.
    meta["seconds"] = round(time.monotonic() - started)
    meta["machine"] = machine()

    print(build_report(args, setup, measured, meta))
    if args.json:
        setup.pop("session_keys")
        load_rounds = {name: [vars(r) for r in m.rounds] for name, m in measured.items()}
        args_out = {k: str(v) for k, v in vars(args).items()}
        figures = {"args": args_out, "meta": meta, "setup": setup, "load": load_rounds}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if any(r.errors for m in measured.values() for r in m.rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
