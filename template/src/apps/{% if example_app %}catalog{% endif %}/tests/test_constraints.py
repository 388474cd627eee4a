"""The database keeps the catalog's invariants even when Python validation is bypassed."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Product, Review
from apps.catalog.tests.factories import ProductFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def test_price_cannot_be_negative() -> None:
    product = ProductFactory.create()

    with pytest.raises(IntegrityError, match="catalog_product_price_non_negative"):
        Product.objects.filter(pk=product.pk).update(price=Decimal("-1.00"))


def test_a_published_product_needs_a_publication_date() -> None:
    product = ProductFactory.create()

    with pytest.raises(IntegrityError, match="catalog_product_published_has_date"):
        Product.objects.filter(pk=product.pk).update(status=ProductStatus.PUBLISHED)


def test_slug_is_unique_per_owner() -> None:
    product = ProductFactory.create(slug="mug")

    with pytest.raises(IntegrityError, match="catalog_product_owner_slug_unique"):
        ProductFactory.create(owner=product.owner, slug="mug")


def test_two_owners_may_draft_the_same_slug_but_not_publish_it_twice() -> None:
    ProductFactory.create(slug="mug", published=True)
    ProductFactory.create(slug="mug")  # a draft: allowed

    with pytest.raises(IntegrityError, match="catalog_product_published_slug_unique"):
        ProductFactory.create(slug="mug", published=True)


def test_rating_stays_between_one_and_five() -> None:
    review = ReviewFactory.create()

    with pytest.raises(IntegrityError, match="catalog_review_rating_range"):
        Review.objects.filter(pk=review.pk).update(rating=6)


def test_one_review_per_author_and_product() -> None:
    review = ReviewFactory.create()

    with pytest.raises(IntegrityError, match="catalog_review_one_per_author"):
        ReviewFactory.create(product=review.product, author=review.author)
