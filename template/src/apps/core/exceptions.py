"""Every API error as an RFC 9457 problem document (`application/problem+json`).

Clients branch on `code`, a stable machine-readable identifier (the `ErrorCode` values);
`title` and `detail` are for humans and may change wording. Validation errors list each
field's messages and codes under `errors`. A database constraint that rejects a write which
passed validation (two requests racing for the same unique value) is a 409 `conflict`,
never a 500.
"""

from enum import StrEnum
from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ErrorCode(StrEnum):
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
    ERROR = "error"


def problem_response(
    *, status: int, code: ErrorCode, detail: str, instance: str, **extra: Any
) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code.value,
        "instance": instance,
        **extra,
    }
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


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
        default_code = api_exc.default_code
        code = ErrorCode(default_code) if default_code in ErrorCode else ErrorCode.ERROR
        response = problem_response(
            status=api_exc.status_code,
            code=code,
            detail=str(api_exc.detail),
            instance=instance,
        )

    # APIView sets `auth_header` on authentication failures; Throttled carries `wait`.
    if auth_header := getattr(api_exc, "auth_header", None):
        response["WWW-Authenticate"] = auth_header
    if wait := getattr(api_exc, "wait", None):
        response["Retry-After"] = str(int(wait))
    return response
