"""Every API error as an RFC 9457 problem document (`application/problem+json`).

Clients branch on `code`, a stable machine-readable identifier (the `ErrorCode` values);
`title` and `detail` are for humans and may change wording. Validation errors list each
field's messages and codes under `errors`. A database constraint that rejects a write which
passed validation (two requests racing for the same unique value) is a 409 `conflict`,
never a 500. A database that cannot be reached (down, restarting) is a 503
`database_unavailable`, a query cut off by the statement or lock timeout
(apps.core.database) a 503 `database_timeout`, both with `Retry-After`: the client may
retry, and the on-call sees a warning, not a stack of 500s. Errors Django answers before or
outside DRF (unknown routes, oversized bodies, a bad Host) use the same document: see
apps.core.error_views.
"""

import logging
from collections.abc import Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from psycopg.errors import LockNotAvailable, QueryCanceled
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Seconds a client should wait before retrying while the database is unreachable: long
# enough for a restart or a fail-over to finish, short enough not to strand a client.
DATABASE_RETRY_AFTER = 5


class ErrorCode(StrEnum):
    """Every `code` this API answers with; the one place codes are defined."""

    VALIDATION_ERROR = "validation_error"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    CONFLICT = "conflict"
    TOKEN_NOT_VALID = "token_not_valid"  # noqa: S105  # an error code, not a credential
    BAD_REQUEST = "bad_request"
    INVALID_HOST = "invalid_host"
    REQUEST_TOO_LARGE = "request_too_large"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DATABASE_TIMEOUT = "database_timeout"
    SERVER_ERROR = "server_error"
    ERROR = "error"


def problem_document(
    *, status: int, code: ErrorCode, detail: str, instance: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code.value,
        "instance": instance,
        **extra,
    }


class ProblemResponse(Response):
    """A problem document, rendered as JSON whatever renderer the view negotiated.

    A view that serves another format (the schema view's YAML) must not turn its errors into
    that format: the body is JSON because the content type says so.
    """

    @property
    def rendered_content(self) -> Any:
        self.accepted_renderer = JSONRenderer()
        self.accepted_media_type = PROBLEM_CONTENT_TYPE
        if getattr(self, "renderer_context", None) is None:  # built outside a view
            self.renderer_context: dict[str, Any] = {}
        return super().rendered_content


def problem_response(
    *, status: int, code: ErrorCode, detail: str, instance: str, **extra: Any
) -> Response:
    body = problem_document(status=status, code=code, detail=detail, instance=instance, **extra)
    return ProblemResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def bad_request_problem(exc: Exception) -> tuple[int, ErrorCode, str]:
    """Status, code and message for a request Django refuses as malformed or suspicious."""
    match exc:
        case RequestDataTooBig():
            return (
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                ErrorCode.REQUEST_TOO_LARGE,
                ("The request body is larger than this service accepts."),
            )
        case DisallowedHost():
            return (
                HTTPStatus.BAD_REQUEST,
                ErrorCode.INVALID_HOST,
                ("The Host header names a host this service does not serve."),
            )
        case _:
            return HTTPStatus.BAD_REQUEST, ErrorCode.BAD_REQUEST, "The request is malformed."


def _code(value: object) -> ErrorCode | None:
    return ErrorCode(value) if isinstance(value, str) and value in ErrorCode else None


def _message_and_code(api_exc: exceptions.APIException) -> tuple[str, ErrorCode]:
    """A clean message and a stable code from any DRF detail, string or not.

    Libraries raise with structured details (simplejwt: `{"detail": ..., "code":
    "token_not_valid", "messages": [...]}`; others a list): the human message is the
    `detail` entry or the first string found, the code the detail's own when it is one of
    ours, else the exception's default code.
    """
    detail: Any = api_exc.detail
    code = getattr(detail, "code", None)
    if isinstance(detail, Mapping):
        code = detail.get("code", code)
        detail = detail.get("detail", next(iter(detail.values()), ""))
    while isinstance(detail, list | tuple):
        detail = detail[0] if detail else ""
    if isinstance(detail, Mapping):  # a list of dicts: take the first one's message
        detail = next(iter(detail.values()), "")
    message = str(detail) if isinstance(detail, str) else ""
    error_code = _code(str(code) if code else None) or _code(api_exc.default_code)
    return message or str(api_exc.default_detail), error_code or ErrorCode.ERROR


def _api_exception(exc: Exception) -> exceptions.APIException | None:
    """Translate Django's own exceptions into DRF's, as DRF's default handler does."""
    match exc:
        case exceptions.APIException():
            return exc
        case Http404():
            return exceptions.NotFound()
        case PermissionDenied():
            return exceptions.PermissionDenied()
        case DjangoValidationError():
            detail = as_serializer_error(exc)
            # Model-wide errors (`__all__`, e.g. a unique constraint) use DRF's key.
            if NON_FIELD_ERRORS in detail:
                detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
            return exceptions.ValidationError(detail=detail)
        case _:
            return None


def problem_details_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""

    if isinstance(exc, OperationalError | InterfaceError):
        # Connection refused or lost, or a query cut off by statement_timeout (SQLSTATE
        # 57014) or lock_timeout (55P03): nothing the client did wrong.
        timed_out = isinstance(exc.__cause__, QueryCanceled | LockNotAvailable)
        logger.warning(
            "Database %s, answering 503: %s", "timeout" if timed_out else "unavailable", exc
        )
        set_rollback()
        response = problem_response(
            status=HTTPStatus.SERVICE_UNAVAILABLE,
            code=ErrorCode.DATABASE_TIMEOUT if timed_out else ErrorCode.DATABASE_UNAVAILABLE,
            detail=(
                "The database did not answer in time. Retry later."
                if timed_out
                else "The service cannot reach its database. Retry later."
            ),
            instance=instance,
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response

    if isinstance(exc, RequestDataTooBig | DisallowedHost):
        status, code, detail = bad_request_problem(exc)
        return problem_response(status=status, code=code, detail=detail, instance=instance)

    if isinstance(exc, IntegrityError):
        set_rollback()
        return problem_response(
            status=HTTPStatus.CONFLICT,
            code=ErrorCode.CONFLICT,
            detail="The request conflicts with the current state of the resource.",
            instance=instance,
        )

    api_exc = _api_exception(exc)
    if api_exc is None:
        return None  # an unexpected error: let Django log it and answer 500

    set_rollback()
    if isinstance(api_exc, exceptions.ValidationError):
        response = problem_response(
            status=api_exc.status_code,
            code=ErrorCode.VALIDATION_ERROR,
            detail="The request data is invalid.",
            instance=instance,
            errors=api_exc.get_full_details(),
        )
    else:
        detail, code = _message_and_code(api_exc)
        response = problem_response(
            status=api_exc.status_code, code=code, detail=detail, instance=instance
        )

    # APIView sets `auth_header` on authentication failures; Throttled carries `wait`.
    if auth_header := getattr(api_exc, "auth_header", None):
        response["WWW-Authenticate"] = auth_header
    if wait := getattr(api_exc, "wait", None):
        response["Retry-After"] = str(int(wait))
    return response
