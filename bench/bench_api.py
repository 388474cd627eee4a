"""API benchmark: the example app's product list against a naive DRF endpoint and a bare view.

Run from the template repository (about four minutes with the defaults):

    uv run python bench/bench_api.py               # the working tree, uncommitted changes too
    uv run python bench/bench_api.py --committed   # HEAD, from a clean clone
    uv run python bench/bench_api.py --help        # durations, rows, loader, cache

Needs PostgreSQL 15+ server binaries; uses ``wrk`` and ``redis-server`` when installed
(``apt-get install wrk redis-server``), else a Python loader and the local-memory cache.

What it does, all on this machine and on loopback only:

1. renders a service with every default answer (the working tree, uncommitted changes
   included) into a temporary directory and runs ``uv sync --locked`` in it;
2. starts a throwaway PostgreSQL cluster (as the ``postgres`` OS user when run as root) and,
   when ``redis-server`` is installed, a throwaway Redis for the prod cache and throttle;
3. writes three bench-only files into the render (never into the template): a settings
   module on top of ``config.settings.prod``, the two comparison endpoints, and a setup
   script; migrates and seeds users, categories, published products and their reviews;
4. measures queries per request at 1, 25 and 100 rows per page with Django's test client and
   ``CaptureQueriesContext``, checks the three endpoints return the same rows, and times
   the example's SQL (``EXPLAIN ANALYZE``) and the steps of a
   request in-process;
5. serves the render with gunicorn (gthread, the render's own gunicorn.conf.py) on
   127.0.0.1, loads each endpoint with ``page_size=25`` for a fixed time with a bounded
   number of connections (``wrk`` when installed, else a small threaded Python loader), in
   rounds that rotate the order, and prints req/s, p50, p99 and the servers' CPU time per
   request (from /proc: a figure that other work on the machine barely moves);
6. stops gunicorn, Redis and PostgreSQL by the pids it started, and deletes the temp files.

The three endpoints serve the same rows to the same signed-in users:

- example: ``GET /api/v1/catalog/products/``, the catalog app as rendered (selector with
  ``select_related`` and review stats annotated in the database, list serializer, paginator,
  filter and ordering backends, throttle).
- naive: a ``ModelViewSet`` + ``ModelSerializer`` with the same response shape but no eager
  loading: the owner and category are read per row, the review stats are two queries per row
  (``obj.reviews.count()``, ``obj.reviews.aggregate(Avg(...))``), as many projects ship.
- limit: a plain Django view returning ``list(queryset.values(...)[:page_size])`` as JSON,
  same filter, same annotations, no DRF, no count query: the practical limit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import pwd
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZES = (1, 25, 100)
LOAD_PAGE_SIZE = 25
TARGET_VS_NAIVE = 1.0
TARGET_VS_LIMIT = 0.6
QUIET_CORES = 0.25  # --wait-quiet: other processes' CPU use below which the machine is quiet
# pyenv's shims re-resolve the interpreter on every call and confuse uv; use the real one.
PYENV_PYTHON_BIN = Path("/root/.pyenv/versions/3.13.0/bin")

ENDPOINTS = {
    "example": "/api/v1/catalog/products/",
    "naive": "/bench/naive/products/",
    "limit": "/bench/limit/products/",
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    what: str = "",
    timeout: float = 900,
) -> str:
    """Run a command to completion; on failure raise with its output."""
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    if result.returncode:
        raise RuntimeError(
            f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return result.stdout


def stop_process(proc: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    """SIGTERM the process we started, then SIGKILL its own process group if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing its process group")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own group: started with a new session
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- render + deps


