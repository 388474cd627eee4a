from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
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


# The first bytes of each accepted format (apps.catalog.images); the rest does not matter
# to the check, which reads the signature only.
PNG_HEAD = b"\x89PNG\r\n\x1a\n"
JPEG_HEAD = b"\xff\xd8\xff\xe0"
WEBP_HEAD = b"RIFF\x00\x00\x00\x00WEBP"


def image_upload(
    *,
    head: bytes = PNG_HEAD,
    size: int = 256,
    name: str = "photo.png",
    content_type: str = "image/png",
) -> SimpleUploadedFile:
    """An uploaded file of ``size`` bytes starting with ``head``, named as a client would."""
    content = head + b"\x00" * (size - len(head))
    return SimpleUploadedFile(name, content, content_type=content_type)
