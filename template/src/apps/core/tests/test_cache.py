"""The production cache fails open: an unreachable Redis is a warning, not an outage."""

import logging
import time

import pytest
from django.test import Client
from pytest_django import Settings
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.core import cache as cache_module
from apps.core.cache import FailOpenRedisCache

# Nothing listens on port 1 of loopback: every connection is refused at once.
UNREACHABLE = "redis://127.0.0.1:1/0"
OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


@pytest.fixture
def down() -> FailOpenRedisCache:
    FailOpenRedisCache._last_warning = 0.0  # each test sees its first warning
    return FailOpenRedisCache(UNREACHABLE, {"OPTIONS": OPTIONS})


def test_lookups_miss_and_writes_are_dropped(down: FailOpenRedisCache) -> None:
    started = time.monotonic()

    down.set("key", "value")
    assert down.get("key", "fallback") == "fallback"
    assert down.get_many(["key"]) == {}
    assert down.has_key("key") is False
    assert down.set_many({"key": 1}) == ["key"]
    assert down.touch("key") is False
    assert down.delete("key") is False

    assert time.monotonic() - started < 5  # refused at once; never a hung request


def test_an_outage_is_logged_once_per_interval(
    down: FailOpenRedisCache, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=cache_module.__name__):
        for _ in range(5):
            down.get("key")

    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Cache unreachable" in warnings[0].getMessage()


def test_locks_and_counters_still_raise(down: FailOpenRedisCache) -> None:
    """A caller using the cache as a lock or counter decides what an outage means."""
    with pytest.raises(RedisConnectionError):
        down.add("lock", 1)
    with pytest.raises(RedisConnectionError):
        down.incr("counter")


def test_throttled_api_requests_are_served_while_the_cache_is_down(settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.FailOpenRedisCache",
            "LOCATION": UNREACHABLE,
            "OPTIONS": OPTIONS,
        }
    }

    # The schema view is public and throttled by the anon rate, which reads the cache.
    response = Client().get("/api/v1/schema/?format=json")

    assert response.status_code == 200