def tool_env() -> dict[str, str]:
    """Environment for uv and the render's interpreter: real python first, no foreign venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    path = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if "pyenv/shims" not in p]
    if PYENV_PYTHON_BIN.is_dir():
        path.insert(0, str(PYENV_PYTHON_BIN))
    env["PATH"] = os.pathsep.join(path)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def find_uv() -> str:
    beside = Path(sys.executable).parent / "uv"  # /work/main/.venv/bin/uv under `uv run`
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise RuntimeError("uv not found beside the interpreter nor on PATH")
    return found


def render_service(dst: Path, home: Path, *, committed: bool) -> None:
    """Render with default answers, in-process, isolated from the user's Copier and git setup.

    The source is the working tree (uncommitted changes included), or with ``committed`` a
    fresh clone of HEAD: a fixed snapshot while others edit the tree.
    """
    settings = home / "copier-settings.yml"
    settings.write_text("{}\n")
    (home / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    os.environ.update(
        COPIER_SETTINGS_PATH=str(settings),
        GIT_AUTHOR_NAME="API Bench",
        GIT_AUTHOR_EMAIL="api-bench@example.com",
        GIT_COMMITTER_NAME="API Bench",
        GIT_COMMITTER_EMAIL="api-bench@example.com",
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
    )
    source = REPO_ROOT
    if committed:
        source = home / "template"
        run(["git", "clone", "--quiet", str(REPO_ROOT), str(source)], what="git clone")
    from copier import run_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DirtyLocalWarning: the working tree is the point
        run_copy(str(source), str(dst), defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Postgres:
    bindir: Path
    root: Path
    port: int
    user: str
    password: str
    run_as: str | None

    @property
    def postmaster_pid(self) -> int:
        return int((self.root / "data" / "postmaster.pid").read_text().splitlines()[0])

    def url(self, database: str) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        env = {**os.environ, "PGPASSWORD": self.password}
        return run(
            [str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
             "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
            env=env, what="psql",
        ).strip()  # fmt: skip


def find_pg_bindir() -> Path:
    candidates = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found: install 15+")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """initdb + pg_ctl start on 127.0.0.1 in a temp dir; always pg_ctl stop and delete it."""
    bindir = find_pg_bindir()
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    pg = Postgres(bindir, root, free_port(), "bench", secrets.token_urlsafe(18), run_as)

    def as_server(argv: list[str]) -> list[str]:
        return ["runuser", "-u", run_as, "--", *argv] if run_as else argv

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    pid_file = root / "data" / "postmaster.pid"
    try:
        pwfile = root / "pwfile"
        pwfile.write_text(pg.password + "\n")
        (root / "socket").mkdir()
        if run_as:
            server_user = pwd.getpwnam(run_as)
            for path in (root, root / "socket", pwfile):
                os.chown(path, server_user.pw_uid, server_user.pw_gid)
        run(as_server([str(bindir / "initdb"), "-D", str(root / "data"), "-U", pg.user,
                       f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync"]), env=env, what="initdb")  # fmt: skip
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {pg.port} -c unix_socket_directories={root}/socket"
            # A throwaway cluster: durability only slows the seeding; reads are unaffected.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(as_server([str(bindir / "pg_ctl"), "start", "-D", str(root / "data"), "-w", "-t",
                       "60", "-l", str(root / "server.log"), "-o", options]),
            env=env, what="pg_ctl start")  # fmt: skip
        yield pg
    finally:
        if pid_file.exists():  # also after a start that timed out half-way
            try:
                stop = [str(bindir / "pg_ctl"), "stop", "-D", str(root / "data"), "-m", "fast"]
                run(as_server([*stop, "-w", "-t", "30"]), env=env, what="pg_ctl stop")
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                log(f"pg_ctl stop failed ({error}); SIGQUIT to the postmaster")
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGQUIT)
                    time.sleep(2)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """A throwaway Redis on 127.0.0.1, no persistence; stopped by its pid on exit."""
    port = free_port()
    binary = shutil.which("redis-server")
    assert binary
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        stop_process(proc, "redis-server")


# --------------------------------------------------------------------------- bench-only files

BENCH_SETTINGS = '''\
"""Bench only: the production settings on loopback, with the bench endpoints mounted."""

from config.settings.prod import *  # noqa: F403
from config.settings.prod import env

ROOT_URLCONF = "bench_urls"

# The throttle rates stay as shipped: the load is spread over every seeded user's session,
# so no user reaches its rate (a 429 would show as an error in the report).

if env.str("BENCH_CACHE", default="redis") == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
'''

BENCH_ENDPOINTS = '''\
"""Bench only: the two comparison endpoints for the product list."""

from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Avg, Q
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.routers import DefaultRouter

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Category, Product
from config.urls import urlpatterns as service_urlpatterns


class NaiveCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class NaiveProductSerializer(serializers.ModelSerializer):
    """The same shape as the example's list serializer, written the common way."""

    owner = serializers.EmailField(source="owner.email", read_only=True)
    category = NaiveCategorySerializer(read_only=True)
    review_count = serializers.SerializerMethodField()
    average_rating = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "price", "status", "owner", "category",
                  "review_count", "average_rating", "published_at"]

    def get_review_count(self, obj: Product) -> int:
        return obj.reviews.count()

    def get_average_rating(self, obj: Product) -> str | None:
        average = obj.reviews.aggregate(value=Avg("rating"))["value"]
        return None if average is None else str(Decimal(average).quantize(Decimal("0.01")))


