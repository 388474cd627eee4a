"""Benchmark: the product list through a load balancer in front of two instances.

    uv run python bench/bench_multi_instance.py [--concurrency 32] [--seconds 30] [--python 3.13]

The setup of tests/test_multi_instance.py (tests/multi_instance.py): one render with the
default answers, prod settings, two gunicorn instances (2 gthread workers x 4 threads each,
as deploy/k8s's ConfigMap) behind HAProxy on loopback, one PostgreSQL, one Redis; 30
published products, 40 users (the `user` throttle rate is per user, so the load is spread
over their JWT access tokens and none reaches it).

After a 5 s warm-up, ``--concurrency`` client threads send GET /api/v1/catalog/products/
through the balancer for ``--seconds``, each on its own keep-alive connection, without
pause. Prints the requests, errors (goal 0: any status but 200 or no answer), requests per
second, p50 and p99 latency, and the machine's load average, all measured in this run. The
client runs on the same machine as the servers and takes part of its CPU: compare figures
from one machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

from gates import SYNC_GATE, base_env, run_gate  # noqa: E402
from multi_instance import (  # noqa: E402
    PRODUCT_LIST,
    Instance,
    Loader,
    balanced,
    load_headers,
    manage,
    seed,
)
from postgres import postgres_cluster  # noqa: E402
from production_services import prod_env, redis_server  # noqa: E402


def render_service(directory: Path, python: str) -> Path:
    from copier import run_copy

    project = directory / "svc"
    run_copy(
        str(REPO_ROOT), str(project), data={"python_version": python}, defaults=True,
        unsafe=True, quiet=True, vcs_ref="HEAD",
    )  # fmt: skip
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        raise SystemExit(synced.report())
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--python", default="3.13")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-multi-"))
    try:
        project = render_service(workdir, args.python)
        with postgres_cluster() as cluster, redis_server() as redis_url:
            env = prod_env(
                project, base_env(), cluster.create_database("bench_multi"),
                REDIS_URL=redis_url, DJANGO_TRUSTED_PROXIES="1",
            )  # fmt: skip
            manage(project, env, "migrate", "--noinput")
            seed(project, env)
            headers = load_headers(project, env)
            instances = [
                Instance(name, project, env, workdir / f"gunicorn-{name}.log")
                for name in ("a", "b")
            ]
            with balanced(instances, workdir) as haproxy:
                with Loader(haproxy.lb_port, PRODUCT_LIST, headers, args.concurrency):
                    time.sleep(5)  # warm-up: connections, caches, the workers' imports
                loader = Loader(haproxy.lb_port, PRODUCT_LIST, headers, args.concurrency)
                with loader:
                    started = time.monotonic()
                    time.sleep(args.seconds)
                seconds = time.monotonic() - started
                summary = loader.summary(seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "endpoint": f"GET {PRODUCT_LIST} (JWT, 30 products, page 1)",
        "setup": "HAProxy -> 2 gunicorn instances x 2 gthread workers x 4 threads, prod settings",
        "concurrency": args.concurrency,
        "seconds": round(seconds, 1),
        **summary,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, indent=2))
    for failure in loader.failures[:10]:
        print("failure:", failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
