import re
from decimal import Decimal

import pytest
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Product
from apps.catalog.tests.factories import CategoryFactory, ProductFactory, ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS_URL = "/api/v1/catalog/products/"


def product_url(product: Product) -> str:
    return f"{PRODUCTS_URL}{product.pk}/"


def test_anonymous_users_get_401() -> None:
    response = APIClient().get(PRODUCTS_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_list_shape(api: APIClient) -> None:
    product = ProductFactory.create(published=True, name="Mug", price=Decimal("9.50"))
    ReviewFactory.create(product=product, rating=5)

    response = api.get(PRODUCTS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None
    assert body["results"] == [
        {
            "id": product.pk,
            "name": "Mug",
            "slug": product.slug,
            "price": "9.50",
            "status": "published",
            "owner": product.owner.email,
            "category": {
                "id": product.category.pk,
                "name": product.category.name,
                "slug": product.category.slug,
            },
            "review_count": 1,
            "average_rating": "5.00",
            "published_at": product.published_at.isoformat().replace("+00:00", "Z")
            if product.published_at
            else None,
        }
    ]


@pytest.mark.parametrize("rows", [1, 25])
def test_list_query_count_does_not_grow_with_rows(
    api: APIClient, django_assert_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    ProductFactory.create_batch(rows, published=True)

    # One COUNT for pagination, one SELECT with owner, category and review stats joined.
    with django_assert_num_queries(2):
        response = api.get(PRODUCTS_URL)

    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 25])
def test_detail_query_count_does_not_grow_with_reviews(
    api: APIClient, django_assert_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    product = ProductFactory.create(published=True)
    ReviewFactory.create_batch(rows, product=product)

    # The product with its joins, then its latest reviews with their authors.
    with django_assert_num_queries(2):
        response = api.get(product_url(product))

    assert response.status_code == 200
    assert len(response.json()["recent_reviews"]) == min(rows, 5)


def test_create_sets_owner_and_slug_server_side(api: APIClient, user: User) -> None:
    category = CategoryFactory.create()
    other = UserFactory.create()

    response = api.post(
        PRODUCTS_URL,
        {"name": "Blue Mug", "category": category.pk, "price": "9.50", "owner": other.pk},
    )

    assert response.status_code == 201
    product = Product.objects.get()
    assert product.owner == user
    assert response.json()["slug"] == "blue-mug"
    assert response.json()["status"] == "draft"


@pytest.mark.parametrize(
    ("name", "slug"),
    [("日本語の商品", "日本語の商品"), ("Crème Brûlée", "crème-brûlée"), ("Кружка", "кружка")],
)
def test_names_in_any_script_keep_their_letters_in_the_slug(
    api: APIClient, name: str, slug: str
) -> None:
    category = CategoryFactory.create()

    response = api.post(PRODUCTS_URL, {"name": name, "category": category.pk, "price": "1.00"})

    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == slug


def test_a_name_without_letters_gets_a_generated_slug(api: APIClient) -> None:
    category = CategoryFactory.create()

    first = api.post(PRODUCTS_URL, {"name": "!!!", "category": category.pk, "price": "1.00"})
    second = api.post(PRODUCTS_URL, {"name": "???", "category": category.pk, "price": "1.00"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert re.fullmatch(r"product-[0-9a-f]{8}", first.json()["slug"])
    assert first.json()["slug"] != second.json()["slug"]


def test_create_with_invalid_data_is_a_400_problem(api: APIClient) -> None:
    response = api.post(PRODUCTS_URL, {"name": "", "price": "-1"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"name", "price", "category"}
    assert [error["code"] for error in body["errors"]["price"]] == ["invalid"]


@pytest.mark.parametrize("price", ["-1", "", "1e2", " 5", "1.005", "123456789", 5])
def test_a_price_outside_the_schema_pattern_is_refused(api: APIClient, price: object) -> None:
    """The schema's pattern for price is exactly what validation accepts (apps.core.money)."""
    category = CategoryFactory.create()

    response = api.post(
        PRODUCTS_URL, {"name": "Mug", "category": category.pk, "price": price}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"price"}


def test_a_duplicate_name_is_a_400_with_the_constraint_code(api: APIClient, user: User) -> None:
    existing = ProductFactory.create(owner=user, name="Blue Mug", slug="blue-mug")

    response = api.post(
        PRODUCTS_URL, {"name": "Blue Mug", "category": existing.category.pk, "price": "1.00"}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": [
            {"message": "You already have a product with this name.", "code": "duplicate_name"}
        ]
    }


def test_a_constraint_race_becomes_a_409_not_a_500(
    api: APIClient, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another request created the same slug between validation and insert.
    existing = ProductFactory.create(owner=user, name="Blue Mug", slug="blue-mug")
    monkeypatch.setattr(Product, "full_clean", lambda self, *args, **kwargs: None)

    response = api.post(
        PRODUCTS_URL, {"name": "Blue Mug", "category": existing.category.pk, "price": "1.00"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_owner_updates_and_deletes(api: APIClient, user: User) -> None:
    product = ProductFactory.create(owner=user)

    patched = api.patch(product_url(product), {"price": "12.00"})
    deleted = api.delete(product_url(product))

    assert patched.status_code == 200
    assert patched.json()["price"] == "12.00"
    assert deleted.status_code == 204
    assert not Product.objects.exists()


def test_someone_elses_product_is_404_for_writes_and_drafts(api: APIClient) -> None:
    draft = ProductFactory.create()
    published = ProductFactory.create(published=True)

    assert api.get(product_url(draft)).status_code == 404
    assert api.patch(product_url(published), {"price": "1.00"}).status_code == 404
    assert api.delete(product_url(published)).status_code == 404
    assert api.post(f"{product_url(published)}publish/").status_code == 404


def test_publish_action(api: APIClient, user: User) -> None:
    product = ProductFactory.create(owner=user)

    first = api.post(f"{product_url(product)}publish/")
    again = api.post(f"{product_url(product)}publish/")

    assert first.status_code == 200
    assert first.json()["status"] == ProductStatus.PUBLISHED
    assert again.status_code == 400
    assert again.json()["errors"]["non_field_errors"][0]["code"] == "already_published"


def test_review_action(api: APIClient) -> None:
    product = ProductFactory.create(published=True)

    response = api.post(f"{product_url(product)}review/", {"rating": 5, "body": "Great"})

    assert response.status_code == 201
    assert response.json()["rating"] == 5
    assert product.reviews.count() == 1


def test_categories_are_read_only(api: APIClient) -> None:
    CategoryFactory.create(name="Mugs", slug="mugs")

    listed = api.get("/api/v1/catalog/categories/")
    created = api.post("/api/v1/catalog/categories/", {"name": "Cups", "slug": "cups"})

    assert listed.status_code == 200
    assert [row["slug"] for row in listed.json()["results"]] == ["mugs"]
    assert created.status_code == 405
