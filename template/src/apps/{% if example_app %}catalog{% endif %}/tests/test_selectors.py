from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.catalog.selectors import product_list
from apps.catalog.tests.factories import ProductFactory, ReviewFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_users_see_published_products_and_their_own_drafts() -> None:
    user = UserFactory.create()
    mine = ProductFactory.create(owner=user)
    public = ProductFactory.create(published=True)
    ProductFactory.create()  # someone else's draft

    assert set(product_list(user=user)) == {mine, public}
    assert set(product_list(user=AnonymousUser())) == {public}


def test_review_stats_are_computed_by_the_database() -> None:
    product = ProductFactory.create(published=True)
    ReviewFactory.create(product=product, rating=5)
    ReviewFactory.create(product=product, rating=2)

    listed = product_list(user=UserFactory.create()).get(pk=product.pk)

    assert listed.review_count == 2  # type: ignore[attr-defined]
    assert listed.average_rating == Decimal("3.5")  # type: ignore[attr-defined]
