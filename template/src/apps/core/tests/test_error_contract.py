"""One error contract under /api/: every `ErrorCode` is answered, as problem+json, somewhere.

Each code has a case that produces it, through the API where Django or DRF can be made to
answer it with a request, else through the handler that owns it. A code added to ErrorCode
without a case here fails `test_every_code_has_a_case`.
"""

import json
from collections.abc import Callable
from typing import Any, Protocol

import pytest
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from psycopg.errors import QueryCanceled
from pytest_django import Settings
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from apps.core import error_views
from apps.core.exceptions import ErrorCode, problem_details_handler


class Answer(Protocol):
    """What the cases return: a test-client response, a view's or a handler's."""

    status_code: int

    @property
    def content(self) -> bytes: ...

    def __getitem__(self, header: str) -> str: ...


type Case = Callable[[Client, Settings], Answer]


def _handled(exc: Exception) -> Response:
    request = APIRequestFactory().get("/api/v1/things/")
    response = problem_details_handler(exc, {"request": request})
    assert response is not None
    response.render()
    return response


def _too_large(client: Client, settings: Settings) -> HttpResponse:
    # Django raises it while reading a body over DATA_UPLOAD_MAX_MEMORY_SIZE (in a view, or
    # before one); the production harness sends a real 5 MB body.
    request = RequestFactory().post("/api/v1/things/")
    return error_views.bad_request(request, RequestDataTooBig("too big"))


def _server_error(client: Client, settings: Settings) -> HttpResponse:
    return error_views.server_error(RequestFactory().get("/api/v1/things/"))


def _bad_request(client: Client, settings: Settings) -> HttpResponse:
    request = RequestFactory().get("/api/v1/things/")
    return error_views.bad_request(request, SuspiciousOperation("malformed"))


def _timed_out() -> OperationalError:
    """What Django raises when statement_timeout cancels a query."""
    error = OperationalError("canceling statement due to statement timeout")
    error.__cause__ = QueryCanceled()
    return error


# A structured detail, as simplejwt's InvalidToken raises it.
_TOKEN_DETAIL: Any = {
    "detail": "Given token not valid for any token type",
    "code": "token_not_valid",
    "messages": [{"token_class": "AccessToken", "message": "Token is invalid"}],
}

CASES: dict[ErrorCode, tuple[int, Case]] = {
    ErrorCode.VALIDATION_ERROR: (
        400,
        lambda c, s: _handled(exceptions.ValidationError({"name": ["Required."]})),
    ),
    ErrorCode.PARSE_ERROR: (400, lambda c, s: _handled(exceptions.ParseError())),
    ErrorCode.NOT_AUTHENTICATED: (401, lambda c, s: _handled(exceptions.NotAuthenticated())),
    ErrorCode.AUTHENTICATION_FAILED: (
        401,
        lambda c, s: _handled(exceptions.AuthenticationFailed()),
    ),
    ErrorCode.PERMISSION_DENIED: (403, lambda c, s: _handled(exceptions.PermissionDenied())),
    ErrorCode.NOT_FOUND: (404, lambda c, s: c.get("/api/v1/no-such-route/")),
    ErrorCode.METHOD_NOT_ALLOWED: (405, lambda c, s: c.delete("/api/v1/schema/")),
    ErrorCode.NOT_ACCEPTABLE: (406, lambda c, s: _handled(exceptions.NotAcceptable())),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        415,
        lambda c, s: _handled(exceptions.UnsupportedMediaType("text/csv")),
    ),
    ErrorCode.THROTTLED: (429, lambda c, s: _handled(exceptions.Throttled(wait=3))),
    ErrorCode.CONFLICT: (409, lambda c, s: _handled(IntegrityError("duplicate key"))),
    ErrorCode.TOKEN_NOT_VALID: (
        401,
        lambda c, s: _handled(exceptions.AuthenticationFailed(_TOKEN_DETAIL)),
    ),
    ErrorCode.BAD_REQUEST: (400, _bad_request),
    ErrorCode.INVALID_HOST: (400, lambda c, s: c.get("/api/v1/", HTTP_HOST="evil.example")),
    ErrorCode.REQUEST_TOO_LARGE: (413, _too_large),
    ErrorCode.DATABASE_UNAVAILABLE: (
        503,
        lambda c, s: _handled(OperationalError("connection refused")),
    ),
    ErrorCode.DATABASE_TIMEOUT: (503, lambda c, s: _handled(_timed_out())),
    ErrorCode.SERVER_ERROR: (500, _server_error),
    ErrorCode.ERROR: (500, lambda c, s: _handled(exceptions.APIException())),
}


def test_every_code_has_a_case() -> None:
    assert set(CASES) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_each_code_is_a_problem_document(code: ErrorCode, settings: Settings) -> None:
    status, case = CASES[code]
    client = Client(raise_request_exception=False)

    response = case(client, settings)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    document: dict[str, Any] = json.loads(response.content)
    assert document["code"] == code.value
    assert document["status"] == status
    assert isinstance(document["detail"], str)
    assert document["detail"]
    assert "ErrorDetail" not in document["detail"]


def test_a_structured_detail_becomes_its_message() -> None:
    response = _handled(exceptions.AuthenticationFailed(_TOKEN_DETAIL))

    assert response.data["detail"] == "Given token not valid for any token type"


def test_a_list_detail_becomes_its_first_message() -> None:
    response = _handled(exceptions.PermissionDenied(["Not yours.", "Really."]))

    assert response.data["detail"] == "Not yours."
    assert response.data["code"] == "permission_denied"


def test_database_unavailable_says_when_to_retry() -> None:
    response = _handled(OperationalError("could not connect to server"))

    assert response["Retry-After"] == "5"
    assert "could not connect" not in response.data["detail"]  # no database internals leak


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/api/v1/nope/", "application/problem+json"), ("/nope/", "text/html; charset=utf-8")],
)
def test_pages_outside_the_api_keep_django_defaults(path: str, expected: str) -> None:
    response = Client().get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == expected


def test_server_errors_outside_the_api_keep_django_defaults() -> None:
    response = error_views.server_error(RequestFactory().get("/admin/"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
