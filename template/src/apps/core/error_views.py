"""Django's error handlers (handler400/403/404/500), speaking problem+json under /api/.

DRF's exception handler (apps.core.exceptions) answers for errors raised inside API views.
These answer for what Django decides before or outside a view: a route that does not exist,
a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a Host not in ALLOWED_HOSTS, an unhandled error.
An API client gets the same problem document everywhere under /api/; pages elsewhere (the
admin) keep Django's own.
"""

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from apps.core.exceptions import (
    PROBLEM_CONTENT_TYPE,
    ErrorCode,
    bad_request_problem,
    problem_document,
)

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _problem(request: HttpRequest, status: int, code: ErrorCode, detail: str) -> JsonResponse:
    # get_full_path() reads the path only: it never calls get_host(), which a bad Host fails.
    body = problem_document(
        status=status, code=code, detail=detail, instance=request.get_full_path()
    )
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    status, code, detail = bad_request_problem(exception)
    return _problem(request, status, code, detail)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _problem(
        request,
        HTTPStatus.FORBIDDEN,
        ErrorCode.PERMISSION_DENIED,
        "You do not have permission to perform this action.",
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _problem(
        request, HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, "No API resource at this address."
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    # Nothing about the failure itself: it is in the log, under this response's request id.
    return _problem(
        request,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        ErrorCode.SERVER_ERROR,
        "The server failed to answer this request.",
    )
