"""Bench-only setup script run in the render: seed, sign in, count queries, time steps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import LOAD_PAGE_SIZE, PAGE_SIZES, run

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


def seed(
    args: argparse.Namespace, *, service: Path, env: dict[str, str], endpoints: dict[str, str]
) -> dict[str, Any]:
    """Run the setup script in the render (after ``write_bench_files``) and return its figures.

    Refuses to go on when the endpoints do not serve the same rows: the comparison would be
    between different work."""
    params = {
        "seed": 20260101,
        "users": args.users,
        "categories": args.categories,
        "published": args.published,
        "drafts": args.drafts,
        "max_reviews": min(args.max_reviews, args.users - 1),
        "endpoints": endpoints,
        "page_sizes": list(PAGE_SIZES),
        "load_page_size": LOAD_PAGE_SIZE,
    }
    python = str(service / ".venv" / "bin" / "python")
    out = run([python, "src/bench_setup.py", json.dumps(params)], cwd=service, env=env)
    setup: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if not setup["same_ids"]:
        raise RuntimeError(f"the endpoints return different rows: {setup['first_ids']}")
    return setup
