import pytest
from django.db import DatabaseError
from django.test import Client


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
