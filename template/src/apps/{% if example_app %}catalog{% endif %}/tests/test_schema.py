"""The catalog's schema states the bounds its validation enforces (apps.core.money)."""

import re
from typing import Any

import pytest
from django.test import Client

from apps.core import money


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    document: dict[str, Any] = Client().get("/api/v1/schema/?format=json").json()
    return document


def test_price_pattern_refuses_what_the_serializer_refuses(schema: dict[str, Any]) -> None:
    price = schema["components"]["schemas"]["ProductWriteRequest"]["properties"]["price"]
    pattern = re.compile(price["pattern"])

    assert price["pattern"] == money.PATTERN
    assert pattern.fullmatch("9.50")
    assert pattern.fullmatch(str(money.MAXIMUM))
    for refused in ["-1", "", "1e2", "1.005", "123456789"]:
        assert not pattern.fullmatch(refused), refused


@pytest.mark.parametrize("name", ["min_price", "max_price"])
def test_price_filters_state_the_same_bound(schema: dict[str, Any], name: str) -> None:
    parameters = schema["paths"]["/api/v1/catalog/products/"]["get"]["parameters"]
    (parameter,) = [p for p in parameters if p["name"] == name]

    assert parameter["schema"]["pattern"] == money.PATTERN
