"""JSON bodies have the types the schema states (apps.core.serializers): no coercion."""

from typing import Any

import pytest
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.core.serializers import Serializer
from apps.users.models import User
from apps.users.tests.factories import UserFactory


class Everything(Serializer[dict[str, Any]]):
    text = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    number = serializers.IntegerField(required=False)
    flag = serializers.BooleanField(required=False)
    amount = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    choice = serializers.ChoiceField(choices=["a", "b"], required=False)
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    maybe = serializers.CharField(required=False, allow_null=True)
    stamp = serializers.DateTimeField(required=False)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("text", 0, "string"),
        ("text", True, "string"),
        ("email", ["a@example.com"], "string"),
        ("number", "5", "integer"),
        ("number", True, "integer"),
        ("number", 5.0, "integer"),
        ("flag", "true", "boolean"),
        ("flag", 1, "boolean"),
        ("amount", 9.5, "string"),
        ("choice", 1, "string"),
        ("user", "1", "integer"),
    ],
)
def test_a_value_of_another_json_type_is_refused(field: str, value: Any, expected: str) -> None:
    serializer = Everything(data={field: value})

    with pytest.raises(ValidationError) as refused:
        serializer.is_valid(raise_exception=True)

    assert refused.value.detail == {field: [f"Not a valid {expected}."]}
    assert refused.value.get_codes() == {field: ["invalid"]}


def test_every_wrong_field_is_named_at_once() -> None:
    serializer = Everything(data={"text": 1, "number": "1", "flag": "no"})

    assert not serializer.is_valid()
    assert set(serializer.errors) == {"text", "number", "flag"}


@pytest.mark.django_db
def test_values_of_the_stated_types_pass_on_to_the_fields() -> None:
    user = UserFactory.create()
    data = {
        "text": "0", "email": "a@example.com", "number": 5, "flag": False, "amount": "9.50",
        "choice": "a", "user": user.pk, "maybe": None, "stamp": "2026-12-01T10:00:00Z",
    }  # fmt: skip
    serializer = Everything(data=data)

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["number"] == 5
    assert serializer.validated_data["user"] == user


def test_a_form_body_is_left_to_the_fields_which_parse_its_strings() -> None:
    serializer = Everything(data=QueryDict("number=5&flag=true"))

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"number": 5, "flag": True}
