"""How the service connects to PostgreSQL: pooled or persistent connections, and timeouts.

Connections (`DJANGO_DB_POOL`), chosen by how the service runs:

- Pool, the default under ASGI (config.asgi turns it on): psycopg's pool (Django's
  `OPTIONS["pool"]`, the `psycopg[pool]` extra), one per server process. Each process
  holds between `DJANGO_DB_POOL_MIN_SIZE` and `DJANGO_DB_POOL_MAX_SIZE` connections (the
  maximum defaults to `GUNICORN_THREADS`); a request waits up to `DJANGO_DB_POOL_TIMEOUT`
  seconds for a free one, then fails as the database being unavailable. Every connection
  is checked before it is handed out, so a restarted or failed-over server costs one
  reconnect, not a burst of errors. Django's documentation asks for it under ASGI, where
  requests do not map to threads and persistent connections are not safe to keep.
- Persistent connections, the default under WSGI (gunicorn's gthread workers): one per
  thread, reused for `DJANGO_CONN_MAX_AGE` seconds and checked at the start of each request
  (`CONN_HEALTH_CHECKS`), so they survive a restart too. A gthread worker's threads map
  one to one to connections, so the pool bounds nothing there, and the template's API
  benchmark measured it no cheaper (docs/benchmarks.md in the template). Also the choice
  behind PgBouncer in transaction mode, which pools for every instance at once.

Size it against the server: every web instance opens up to `GUNICORN_WORKERS *
DJANGO_DB_POOL_MAX_SIZE` connections with the pool (`GUNICORN_WORKERS * GUNICORN_THREADS`
without), plus the task workers' and the migrate job's. The sum over all instances, during
a rolling deploy too (old and new pods at once), must stay below PostgreSQL's
`max_connections` minus its `superuser_reserved_connections`. With the defaults (3 workers,
4 threads) that is 12 per instance; a server with the default `max_connections = 100`
fits about six instances with room left for the workers and an operator's psql.

Timeouts, sent as session settings when a connection opens (milliseconds; 0 turns one off):

- `DJANGO_DB_CONNECT_TIMEOUT` (seconds, default 5): a server that does not answer fails
  the request quickly instead of holding a worker thread.
- `DJANGO_DB_STATEMENT_TIMEOUT_MS` (default 10000): well under gunicorn's 30 s request
  timeout, so a runaway query ends as a 503 `database_timeout` (apps.core.exceptions)
  before gunicorn kills the worker with every request it was serving.
- `DJANGO_DB_LOCK_TIMEOUT_MS` (default 3000): a request waiting on another's row or table
  lock gives up instead of queueing every worker behind it.
- `DJANGO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS` (default 60000): the server ends a session
  left idle inside a transaction, which would otherwise hold its locks and block vacuum.

The task workers load the same settings, so the same limits hold for tasks: give a
worker whose tasks legitimately run longer queries its own `DJANGO_DB_STATEMENT_TIMEOUT_MS`.
Migrations may need longer statements (building an index on a large table): `migrate`
lifts the statement timeout for its own session (`lift_statement_timeout_for_migrations`)
and keeps the lock timeout, so a migration that cannot get its lock fails and is retried
instead of stalling the live traffic queued behind it.
"""

from collections.abc import Mapping
from typing import Any

from django.db import connections
from environs import Env, validate


def _count(env: Env, name: str, default: int, *, least: int = 0) -> int:
    """An integer setting; a value below `least` stops start-up, naming the variable."""
    return env.int(name, default=default, validate=validate.Range(min=least))


def session_timeouts(env: Env) -> str:
    """libpq's `options`: the timeouts as session settings, set when a connection opens."""
    timeouts = {
        "statement_timeout": _count(env, "DJANGO_DB_STATEMENT_TIMEOUT_MS", 10_000),
        "lock_timeout": _count(env, "DJANGO_DB_LOCK_TIMEOUT_MS", 3_000),
        "idle_in_transaction_session_timeout": _count(
            env, "DJANGO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000
        ),
    }
    return " ".join(f"-c {name}={value}" for name, value in timeouts.items())


def configure(database: Mapping[str, Any], env: Env) -> dict[str, Any]:
    """The `DATABASES` entry from `dj_db_url`'s, with connection handling and timeouts.

    Options already in the URL (`?sslmode=...`, `?options=...`) are kept; the timeouts are
    appended to the URL's own `options`.
    """
    configured = {**database}
    options: dict[str, Any] = {**configured.get("OPTIONS", {})}
    options["connect_timeout"] = _count(env, "DJANGO_DB_CONNECT_TIMEOUT", 5)
    options["options"] = " ".join(filter(None, [options.get("options"), session_timeouts(env)]))
    if env.bool("DJANGO_DB_POOL", default=False):
        min_size = _count(env, "DJANGO_DB_POOL_MIN_SIZE", 2)
        # A gthread worker serves GUNICORN_THREADS requests at once: one connection each.
        threads = env.int("GUNICORN_THREADS", default=4)
        max_size = _count(env, "DJANGO_DB_POOL_MAX_SIZE", max(threads, min_size), least=1)
        if max_size < min_size:
            raise ValueError(
                f"DJANGO_DB_POOL_MAX_SIZE ({max_size}) is below DJANGO_DB_POOL_MIN_SIZE "
                f"({min_size})"
            )
        options["pool"] = {
            "min_size": min_size,
            "max_size": max_size,
            "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", default=10.0),
        }
        # The pool keeps the connections; Django must close (return) them after each
        # request. Health checks make the pool test a connection before handing it out.
        configured["CONN_MAX_AGE"] = 0
        configured["CONN_HEALTH_CHECKS"] = True
    else:
        configured["CONN_MAX_AGE"] = _count(env, "DJANGO_CONN_MAX_AGE", 60)
        configured["CONN_HEALTH_CHECKS"] = True
    configured["OPTIONS"] = options
    return configured


def lift_statement_timeout_for_migrations(*, using: str, **kwargs: object) -> None:
    """`pre_migrate` receiver: migrations may run statements longer than a request may
    (building an index on a large table), so `migrate` runs without the statement timeout.

    The lock timeout stays: a migration that cannot get its lock fails (and the migrate job
    retries) instead of queueing the live traffic behind it.
    """
    with connections[using].cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
