"""The connection settings prod builds from the environment (apps.core.database).

That a cut-off query answers 503 and that the pool survives a database restart is tested
against a running service by the template's harness; here, the settings themselves.
"""

from typing import Any

import pytest
from django.core.management.sql import emit_pre_migrate_signal
from django.db import OperationalError, connection, transaction
from environs import Env, EnvValidationError
from psycopg.errors import LockNotAvailable
from rest_framework.test import APIRequestFactory

from apps.core.database import configure
from apps.core.exceptions import problem_details_handler

URL_CONFIG = {"NAME": "app", "HOST": "db.internal", "OPTIONS": {"sslmode": "require"}}
VARIABLES = [
    "DJANGO_DB_POOL",
    "DJANGO_DB_POOL_MIN_SIZE",
    "DJANGO_DB_POOL_MAX_SIZE",
    "DJANGO_DB_POOL_TIMEOUT",
    "DJANGO_CONN_MAX_AGE",
    "DJANGO_DB_CONNECT_TIMEOUT",
    "DJANGO_DB_STATEMENT_TIMEOUT_MS",
    "DJANGO_DB_LOCK_TIMEOUT_MS",
    "DJANGO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "GUNICORN_THREADS",
]


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No connection setting from the surrounding environment: the defaults, unless set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_persistent_checked_connections_and_safe_timeouts(
    environ: pytest.MonkeyPatch,
) -> None:
    database = configure(URL_CONFIG, Env())

    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True
    options = database["OPTIONS"]
    assert "pool" not in options  # WSGI's default; config.asgi turns the pool on
    assert options["connect_timeout"] == 5
    assert options["options"] == (
        "-c statement_timeout=10000 -c lock_timeout=3000"
        " -c idle_in_transaction_session_timeout=60000"
    )
    assert options["sslmode"] == "require"  # what the URL asked for is kept
    assert database["HOST"] == "db.internal"


def test_the_pool_checks_connections_and_keeps_them_from_django(
    environ: pytest.MonkeyPatch,
) -> None:
    environ.setenv("DJANGO_DB_POOL", "true")

    database = configure(URL_CONFIG, Env())

    assert database["CONN_MAX_AGE"] == 0  # the pool keeps connections, not Django
    assert database["CONN_HEALTH_CHECKS"] is True  # the pool checks each one it hands out
    assert database["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 4, "timeout": 10.0}
    assert database["OPTIONS"]["connect_timeout"] == 5


def test_pool_size_follows_gunicorn_threads_unless_set(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("DJANGO_DB_POOL", "true")
    environ.setenv("GUNICORN_THREADS", "8")
    assert configure(URL_CONFIG, Env())["OPTIONS"]["pool"]["max_size"] == 8

    environ.setenv("DJANGO_DB_POOL_MIN_SIZE", "1")
    environ.setenv("DJANGO_DB_POOL_MAX_SIZE", "3")
    environ.setenv("DJANGO_DB_POOL_TIMEOUT", "2.5")
    assert configure(URL_CONFIG, Env())["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": 3,
        "timeout": 2.5,
    }


def test_without_the_pool_connections_persist_and_are_checked(
    environ: pytest.MonkeyPatch,
) -> None:
    environ.setenv("DJANGO_CONN_MAX_AGE", "120")

    database = configure(URL_CONFIG, Env())

    assert "pool" not in database["OPTIONS"]
    assert database["CONN_MAX_AGE"] == 120
    assert database["CONN_HEALTH_CHECKS"] is True


def test_timeouts_from_the_environment_join_the_urls_own_options(
    environ: pytest.MonkeyPatch,
) -> None:
    environ.setenv("DJANGO_DB_STATEMENT_TIMEOUT_MS", "0")
    environ.setenv("DJANGO_DB_LOCK_TIMEOUT_MS", "500")
    environ.setenv("DJANGO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "15000")
    environ.setenv("DJANGO_DB_CONNECT_TIMEOUT", "2")
    url_config = {**URL_CONFIG, "OPTIONS": {"options": "-c search_path=app"}}

    options = configure(url_config, Env())["OPTIONS"]

    assert options["connect_timeout"] == 2
    assert options["options"] == (
        "-c search_path=app -c statement_timeout=0 -c lock_timeout=500"
        " -c idle_in_transaction_session_timeout=15000"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DB_STATEMENT_TIMEOUT_MS", "-1"),
        ("DJANGO_DB_LOCK_TIMEOUT_MS", "soon"),
        ("DJANGO_CONN_MAX_AGE", "-1"),
        ("DJANGO_DB_CONNECT_TIMEOUT", "-5"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    environ: pytest.MonkeyPatch, name: str, value: str
) -> None:
    environ.setenv(name, value)

    with pytest.raises(EnvValidationError, match=name):
        configure(URL_CONFIG, Env())


def test_a_pool_smaller_than_its_minimum_is_refused(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("DJANGO_DB_POOL", "true")
    environ.setenv("DJANGO_DB_POOL_MIN_SIZE", "5")
    environ.setenv("DJANGO_DB_POOL_MAX_SIZE", "2")

    with pytest.raises(ValueError, match="DJANGO_DB_POOL_MAX_SIZE"):
        configure(URL_CONFIG, Env())


@pytest.mark.django_db
def test_migrate_runs_without_the_statement_timeout() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 10000")
        cursor.execute("SET lock_timeout = 3000")

        # What `migrate` sends before it runs anything (apps.core's receiver among others).
        emit_pre_migrate_signal(verbosity=0, interactive=False, db=connection.alias)

        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("0",)
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("3s",)  # a migration still may not queue behind a lock


def _handle(exc: Exception) -> Any:
    request = APIRequestFactory().get("/api/v1/things/")
    return problem_details_handler(exc, {"request": request})


def _query_past_the_statement_timeout() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")


@pytest.mark.django_db
def test_a_query_cut_off_by_the_statement_timeout_is_a_503_not_a_500() -> None:
    with pytest.raises(OperationalError) as cut_off:
        _query_past_the_statement_timeout()

    response = _handle(cut_off.value)

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.data["code"] == "database_timeout"
    assert "statement" not in response.data["detail"]  # no database internals leak
    assert int(response["Retry-After"]) > 0


def test_a_lock_wait_cut_off_by_the_lock_timeout_is_a_503_database_timeout() -> None:
    # As Django raises it: its OperationalError, caused by psycopg's (SQLSTATE 55P03).
    try:
        raise LockNotAvailable("canceling statement due to lock timeout")
    except LockNotAvailable as cause:
        error = OperationalError(str(cause))
        error.__cause__ = cause

    response = _handle(error)

    assert response.status_code == 503
    assert response.data["code"] == "database_timeout"


def test_an_unreachable_database_is_not_called_a_timeout() -> None:
    response = _handle(OperationalError("connection refused"))

    assert response.status_code == 503
    assert response.data["code"] == "database_unavailable"


def test_a_pool_of_no_connections_is_refused(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("DJANGO_DB_POOL", "true")
    environ.setenv("DJANGO_DB_POOL_MAX_SIZE", "0")

    with pytest.raises(EnvValidationError, match="DJANGO_DB_POOL_MAX_SIZE"):
        configure(URL_CONFIG, Env())