class NaiveProductViewSet(viewsets.ModelViewSet):
    """Default permission, pagination, filter backends and throttles from REST_FRAMEWORK."""

    serializer_class = NaiveProductSerializer

    def get_queryset(self) -> Any:
        user = self.request.user
        return Product.objects.filter(Q(status=ProductStatus.PUBLISHED) | Q(owner=user))


LIMIT_FIELDS = ("id", "name", "slug", "price", "status", "owner__email", "category_id",
                "category__name", "category__slug", "review_count", "average_rating",
                "published_at")


def limit_products(request: HttpRequest) -> JsonResponse:
    """The same rows and data in one query, no DRF: what the hardware allows."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "not authenticated"}, status=401)
    try:
        size = min(max(int(request.GET.get("page_size", "25")), 1), 100)
    except ValueError:
        size = 25
    rows = list(
        Product.objects.visible_to(request.user)
        .with_review_stats()
        .order_by("-created_at", "-id")
        .values(*LIMIT_FIELDS)[:size]
    )
    return JsonResponse({"results": rows}, encoder=DjangoJSONEncoder)


router = DefaultRouter()
router.register("products", NaiveProductViewSet, basename="bench-naive-product")

urlpatterns = [
    *service_urlpatterns,
    path("bench/naive/", include(router.urls)),
    path("bench/limit/products/", limit_products),
]
'''

BENCH_SETUP = '''\
"""Bench only: seed the database, sign the bench user in, count queries per request."""

import json
import random
import sys
from datetime import timedelta
from decimal import Decimal

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.catalog.choices import ProductStatus  # noqa: E402
from apps.catalog.models import Category, Product, Review  # noqa: E402
from apps.catalog import selectors  # noqa: E402
from apps.users.models import User  # noqa: E402

params = json.loads(sys.argv[1])
rng = random.Random(params["seed"])
now = timezone.now()

# -- seed ---------------------------------------------------------------------------------
password = make_password(None)  # unusable: the bench signs in with force_login
users = User.objects.bulk_create(
    [User(email=f"user{i}@bench.example", password=password) for i in range(params["users"])]
)
bench_user = users[0]
categories = Category.objects.bulk_create(
    [Category(name=f"Category {i}", slug=f"category-{i}") for i in range(params["categories"])]
)
products = []
for i in range(params["published"]):
    at = now - timedelta(minutes=7 * i)
    products.append(Product(
        owner=rng.choice(users[1:]), category=rng.choice(categories), name=f"Product {i}",
        slug=f"product-{i}", description="A product. " * rng.randint(1, 30),
        price=Decimal(rng.randint(100, 99999)) / 100, status=ProductStatus.PUBLISHED,
        published_at=at, created_at=at,
    ))
# Drafts: the bench user's own ones are in its list, everyone else's are not.
for i in range(params["drafts"]):
    at = now - timedelta(minutes=7 * i + 3)
    owner = bench_user if i % 2 == 0 else rng.choice(users[1:])
    products.append(Product(
        owner=owner, category=rng.choice(categories), name=f"Draft {i}", slug=f"draft-{i}",
        price=Decimal("9.99"), status=ProductStatus.DRAFT, created_at=at,
    ))
products = Product.objects.bulk_create(products)
reviews = []
for product in products:
    if product.status != ProductStatus.PUBLISHED:
        continue
    authors = rng.sample([u for u in users if u.pk != product.owner_id],
                         rng.randint(0, params["max_reviews"]))
    reviews.extend(Review(product=product, author=a, rating=rng.randint(1, 5),
                          body="Fine." * rng.randint(0, 20)) for a in authors)
Review.objects.bulk_create(reviews, batch_size=2000)
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE")

# -- queries per request, and the same rows everywhere -------------------------------------
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(bench_user)
counts: dict[str, dict[str, dict[str, int]]] = {}
first_pages: dict[str, list] = {}
for name, url in params["endpoints"].items():
    counts[name] = {}
    for size in params["page_sizes"]:
        client.get(url, {"page_size": size})  # warm: first-use work is not per request
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"page_size": size})
        assert response.status_code == 200, (name, size, response.status_code, response.content)
        counts[name][str(size)] = {"queries": len(ctx.captured_queries),
                                   "rows": len(response.json()["results"])}
        if size == params["load_page_size"]:
            first_pages[name] = response.json()["results"]
            if name == "example":
                example_sql = [q["sql"] for q in ctx.captured_queries]

# Every user signed in: the load spreads its requests over all of them, as real traffic does.
sessions = [client.cookies[settings.SESSION_COOKIE_NAME].value]
for user in users[1:]:
    other = Client(HTTP_HOST="127.0.0.1")
    other.force_login(user)
    sessions.append(other.cookies[settings.SESSION_COOKIE_NAME].value)

ids = {name: [row["id"] for row in rows] for name, rows in first_pages.items()}
same_ids = len({tuple(v) for v in ids.values()}) == 1
same_body = first_pages["example"] == first_pages["naive"]

list_query = selectors.product_list(user=bench_user).order_by("-created_at", "-id")[:25]
plan = list_query.explain(analyze=True).splitlines()


# -- where the example's database time goes --
# Bench-only diagnostics: the SQL the list sends, timed by EXPLAIN ANALYZE (best of 5).
def sql_ms(run_queries) -> float:
    with CaptureQueriesContext(connection) as ctx:
        run_queries()
    total = 0.0
    with connection.cursor() as cursor:
        for query in ctx.captured_queries:
            best = float("inf")
            for _ in range(5):
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
                best = min(best, cursor.fetchone()[0][0]["Execution Time"])
            total += best
    return round(total, 2)


def page(queryset):
    return lambda: list(queryset.order_by("-created_at", "-id")[:25])


shipped = selectors.product_list(user=bench_user)
sql_times = {
    "count (the paginator's)": sql_ms(shipped.count),
    "page of 25 (review stats as correlated subqueries)": sql_ms(page(shipped)),
}


# -- where a request's time goes, in-process and single-threaded ---------------------------
# Bench-only: wrap the main steps in timers; a step's figure excludes the steps it calls.
import functools  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import django.core.handlers.base  # noqa: E402
import django.db.backends.utils  # noqa: E402
import django.db.models.query  # noqa: E402
import django.http.response  # noqa: E402
import django_filters.rest_framework  # noqa: E402
import rest_framework.filters  # noqa: E402
import rest_framework.renderers  # noqa: E402
import rest_framework.serializers  # noqa: E402
import rest_framework.throttling  # noqa: E402

spent: defaultdict[str, float] = defaultdict(float)
stack: list[list[float]] = []  # per open step: [start, time spent in the steps it called]


def timed(owner, attribute: str, label: str) -> None:
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        stack.append([time.perf_counter(), 0.0])
        try:
            return original(*args, **kwargs)
        finally:
            start, inner = stack.pop()
            elapsed = time.perf_counter() - start
            spent[label] += elapsed - inner
            if stack:
                stack[-1][1] += elapsed

    setattr(owner, attribute, wrapper)


STEPS = [
    (django.core.handlers.base.BaseHandler, "get_response", "middleware, DRF dispatch, rest"),
    (django.db.backends.utils.CursorWrapper, "execute", "SQL round trips (database + wire)"),
    (django.db.models.query.QuerySet, "_fetch_all", "ORM: build SQL, rows to objects"),
    (django.db.models.query.QuerySet, "count", "ORM: build SQL, rows to objects"),
    (rest_framework.throttling.SimpleRateThrottle, "allow_request", "throttle (cache)"),
    (django_filters.rest_framework.DjangoFilterBackend, "filter_queryset", "filter backends"),
    (rest_framework.filters.OrderingFilter, "filter_queryset", "filter backends"),
    (rest_framework.serializers.ListSerializer, "to_representation", "serializers"),
    (rest_framework.renderers.JSONRenderer, "render", "JSON encoding"),
    (django.http.response.JsonResponse, "__init__", "JSON encoding"),
]
for owner, attribute, label in STEPS:
    timed(owner, attribute, label)

breakdown: dict[str, dict[str, float]] = {}
for name, url in params["endpoints"].items():
    repeat = 20 if name == "naive" else 200
    for _ in range(10):
        client.get(url, {"page_size": params["load_page_size"]})
    spent.clear()
    for _ in range(repeat):
        client.get(url, {"page_size": params["load_page_size"]})
    per_request = {label: round(seconds * 1000 / repeat, 3) for label, seconds in spent.items()}
    per_request["total in Django"] = round(sum(per_request.values()), 3)
    breakdown[name] = per_request

print(json.dumps({
    "session_cookie": settings.SESSION_COOKIE_NAME,
    "session_keys": sessions,
    "rows": {"users": User.objects.count(), "categories": Category.objects.count(),
             "products": Product.objects.count(),
             "published": Product.objects.published().count(),
             "visible": Product.objects.visible_to(bench_user).count(),
             "reviews": Review.objects.count()},
    "counts": counts,
    "same_ids": same_ids,
    "first_ids": ids,
    "same_body": same_body,
    "example_sql": example_sql,
    "list_plan": plan,
    "sql_times": sql_times,
    "breakdown": breakdown,
}))
'''


def write_bench_files(service: Path) -> None:
    (service / "src" / "config" / "settings" / "bench.py").write_text(BENCH_SETTINGS)
    (service / "src" / "bench_urls.py").write_text(BENCH_ENDPOINTS)
    (service / "src" / "bench_setup.py").write_text(BENCH_SETUP)
    (service / "staticfiles").mkdir(exist_ok=True)  # whitenoise warns when it is missing


# --------------------------------------------------------------------------- gunicorn


@contextlib.contextmanager
def gunicorn(
    service: Path, env: dict[str, str], args: argparse.Namespace
) -> Iterator[tuple[str, int]]:
    """The render's own gunicorn.conf.py (access log, keep-alive, worker recycling), with
    the bind address, worker class and pool size set here."""
    port = free_port()
    argv = [str(service / ".venv" / "bin" / "gunicorn"), "config.wsgi:application"]
    if (service / "gunicorn.conf.py").exists():
        argv += ["--config", "gunicorn.conf.py"]
    argv += ["--pythonpath", "src", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
             "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    if args.no_recycle:
        argv += ["--max-requests", "0"]
    logfile = service.parent / "gunicorn.log"
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=service, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{base}/healthz", timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{logfile.read_text()[-4000:]}")
            time.sleep(0.2)
        log(f"gunicorn pid {proc.pid} serving {base}: {' '.join(argv[1:])}")
        yield base, proc.pid
    finally:
        stop_process(proc, "gunicorn")


# --------------------------------------------------------------------------- load


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0  # non-2xx responses and socket errors
    cpu_ms: float = 0.0  # CPU time of gunicorn, PostgreSQL and Redis per request
    other_cores: float = 0.0  # CPU used meanwhile by processes that are not the bench's

    @property
    def capacity(self) -> float:
        """Requests per second the servers' CPU cost allows on all cores, with no contention."""
        return (os.cpu_count() or 1) * 1000 / self.cpu_ms if self.cpu_ms else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


