"""The test database: `DATABASE_URL` when it is set, else a throwaway PostgreSQL cluster.

With no `DATABASE_URL`, pytest-postgresql runs `initdb` and `pg_ctl` to start a private
cluster in a temporary directory for this run and removes it afterwards, so `uv run pytest`
needs only the PostgreSQL server binaries installed. Tests that touch no database never
start it.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django.lazy_django import skip_if_no_django
from pytest_postgresql import factories
from pytest_postgresql.executors import PostgreSQLExecutor


def _find_pg_ctl() -> str | None:
    """pg_ctl on PATH, else the newest Debian/Ubuntu server package's (not on PATH there)."""
    if found := shutil.which("pg_ctl"):
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None


PG_CTL = _find_pg_ctl()

postgresql_proc = factories.postgresql_proc(executable=PG_CTL, port=None)


def _why_no_throwaway_cluster() -> str | None:
    if PG_CTL is None:
        return (
            "No PostgreSQL server binaries (pg_ctl, initdb) found and DATABASE_URL is not "
            "set: install PostgreSQL 15+ or set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB."
        )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return (
            "Running as root without DATABASE_URL: initdb refuses to run as root, so no "
            "throwaway cluster can start. Run the tests as a non-root user, or set "
            "DATABASE_URL=postgres://USER:PASSWORD@HOST/DB to a PostgreSQL 15+ server."
        )
    return None


@pytest.fixture(autouse=True)
def _no_n_plus_one() -> Iterator[None]:
    """django-zeal watches every test: a query per row in a loop (N+1) raises NPlusOneError."""
    from zeal import zeal_context

    with zeal_context():
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: throttle counters must not leak between tests."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest, django_db_modify_db_settings_parallel_suffix: None
) -> None:
    """Point `default` at the throwaway cluster unless DATABASE_URL chose a server."""
    skip_if_no_django()
    if os.environ.get("DATABASE_URL"):
        return
    if problem := _why_no_throwaway_cluster():
        pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)

    from django.conf import settings

    proc: PostgreSQLExecutor = request.getfixturevalue("postgresql_proc")
    settings.DATABASES["default"].update(
        HOST=proc.host, PORT=proc.port, USER=proc.user, PASSWORD=proc.password or ""
    )
