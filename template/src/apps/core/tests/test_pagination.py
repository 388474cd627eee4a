"""Page and page size: whole numbers of 1 or more, as the schema says; the size is capped."""

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.pagination import DefaultPagination


def request_with(**params: str) -> Request:
    return Request(APIRequestFactory().get("/", params))


def read(pagination: DefaultPagination, request: Request, name: str) -> int:
    if name == "page":
        return pagination.get_page_number(request, paginator=None)
    return pagination.get_page_size(request)


def test_absent_parameters_mean_the_first_page_of_the_default_size() -> None:
    pagination = DefaultPagination()

    assert pagination.get_page_number(request_with(), paginator=None) == 1
    assert pagination.get_page_size(request_with()) == 25


def test_a_larger_page_size_gets_the_cap() -> None:
    assert DefaultPagination().get_page_size(request_with(page_size="1000")) == 100


@pytest.mark.parametrize("value", ["", "0", "-1", "1.5", "abc", "last", "\u0661"])
@pytest.mark.parametrize("name", ["page", "page_size"])
def test_anything_but_a_whole_number_of_one_or_more_is_refused(name: str, value: str) -> None:
    pagination = DefaultPagination()
    request = request_with(**{name: value})

    with pytest.raises(ValidationError) as refused:
        read(pagination, request, name)

    assert refused.value.detail == {name: ["Enter a whole number of 1 or more."]}