WRK_SCRIPT = """\
-- Each request signs in as the next user in turn.
cookies = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, {["Cookie"] = cookies[(counter %% #cookies) + 1]})
end
"""


def load_wrk(url: str, cookies: list[str], connections: int, seconds: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-api-") as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(c) for c in cookies))
        script.flush()
        out = run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
                   "--latency", "-s", script.name, url], what="wrk")  # fmt: skip
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not done or "50" not in latency or "99" not in latency:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if socket_errors := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        out,
    ):
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        requests=int(done.group(1)),
        seconds=_wrk_ms(done.group(2) + done.group(3)) / 1000,
        p50_ms=_wrk_ms(latency["50"]),
        p99_ms=_wrk_ms(latency["99"]),
        errors=errors,
    )


def load_python(url: str, cookies: list[str], connections: int, seconds: float) -> LoadResult:
    """Closed-loop loader: `connections` threads, one keep-alive connection each."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    assert parts.hostname in {"127.0.0.1", "localhost", "::1"}, "loopback only"
    target = f"{parts.path}?{parts.query}"
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = time.perf_counter()
    deadline = start + seconds

    def worker(i: int) -> None:
        conn = HTTPConnection(parts.hostname, parts.port, timeout=10)
        sent = i
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            sent += connections
            try:
                conn.request("GET", target, headers={"Cookie": cookies[sent % len(cookies)]})
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except OSError:
                ok = False
                conn.close()
                conn = HTTPConnection(parts.hostname, parts.port, timeout=10)
            latencies[i].append((time.perf_counter() - t0) * 1000)
            errors[i] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    every = sorted(x for per in latencies for x in per)
    quantiles = statistics.quantiles(every, n=100, method="inclusive")
    return LoadResult(len(every), elapsed, quantiles[49], quantiles[98], sum(errors))


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the loader, wrk or threads)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_snapshot(server_pids: list[int]) -> tuple[float, float, float]:
    return tree_cpu_seconds(server_pids), own_cpu_seconds(), machine_busy_seconds()


def split_cpu(
    server_pids: list[int], before: tuple[float, float, float]
) -> tuple[float, float, float]:
    """CPU seconds since `before`: (the servers, this process and wrk, every other process)."""
    after = cpu_snapshot(server_pids)
    servers, loader = after[0] - before[0], after[1] - before[1]
    return servers, loader, max(after[2] - before[2] - servers - loader, 0.0)


def wait_until_quiet(server_pids: list[int], max_wait: float) -> None:
    """Wait (at most max_wait seconds) until other processes use < QUIET_CORES of the CPU."""
    started = time.monotonic()
    while True:
        before = cpu_snapshot(server_pids)
        time.sleep(2)
        other = split_cpu(server_pids, before)[2] / 2
        waited = time.monotonic() - started
        if other < QUIET_CORES or waited >= max_wait:
            if waited > 2.5:
                state = "quiet" if other < QUIET_CORES else "still busy"
                log(f"waited {waited:.0f}s for a quiet machine: {state} ({other:.2f} cores)")
            return


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU time (user + system, reaped children included) of these processes and their
    descendants, from /proc: what the servers spent, whatever else the machine was doing."""
    procs: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "(comm)": state ppid ... utime(11) stime(12) cutime(13) cstime(14)
        procs[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [pid for pid in roots if pid in procs]
    while todo:
        pid = todo.pop()
        total += procs[pid][1]
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    rounds: list[LoadResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.rounds)


# --------------------------------------------------------------------------- main


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


def template_version(committed: bool) -> str:
    git = ["git", "-C", str(REPO_ROOT)]
    version = run([*git, "rev-parse", "--short", "HEAD"], what="git rev-parse").strip()
    if not committed:
        dirty = run([*git, "status", "--porcelain", "--", "template", "extensions", "copier.yml"])
        if dirty.strip():
            version += " + uncommitted changes"
    return version


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
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
        log(f"rendering {source} {REPO_ROOT} (default answers) into {service}")
        render_service(service, home, committed=args.committed)
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
        )
        python = str(service / ".venv" / "bin" / "python")
        log("migrate")
        run([python, "manage.py", "migrate", "--noinput"], cwd=service, env=env, what="migrate")
        log("seed, sign in, count queries")
        params = {
            "seed": 20260101,
            "users": args.users,
            "categories": args.categories,
            "published": args.published,
            "drafts": args.drafts,
            "max_reviews": min(args.max_reviews, args.users - 1),
            "endpoints": ENDPOINTS,
            "page_sizes": list(PAGE_SIZES),
            "load_page_size": LOAD_PAGE_SIZE,
        }
        out = run([python, "src/bench_setup.py", json.dumps(params)], cwd=service, env=env)
        setup = json.loads(out.strip().splitlines()[-1])
        if not setup["same_ids"]:
            raise RuntimeError(f"the endpoints return different rows: {setup['first_ids']}")
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


