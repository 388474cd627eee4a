from decimal import Decimal

import factory
from django.utils import timezone

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Category, Product, Review
from apps.users.tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    owner = factory.SubFactory(UserFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    price = Decimal("19.90")

    class Params:
        published = factory.Trait(
            status=ProductStatus.PUBLISHED, published_at=factory.LazyFunction(timezone.now)
        )


class ReviewFactory(factory.django.DjangoModelFactory[Review]):
    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory, published=True)
    author = factory.SubFactory(UserFactory)
    rating = 4
