"""`ordering`: only the view's `ordering_fields`, each optionally descending; else a 400."""

from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.filters import StrictOrderingFilter
from apps.users.models import User

VIEW = SimpleNamespace(ordering_fields=["email", "date_joined"], ordering=["-date_joined"])


def ordering_for(view: object, **params: str) -> Sequence[str] | None:
    request = Request(APIRequestFactory().get("/", params))
    return StrictOrderingFilter().get_ordering(request, User.objects.none(), view)


def test_without_the_parameter_the_view_default_applies() -> None:
    assert ordering_for(VIEW) == ["-date_joined"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("email", ["email"]),
        ("-email", ["-email"]),
        ("-date_joined,email", ["-date_joined", "email"]),
        (" email , -date_joined ", ["email", "-date_joined"]),
    ],
)
def test_allowed_terms_order_in_the_order_given(value: str, expected: list[str]) -> None:
    assert ordering_for(VIEW, ordering=value) == expected


@pytest.mark.parametrize(
    "value", ["", "password", "-password", "email,", "email,,date_joined", "--email", "e\x00"]
)
def test_anything_else_is_refused_with_the_allowed_terms(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ordering_for(VIEW, ordering=value)

    allowed = "email, -email, date_joined, -date_joined"
    assert refused.value.detail == {
        "ordering": [f"Order by one or more of {allowed}, separated by commas."]
    }
    assert refused.value.get_codes() == {"ordering": ["invalid_ordering"]}


def test_a_view_without_ordering_fields_takes_no_ordering() -> None:
    view = SimpleNamespace(ordering=None)

    with pytest.raises(ValidationError) as refused:
        ordering_for(view, ordering="email")

    assert refused.value.detail == {"ordering": ["This list cannot be ordered."]}
    assert StrictOrderingFilter().get_schema_operation_parameters(view) == []


def test_the_schema_lists_every_term_as_an_enum_of_a_comma_separated_list() -> None:
    (parameter,) = StrictOrderingFilter().get_schema_operation_parameters(VIEW)

    assert parameter["name"] == "ordering"
    assert parameter["style"] == "form"
    assert parameter["explode"] is False
    assert parameter["schema"] == {
        "type": "array",
        "items": {"type": "string", "enum": ["email", "-email", "date_joined", "-date_joined"]},
        "minItems": 1,
    }
