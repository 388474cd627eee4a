"""Log-in lock-out: repeated failed passwords lock an account, and an address, for a while.

One mechanism for every door that takes a password (the admin, session log-in, the JWT
token endpoint): it is the authentication backend (`AUTHENTICATION_BACKENDS`), so whatever
calls `django.contrib.auth.authenticate()` goes through it. The `auth` throttle slows
guessing per address per minute; this bounds it per account whatever the address (a
botnet), and per address across accounts (password spraying).

Failures are counted in the cache for `LOGIN_FAILURE_LIMITS["window"]` seconds from the
first one. While either count is at its limit, authentication fails without the password
being checked, the right password included, with the same answer as a wrong password (so a
lock tells an attacker nothing about the account). Unknown accounts are counted like real
ones. A success clears its account's count, not its address's: one good log-in must not
reset a spraying address.

The cache is not the database: if it cannot be reached, log-in goes on without the lock
(a warning is logged) rather than refusing every user; the `auth` throttle and the
password hasher still slow guessing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from apps.core.addresses import client_address

if TYPE_CHECKING:
    # Named in annotations only (the user model, settings.AUTH_USER_MODEL): core does not
    # depend on the users app at run time.
    from apps.users.models import User

logger = logging.getLogger(__name__)

type Counters = dict[str, str]  # "account"/"address" -> its cache key
# LOGIN_FAILURE_LIMITS: failures allowed per "account" and per "address" within "window"
# seconds.
type Limits = Mapping[str, int]


def failure_limits() -> Limits:
    limits: Limits = settings.LOGIN_FAILURE_LIMITS
    return limits


def _counters(request: HttpRequest | None, username: str) -> Counters:
    # Hashed: the cache holds no email addresses. Case-folded: `Admin@` is `admin@`.
    account = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    counters = {"account": f"lockout:account:{account}"}
    if request is not None:  # authenticate() called outside a request (a shell) has none
        counters["address"] = f"lockout:address:{client_address(request)}"
    return counters


def _locked(counters: Counters, limits: Limits) -> list[str]:
    """The counters at their limit: "account", "address", both or none."""
    try:
        counts = cache.get_many(list(counters.values()))
    # Any cache backend's error (Redis, memcached...): they share no base class.
    except Exception:
        logger.warning("Log-in lock-out not checked: the cache is unreachable.", exc_info=True)
        return []
    return [kind for kind, key in counters.items() if int(counts.get(key, 0)) >= limits[kind]]


def _record_failure(counters: Counters, limits: Limits) -> None:
    try:
        for key in counters.values():
            # The window starts at the first failure; incr() keeps the key's expiry.
            if not cache.add(key, 1, timeout=limits["window"]):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add() and incr(): a new window
                    cache.set(key, 1, timeout=limits["window"])
    except Exception:
        logger.warning("Failed log-in not counted: the cache is unreachable.", exc_info=True)


def _clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("Log-in lock-out not cleared: the cache is unreachable.", exc_info=True)


class LockoutBackend(ModelBackend):
    """Django's model backend behind the per-account and per-address failure limits."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:  # simplejwt and others pass the USERNAME_FIELD by name
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        limits = failure_limits()
        counters = _counters(request, str(username))
        if locked := _locked(counters, limits):
            logger.warning(
                "Log-in refused without checking the password: %s locked after %s failures "
                "(address %s).",
                " and ".join(locked),
                " / ".join(str(limits[kind]) for kind in locked),
                client_address(request) if request is not None else "unknown",
            )
            # PermissionDenied stops authenticate() from trying other backends.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            _record_failure(counters, limits)
            return None
        _clear(counters["account"])
        return user

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # ModelBackend's own async version would check the password without the limits.
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )
