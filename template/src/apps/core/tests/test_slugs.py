import re

import pytest
from django.core.exceptions import ValidationError

from apps.core.slugs import on_name, slug_for


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Blue Mug", "blue-mug"),
        ("日本語の商品", "日本語の商品"),
        ("Crème Brûlée", "crème-brûlée"),
        ("  Ελληνικά  ", "ελληνικά"),
    ],
)
def test_letters_of_every_script_are_kept(name: str, slug: str) -> None:
    assert slug_for(name, model="product", max_length=200) == slug


@pytest.mark.parametrize("name", ["!!!", "   ", "🙂🙂", "---"])
def test_a_name_without_letters_gets_a_model_slug(name: str) -> None:
    assert re.fullmatch(r"product-[0-9a-f]{8}", slug_for(name, model="product", max_length=200))


def test_the_slug_fits_the_column_and_does_not_end_with_a_dash() -> None:
    slug = slug_for("a" * 9 + " b" * 10, model="product", max_length=10)

    assert slug == "aaaaaaaaa"


def test_slug_errors_are_reported_on_the_name() -> None:
    error = ValidationError({"slug": ["Bad slug."], "price": ["Bad price."]})

    moved = on_name(error)

    assert moved.message_dict == {"name": ["Bad slug."], "price": ["Bad price."]}


def test_other_errors_are_left_as_they_are() -> None:
    error = ValidationError("Not allowed.")

    assert on_name(error) is error
