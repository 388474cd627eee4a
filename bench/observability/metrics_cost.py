"""CPU the metrics add to one request of the example list when no OTLP endpoint is set.

With observability on and no endpoint, a request pays for the metrics only (no tracer is
installed): one request observation, one per query (the example list makes 4) and one per
cache call (the throttle's get and set), all in prometheus_client's multiprocess mode as
under gunicorn. This times exactly those calls against the same loop without them.

Run inside a rendered service (observability=true), from its directory:

    PYTHONPATH=src DATABASE_URL=... uv run python REPO/bench/observability/metrics_cost.py
"""

import os
import tempfile
import time

os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-cost-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from apps.core import metrics  # noqa: E402

QUERIES, CACHE_CALLS, N, REPEATS = 4, ("get", "set"), 20000, 3


class Connection:
    alias = "default"


CONTEXT = {"connection": Connection()}


def execute(sql: str, params: object, many: bool, context: object) -> None:
    return None


def with_metrics() -> None:
    started = time.perf_counter()
    for _ in range(QUERIES):
        metrics._time_query(execute, "SELECT 1", (), False, CONTEXT)
    for operation in CACHE_CALLS:
        with metrics._cache_timer(operation):
            pass
    metrics.REQUEST_DURATION.labels(
        method="GET", route="api/v1/catalog/products/", status="200"
    ).observe(time.perf_counter() - started)


def without() -> None:
    started = time.perf_counter()
    for _ in range(QUERIES):
        execute("SELECT 1", (), False, CONTEXT)
    time.perf_counter() - started


best: dict[str, float] = {}
for _ in range(REPEATS):
    for name, function in (("without", without), ("with", with_metrics)):
        started = time.process_time()
        for _ in range(N):
            function()
        per_call = (time.process_time() - started) / N * 1e6
        best[name] = min(best.get(name, per_call), per_call)
print(
    f"metrics add {best['with'] - best['without']:.1f} us of CPU per request "
    f"(best of {REPEATS} x {N}; {QUERIES} queries, {len(CACHE_CALLS)} cache calls)"
)
