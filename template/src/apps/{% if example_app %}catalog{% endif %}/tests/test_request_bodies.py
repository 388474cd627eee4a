"""Write bodies are JSON with the schema's types; the image upload is the one multipart body."""

import pytest
from rest_framework.test import APIClient

from apps.catalog.models import Review
from apps.catalog.tests.factories import CategoryFactory, ProductFactory

PRODUCTS_URL = "/api/v1/catalog/products/"

pytestmark = pytest.mark.django_db


def test_a_number_for_a_text_field_is_refused_not_stored_as_text(api: APIClient) -> None:
    product = ProductFactory.create(published=True)

    response = api.post(f"{PRODUCTS_URL}{product.pk}/review/", {"rating": 4, "body": 0})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "body": [{"message": "Not a valid string.", "code": "invalid"}]
    }
    assert not Review.objects.exists()


def test_a_string_for_an_id_or_a_rating_is_refused(api: APIClient) -> None:
    category = CategoryFactory.create()
    product = ProductFactory.create(published=True)

    created = api.post(PRODUCTS_URL, {"name": "Mug", "category": str(category.pk), "price": "9.50"})
    reviewed = api.post(f"{PRODUCTS_URL}{product.pk}/review/", {"rating": "4"})

    assert created.json()["errors"]["category"][0]["code"] == "invalid"
    assert reviewed.json()["errors"]["rating"][0]["code"] == "invalid"


def test_a_form_body_is_refused_as_an_unsupported_media_type(api: APIClient) -> None:
    category = CategoryFactory.create()

    response = api.post(
        PRODUCTS_URL, {"name": "Mug", "category": category.pk, "price": "9.50"}, format="multipart"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
