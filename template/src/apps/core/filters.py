"""Filters shared by the apps: money in query parameters, and the two filter backends,
which refuse what DRF's and django-filter's would silently ignore.

An API client that sends a filter expects it to filter. Ignoring a parameter (an unknown
ordering, an empty filter value) answers 200 with rows the client did not ask for, and
makes the schema a promise the server does not keep: an outside fuzz run found both.
"""

from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import Model, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from apps.core.money import SCHEMA, MoneyFormField


@extend_schema_field(SCHEMA)
class MoneyFilter(django_filters.NumberFilter):
    """An amount in a query parameter: the pattern and bounds of apps.core.money."""

    field_class = MoneyFormField


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing a filter parameter sent without a value.

    django-filter reads `?status=` (or a blank value) as "no filter", as an HTML form sends
    an untouched field: an API client that sends one gets every row and no sign that its
    filter did nothing. Here a filter parameter that is present must have a value: empty
    or blank (what `str.strip()` removes, the schema's whitespace) is a 400 with the code
    `blank`. apps.core.schema writes the same rule into every query string's pattern.
    """

    blank_code = "blank"

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Model], view: Any
    ) -> QuerySet[Model]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            blank = [
                name
                for name in filterset_class.base_filters
                if any(not value.strip() for value in request.query_params.getlist(name))
            ]
            if blank:
                message = "Give a value, or leave the parameter out."
                raise ValidationError(
                    {name: [ErrorDetail(message, code=self.blank_code)] for name in blank}
                )
        return super().filter_queryset(request, queryset, view)  # type: ignore[no-any-return]


class StrictOrderingFilter(OrderingFilter):
    """DRF's OrderingFilter, refusing the `ordering` it would ignore.

    DRF drops the terms of `?ordering=` that are not in the view's `ordering_fields` and
    sorts by the default instead: a typo (`?ordering=prce`) silently gives another order,
    and the schema cannot say which values work. Here `ordering` is one or more
    comma-separated terms, each a name in the view's `ordering_fields` with an optional
    "-" for descending; anything else (an unknown name, an empty term) is a 400 with the
    code `invalid_ordering`. The schema lists the terms as an enum. A view without an
    `ordering_fields` list takes no `ordering` at all: DRF's fallback (every serializer
    field) would let a client sort by columns nobody chose to index.
    """

    invalid_code = "invalid_ordering"

    def allowed_terms(self, view: Any) -> list[str]:
        fields = getattr(view, "ordering_fields", None)
        if not isinstance(fields, list | tuple):
            return []
        return [term for field in fields for term in (field, f"-{field}")]

    def get_ordering(
        self, request: Request, queryset: QuerySet[Model], view: Any
    ) -> Sequence[str] | None:
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        allowed = self.allowed_terms(view)
        terms = [term.strip() for term in raw.split(",")]
        if not allowed or any(term not in allowed for term in terms):
            message = (
                f"Order by one or more of {', '.join(allowed)}, separated by commas."
                if allowed
                else "This list cannot be ordered."
            )
            raise ValidationError(
                {self.ordering_param: [ErrorDetail(message, code=self.invalid_code)]}
            )
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = self.allowed_terms(view)
        if not allowed:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Comma-separated fields to order by; a leading `-` descends.",
                "schema": {
                    "type": "array",
                    "items": {"type": "string", "enum": allowed},
                    "minItems": 1,
                },
                "style": "form",
                "explode": False,
            }
        ]
