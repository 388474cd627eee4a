import pytest
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from apps.core.addresses import client_address

FORGED = {
    "HTTP_X_FORWARDED_FOR": "10.0.0.1, 198.51.100.7",
    "HTTP_FORWARDED": "for=10.0.0.2",
    "HTTP_X_REAL_IP": "10.0.0.3",
}


def address(**meta: str) -> str:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10")
    request.META.update(meta)
    return client_address(request)


def test_without_trusted_proxies_only_the_socket_counts() -> None:
    assert address(**FORGED) == "192.0.2.10"


@override_settings(TRUSTED_PROXIES=1)
def test_one_trusted_proxy_means_the_entry_it_appended() -> None:
    assert address(**FORGED) == "198.51.100.7"
    assert address(HTTP_X_FORWARDED_FOR=" 198.51.100.8 ") == "198.51.100.8"


@override_settings(TRUSTED_PROXIES=2)
def test_two_trusted_proxies_mean_the_second_entry_from_the_right() -> None:
    assert address(HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.7, 172.16.0.5") == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=2)
def test_fewer_entries_than_proxies_fall_back_to_the_leftmost() -> None:
    assert address(HTTP_X_FORWARDED_FOR="198.51.100.7") == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=1)
def test_no_forwarded_header_means_the_socket() -> None:
    assert address() == "192.0.2.10"


@pytest.mark.django_db
def test_forged_headers_do_not_escape_the_anon_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The anon rate counts the socket's address whatever the client claims."""
    # A low rate keeps the test fast (the schema view is the open one); the keying is tested.
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    client = APIClient()

    statuses = [
        client.get(
            "/api/v1/schema/",
            headers={"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"10.0.0.{i}"},
        ).status_code
        for i in range(1, 5)
    ]

    assert statuses == [200, 200, 200, 429]
