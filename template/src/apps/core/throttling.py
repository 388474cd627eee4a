from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class AuthRateThrottle(SimpleRateThrottle):
    """Limits log-in and token requests per client address (the `auth` rate).

    Applied to the endpoints that take credentials, so that guessing passwords or replaying
    refresh tokens is slow whether or not the caller is authenticated.
    """

    scope = "auth"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
