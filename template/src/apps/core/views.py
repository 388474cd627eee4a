"""Probes for load balancers and orchestrators, and the running version.

`/healthz` answers whether the process is alive and does no I/O, so a slow database never
gets a healthy process restarted. `/readyz` answers whether this instance can serve traffic
now: it checks the database and the cache, and returns 503 naming what failed. `/version`
names the release and commit the image was built from, so an operator (or a deploy
pipeline) can tell which build answers; it holds nothing a built image does not.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def version(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"version": settings.SERVICE_VERSION, "commit": settings.SERVICE_COMMIT})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Readiness check: database unreachable")
        return False
    return True


def _cache_ok() -> bool:
    try:
        cache.set("readyz", "ok", timeout=5)
        return bool(cache.get("readyz") == "ok")
    except Exception:  # every cache backend raises its own client's errors
        logger.exception("Readiness check: cache unreachable")
        return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
