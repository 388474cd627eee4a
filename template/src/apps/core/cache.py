"""The production cache: Redis, failing open when Redis cannot be reached.

The cache is not the database: nothing in it is the only copy of anything, so an outage
must not take the API down. Throttle counters (DRF reads and writes them on every request)
are the main user; with Redis gone they read as empty and writes are dropped, so requests
are served without rate limits until Redis is back, and a warning says so (at most one per
WARN_INTERVAL seconds per process, not one per request). The client's timeouts (OPTIONS in
settings: `socket_connect_timeout`, `socket_timeout`) bound what each request can lose.

Only lookups and best-effort writes fail open. `add`, `incr`/`decr` and `clear` still raise:
code that uses the cache as a lock or a counter must decide itself what an outage means.
/readyz reports the cache down all the same (its write-then-read finds nothing).
"""

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WARN_INTERVAL = 10.0  # seconds


class FailOpenRedisCache(RedisCache):
    _last_warning = 0.0
    _failures = 0

    def _failed(self, operation: str, error: RedisError) -> None:
        cls = type(self)
        cls._failures += 1
        now = time.monotonic()
        if now - cls._last_warning >= WARN_INTERVAL:
            logger.warning(
                "Cache unreachable, serving without it (%s failed, %d failures since the "
                "last warning): %s",
                operation,
                cls._failures,
                error,
            )
            cls._last_warning = now
            cls._failures = 0

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError as error:
            self._failed("get", error)
            return default

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except RedisError as error:
            self._failed("get_many", error)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except RedisError as error:
            self._failed("has_key", error)
            return False

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except RedisError as error:
            self._failed("set", error)

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except RedisError as error:
            self._failed("set_many", error)
            return list(data)  # Django's meaning: these keys were not stored

    def touch(
        self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        try:
            return super().touch(key, timeout, version)
        except RedisError as error:
            self._failed("touch", error)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except RedisError as error:
            self._failed("delete", error)
            return False
