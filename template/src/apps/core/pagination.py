from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class DefaultPagination(PageNumberPagination):
    """Page-number pagination with a client-chosen page size, capped.

    The cap keeps one request from asking for the whole table: a larger `page_size` gets
    `max_page_size` rows, as the schema says. A `page` or `page_size` that is not a whole
    number of 1 or more (an empty `page=` included, which DRF would read as page 1) is a
    400, not silently replaced by the default: what the schema calls invalid, validation
    refuses. A page past the last one is DRF's 404.
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        size = _whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> int:
        number = _whole_number(request, self.page_query_param)
        return 1 if number is None else number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page; at most {self.max_page_size} are returned."
                )
        return parameters


def _whole_number(request: Request, name: str) -> int | None:
    """The query parameter as a whole number of 1 or more; None when absent; else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ValidationError({name: ["Enter a whole number of 1 or more."]}, code="invalid")
    return int(raw)
