"""Throttles keyed on the client's address as `apps.core.addresses.client_address` finds it.

DRF's own `get_ident` would agree while `REST_FRAMEWORK["NUM_PROXIES"]` matches
TRUSTED_PROXIES; these classes use the one definition the log-in lock-out uses too, so a
change there cannot leave the two disagreeing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import throttling

from apps.core.addresses import client_address

if TYPE_CHECKING:
    # Only named in annotations: rest_framework.views imports the default throttle classes
    # (these) while it defines APIView, so importing it here at run time would be circular.
    from rest_framework.request import Request
    from rest_framework.views import APIView


class AnonRateThrottle(throttling.AnonRateThrottle):
    """The `anon` rate, per client address."""

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class UserRateThrottle(throttling.UserRateThrottle):
    """The `user` rate, per user; per client address for anonymous requests."""

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class AuthRateThrottle(throttling.SimpleRateThrottle):
    """Limits log-in and token requests per client address (the `auth` rate).

    Applied to the endpoints that take credentials, so that guessing passwords or replaying
    refresh tokens is slow whether or not the caller is authenticated.
    """

    scope = "auth"

    def get_ident(self, request: Request) -> str:
        return client_address(request)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
