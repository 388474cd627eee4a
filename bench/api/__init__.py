"""API benchmark: the example app's product list against a naive DRF endpoint and a bare view.

Run from the template repository (about four minutes with the defaults):

    uv run python -m bench.api                 # the working tree, uncommitted changes too
    uv run python -m bench.api --committed     # HEAD, from a clean clone
    uv run python -m bench.api --help          # durations, rows, loader, cache, pool

(``uv run python bench/bench_api.py`` is the same.) The modules: ``render`` (the service
under test), ``services`` (PostgreSQL, Redis, gunicorn), ``endpoints`` and ``seeding`` (the
bench-only files written into the render), ``load`` (the loaders and CPU accounting),
``report``, and ``__main__`` (the options and the run).

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
