from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from apps.core.exceptions import problem_details_handler


def _handle(exc: Exception) -> Any:
    request = APIRequestFactory().get("/api/v1/things/7/?q=1")
    return problem_details_handler(exc, {"request": request})


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404(), 404, "not_found"),
        (PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.MethodNotAllowed("DELETE"), 405, "method_not_allowed"),
        (exceptions.ParseError(), 400, "parse_error"),
        (exceptions.UnsupportedMediaType("text/csv"), 415, "unsupported_media_type"),
        (exceptions.APIException(), 500, "error"),
    ],
)
def test_api_errors_become_problem_documents(exc: Exception, status: int, code: str) -> None:
    response = _handle(exc)

    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert response.data["status"] == status
    assert response.data["code"] == code
    assert response.data["instance"] == "/api/v1/things/7/?q=1"


def test_validation_errors_list_each_field() -> None:
    response = _handle(exceptions.ValidationError({"name": ["This field is required."]}))

    assert response.status_code == 400
    assert response.data == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The request data is invalid.",
        "code": "validation_error",
        "instance": "/api/v1/things/7/?q=1",
        "errors": {"name": [{"message": "This field is required.", "code": "invalid"}]},
    }


def test_django_validation_errors_from_services_are_400() -> None:
    exc = DjangoValidationError({"price": ["Must be positive."]}, code="invalid")

    response = _handle(exc)

    assert response.status_code == 400
    assert response.data["errors"] == {
        "price": [{"message": "Must be positive.", "code": "invalid"}]
    }


def test_integrity_error_is_a_409_conflict_not_a_500() -> None:
    response = _handle(IntegrityError("duplicate key value violates unique constraint"))

    assert response.status_code == 409
    assert response.data["code"] == "conflict"
    assert "duplicate key" not in response.data["detail"]  # no database internals leak


def test_throttled_response_says_when_to_retry() -> None:
    response = _handle(exceptions.Throttled(wait=12))

    assert response.status_code == 429
    assert response.data["code"] == "throttled"
    assert response["Retry-After"] == "12"


def test_unexpected_errors_are_left_to_django() -> None:
    assert _handle(RuntimeError("bug")) is None
