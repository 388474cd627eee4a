from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.core.lockout import failure_limits
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def request_from(address: str) -> HttpRequest:
    return RequestFactory().post("/", REMOTE_ADDR=address)


def log_in(email: str, password: str, address: str = "192.0.2.1") -> User | None:
    user = authenticate(request_from(address), username=email, password=password)
    assert user is None or isinstance(user, User)
    return user


@pytest.fixture
def ana() -> User:
    return UserFactory.create(email="ana@example.com")


def test_the_limits_are_settings() -> None:
    assert failure_limits() == settings.LOGIN_FAILURE_LIMITS
    assert failure_limits()["address"] > failure_limits()["account"] > 0


def test_an_account_locks_after_the_limit_even_for_the_right_password(ana: User) -> None:
    limit = failure_limits()["account"]
    # From a different address each time: the account's count does not depend on it.
    for i in range(limit - 1):
        assert log_in("ana@example.com", "wrong", address=f"198.51.100.{i + 1}") is None
    assert log_in("ana@example.com", PASSWORD) == ana  # under the limit, and it clears it

    for i in range(limit):
        assert log_in("ANA@example.com", "wrong", address=f"198.51.100.{i + 1}") is None

    assert log_in("ana@example.com", PASSWORD, address="203.0.113.9") is None


def test_another_account_is_not_locked_with_it(ana: User) -> None:
    bea = UserFactory.create(email="bea@example.com")
    for i in range(failure_limits()["account"]):
        log_in("ana@example.com", "wrong", address=f"198.51.100.{i + 1}")

    assert log_in("bea@example.com", PASSWORD, address="203.0.113.9") == bea


def test_an_address_locks_after_the_limit_across_accounts(ana: User) -> None:
    per_account = failure_limits()["account"] - 1  # never lock an account on the way
    for i in range(failure_limits()["address"]):
        assert log_in(f"guess{i // per_account}@example.com", "wrong") is None

    assert log_in("ana@example.com", PASSWORD) is None
    assert log_in("ana@example.com", PASSWORD, address="203.0.113.9") == ana


def test_the_lock_ends_with_the_window(ana: User) -> None:
    for _ in range(failure_limits()["account"]):
        log_in("ana@example.com", "wrong")
    assert log_in("ana@example.com", PASSWORD) is None

    later = timezone.now() + timedelta(seconds=failure_limits()["window"] + 1)
    with time_machine.travel(later):
        assert log_in("ana@example.com", PASSWORD) == ana


class BrokenCache:
    """A cache whose server cannot be reached."""

    def __getattr__(self, name: str) -> object:
        def unreachable(*args: object, **kwargs: object) -> object:
            raise ConnectionError("cache unreachable")

        return unreachable


@pytest.fixture
def broken_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apps.core.lockout.cache", BrokenCache())


@pytest.mark.usefixtures("broken_cache")
def test_with_the_cache_down_log_in_goes_on_and_says_so(
    ana: User, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(failure_limits()["account"] + 1):
        assert log_in("ana@example.com", "wrong") is None

    assert log_in("ana@example.com", PASSWORD) == ana
    warnings = [r.getMessage() for r in caplog.records if r.name == "apps.core.lockout"]
    assert "Log-in lock-out not checked: the cache is unreachable." in warnings
    assert "Failed log-in not counted: the cache is unreachable." in warnings


def test_the_admin_log_in_is_locked_too() -> None:
    UserFactory.create(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    url = reverse("admin:login")

    for _ in range(failure_limits()["account"]):
        wrong = client.post(url, {"username": "root@example.com", "password": "wrong"})
        assert wrong.status_code == 200  # the form again, with its error
    right = client.post(url, {"username": "root@example.com", "password": PASSWORD})

    assert right.status_code == 200
    assert "_auth_user_id" not in client.session
