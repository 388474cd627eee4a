"""Fixtures of the catalog's API tests: a user, and a client signed in as that user."""

import pytest
from rest_framework.test import APIClient

from apps.users.models import User
from apps.users.tests.factories import UserFactory


@pytest.fixture
def user() -> User:
    return UserFactory.create()


@pytest.fixture
def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
