import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.core.logs import REQUEST_ID_META_KEY, request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Accept an upstream id only if it is short and plain: it ends up in every log line.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestIdMiddleware:
    """Tags each request with an id: the caller's `X-Request-ID`, or a new UUID.

    The id is put on every log line written while the request is handled (see
    apps.core.logs) and returned in the response header, so a client, a proxy and this
    service can all name the same request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Kept on the request too: Django logs 4xx/5xx responses ("Not Found: ...") after the
        # middleware chain has returned, when the context variable is already reset.
        request.META[REQUEST_ID_META_KEY] = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
