from rest_framework import authentication
from rest_framework.request import Request


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, answering 401 (not 403) to anonymous requests.

    DRF turns "not authenticated" into 403 unless the first authentication class names a
    `WWW-Authenticate` challenge. Naming one keeps 401 (who are you?) apart from 403 (you
    may not) for API clients.
    """

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="api"'