def check_endpoint(name: str, url: str, cookie: str) -> None:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"loopback only: {url}")
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        rows = len(json.load(response)["results"])
    if rows != LOAD_PAGE_SIZE:
        raise RuntimeError(f"{name} returned {rows} rows, expected {LOAD_PAGE_SIZE}")


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
    """Median over rounds of a's figure / b's figure in the same round."""
    pairs = zip(a.rounds, b.rounds, strict=True)
    return statistics.median(getattr(x, attr) / getattr(y, attr) for x, y in pairs)


def verdict(ratio: float, target: float) -> str:
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
        f"template  {meta['template']}, default answers",
        f"machine   {box['nproc']} cores ({box['cpu']}), {box['memory']}, Linux {box['kernel']}",
        f"software  Python {v['python']}, Django {v['django']}, DRF {v['drf']}, gunicorn "
        f"{v['gunicorn']} (gthread, {args.workers} workers x {args.threads} threads, worker "
        f"recycling {'off' if args.no_recycle else 'as in gunicorn.conf.py'}), psycopg "
        f"{v['psycopg']}, PostgreSQL {meta['postgres']}, cache {args.cache}",
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
        by_cpu = 1 / paired_ratio(measured["example"], measured[other], "cpu_ms")
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


if __name__ == "__main__":
    sys.exit(main())
