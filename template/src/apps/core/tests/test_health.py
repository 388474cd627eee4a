import pytest
from django.db import DatabaseError
from django.test import Client
from pytest_django import Settings


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: pytest-django makes any query in this test an error.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_and_cache(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "cache": True}}


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_database_fails(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setattr("apps.core.views.connection.cursor", broken_cursor)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": False, "cache": True},
    }


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_cache_fails(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_set(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis down")

    monkeypatch.setattr("apps.core.views.cache.set", broken_set)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "cache": False}


def test_health_probes_refuse_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_version_is_unknown_outside_an_image(client: Client) -> None:
    # No django_db mark: the version is read from settings, never from the database.
    response = client.get("/version")

    assert response.status_code == 200
    assert response.json() == {"version": "unknown", "commit": "unknown"}
    assert "no-cache" in response["Cache-Control"]


def test_version_names_the_build(client: Client, settings: Settings) -> None:
    settings.SERVICE_VERSION = "1.4.2"
    settings.SERVICE_COMMIT = "3f2c9a1e"

    assert client.get("/version").json() == {"version": "1.4.2", "commit": "3f2c9a1e"}
