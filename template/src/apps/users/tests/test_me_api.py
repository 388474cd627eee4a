import pytest
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from apps.users.tests.factories import UserFactory

ME_URL = reverse("api-v1:users:me")


@pytest.mark.django_db
def test_anonymous_request_is_refused_with_401_problem() -> None:
    response = APIClient().get(ME_URL)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Session realm="api"'
    assert response.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "instance": "/api/v1/users/me/",
    }


@pytest.mark.django_db
def test_authenticated_user_gets_own_profile(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    user = UserFactory.create(email="ana@example.com", full_name="Ana Lima")
    client = APIClient()
    client.force_authenticate(user)

    with django_assert_num_queries(0):  # the user is already loaded by authentication
        response = client.get(ME_URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "ana@example.com",
        "full_name": "Ana Lima",
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


@pytest.mark.django_db
def test_session_login_is_counted_in_queries(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    user = UserFactory.create()
    client = APIClient()
    client.force_login(user)

    # One query loads the session, one the user; the view adds none.
    with django_assert_num_queries(2):
        response = client.get(ME_URL)

    assert response.status_code == 200
    assert response.json()["email"] == user.email


@pytest.mark.django_db
def test_writes_are_not_allowed() -> None:
    client = APIClient()
    client.force_authenticate(UserFactory.create())

    response = client.patch(ME_URL, {"email": "other@example.com"})

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
