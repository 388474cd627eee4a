"""The project's serializer bases: JSON bodies are checked against the types the schema states.

DRF's fields coerce: a `CharField` takes the number `0` as the string "0", an `IntegerField`
and a `PrimaryKeyRelatedField` take the string "5" as 5, a `BooleanField` takes "yes" and 1.
That suits HTML forms, where every value is a string; this API takes JSON only
(`DEFAULT_PARSER_CLASSES`; the one multipart upload sets its own parser), and its schema says
`"type": "string"` or `"integer"`. A client that sends the wrong type has a bug the server
should name, not hide; an outside fuzz run found `{"body": 0}` stored as "0".

So every serializer of the apps derives from `Serializer` or `ModelSerializer` here (the
`startapp` template does). Before DRF's own validation, each writable field present in a
JSON object must have the JSON type of its schema: else the field's error is "Not a valid
<type>." with the code `invalid`, all such fields at once. `null` is left to the field
(`allow_null`). Fields with no single JSON type here (files, lists, nested serializers,
dates and decimals, which are strings the fields parse themselves) are left as DRF has them.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import models
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

_MT = TypeVar("_MT", bound=models.Model)
_IN = TypeVar("_IN")

_INTEGER_KEYS = (models.AutoField, models.BigAutoField, models.IntegerField)
_NAMES = {str: "string", int: "integer", bool: "boolean"}


def json_type(field: serializers.Field[Any, Any, Any, Any]) -> type | None:
    """The JSON type a field's schema states, where it states exactly one."""
    if isinstance(field, serializers.BooleanField):
        return bool
    if isinstance(field, serializers.IntegerField):
        return int
    if isinstance(field, serializers.CharField | serializers.DecimalField):
        return str  # DecimalField: COERCE_DECIMAL_TO_STRING, a decimal string
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        queryset = field.get_queryset()
        pk = queryset.model._meta.pk if queryset is not None else None
        return int if isinstance(pk, _INTEGER_KEYS) else None
    if isinstance(field, serializers.ChoiceField):
        kinds = {type(choice) for choice in field.choices}
        return kinds.pop() if len(kinds) == 1 and kinds <= {str, int} else None
    return None


def _has_type(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


class JSONTypesMixin:
    """Refuse values whose JSON type is not the field's, before DRF would coerce them."""

    def to_internal_value(self, data: Any) -> Any:
        # A form or multipart body (a QueryDict) holds strings only: its fields parse them.
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            errors: dict[str, list[ErrorDetail]] = {}
            for field in self._writable_fields:  # type: ignore[attr-defined]
                value = data.get(field.field_name)
                expected = json_type(field)
                if value is None or expected is None or _has_type(value, expected):
                    continue
                message = f"Not a valid {_NAMES[expected]}."
                errors[field.field_name] = [ErrorDetail(message, code="invalid")]
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class Serializer(JSONTypesMixin, serializers.Serializer[_IN]):
    """DRF's Serializer, with the JSON types checked (see the module)."""


class ModelSerializer(JSONTypesMixin, serializers.ModelSerializer[_MT]):
    """DRF's ModelSerializer, with the JSON types checked (see the module)."""
