"""A filter parameter that is sent must have a value (apps.core.filters.StrictFilterBackend)."""

from types import SimpleNamespace

import pytest
from django_filters.filterset import filterset_factory
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.filters import StrictFilterBackend
from apps.users.models import User

# A CharFilter and a BooleanFilter, as the apps' FilterSets declare them.
VIEW = SimpleNamespace(filterset_class=filterset_factory(User, fields=["email", "is_active"]))


def filter_with(query: str) -> str:
    request = Request(APIRequestFactory().get(f"/?{query}"))
    queryset = StrictFilterBackend().filter_queryset(request, User.objects.all(), VIEW)
    return str(queryset.query)


def test_absent_parameters_filter_nothing() -> None:
    assert "WHERE" not in filter_with("")


def test_a_value_filters() -> None:
    assert "WHERE" in filter_with("email=a%40example.com")


@pytest.mark.parametrize("query", ["email=", "email=%20%09", "email=%E3%80%80", "is_active="])
def test_an_empty_or_blank_value_is_refused_not_ignored(query: str) -> None:
    name = query.split("=", 1)[0]

    with pytest.raises(ValidationError) as refused:
        filter_with(query)

    assert refused.value.detail == {name: ["Give a value, or leave the parameter out."]}
    assert refused.value.get_codes() == {name: ["blank"]}


def test_every_blank_parameter_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        filter_with("email=&is_active=&email=x")

    assert refused.value.get_codes() == {"email": ["blank"], "is_active": ["blank"]}


def test_parameters_that_are_not_filters_are_left_to_their_owners() -> None:
    assert "WHERE" not in filter_with("page=&ordering=")
