"""Money in the API: a decimal string whose schema says exactly what validation accepts.

DRF's DecimalField accepts more than the OpenAPI pattern drf-spectacular writes for it
(numbers, exponents, surrounding spaces) and the pattern allows what the field refuses
(negatives when `min_value=0`, an empty string). Clients and fuzzers trust the schema, so
here one regular expression is both the schema's `pattern` and the first validation step:
unsigned, 1 to `max_digits - decimal_places` whole digits, up to `decimal_places` decimals.
"""

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_DIGITS = 10
DECIMAL_PLACES = 2
WHOLE_DIGITS = MAX_DIGITS - DECIMAL_PLACES
PATTERN = r"^\d{1," + str(WHOLE_DIGITS) + r"}(?:\.\d{1," + str(DECIMAL_PLACES) + r"})?$"
MAXIMUM = Decimal(10**WHOLE_DIGITS) - Decimal(1).scaleb(-DECIMAL_PLACES)
_MONEY = re.compile(PATTERN)
SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": PATTERN,
    "example": "9.50",
    "description": f"A non-negative amount, at most {MAXIMUM}, as a decimal string.",
}


@extend_schema_field(SCHEMA)
class MoneyField(serializers.DecimalField):
    """A non-negative amount with 2 decimals, sent and answered as a string ("9.50")."""

    default_error_messages = {
        **serializers.DecimalField.default_error_messages,
        "invalid": f"Enter an amount from 0 to {MAXIMUM} with at most {DECIMAL_PLACES} "
        'decimals, as a string such as "9.50".',
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not _MONEY.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class MoneyFormField(forms.DecimalField):
    """The same rule for query parameters (apps.core.filters.MoneyFilter)."""

    def to_python(self, value: Any) -> Any:  # Decimal | None; the stubs say IntegerField's
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not _MONEY.fullmatch(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
