from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, default_storage
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Product
from apps.catalog.services import (
    add_review,
    create_product,
    publish_product,
    set_product_image,
    update_product,
)
from apps.catalog.tests.factories import CategoryFactory, ProductFactory, image_upload
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_product_derives_the_slug_and_starts_as_draft() -> None:
    owner = UserFactory.create()

    product = create_product(
        owner=owner, category=CategoryFactory.create(), name="Blue Mug", price=Decimal("9.50")
    )

    assert product.slug == "blue-mug"
    assert product.status == ProductStatus.DRAFT
    assert product.owner == owner


def test_create_product_rejects_a_duplicate_name_for_the_same_owner() -> None:
    existing = ProductFactory.create(name="Blue Mug", slug="blue-mug")

    with pytest.raises(ValidationError) as excinfo:
        create_product(
            owner=existing.owner,
            category=existing.category,
            name="Blue Mug",
            price=Decimal("1.00"),
        )

    assert excinfo.value.message_dict == {"__all__": ["You already have a product with this name."]}


def test_update_product_renames_and_reslugs() -> None:
    product = ProductFactory.create()

    update_product(product=product, name="Green Mug", price=Decimal("12.00"))

    product.refresh_from_db()
    assert (product.name, product.slug, product.price) == (
        "Green Mug",
        "green-mug",
        Decimal("12.00"),
    )


def test_publish_product_notifies_the_owner_after_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    product = ProductFactory.create(name="Blue Mug")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        published = publish_product(product_id=product.pk, actor=product.owner)

    assert published.status == ProductStatus.PUBLISHED
    assert published.published_at is not None
    assert len(callbacks) == 1
    assert [message.to for message in mail.outbox] == [[product.owner.email]]
    assert mail.outbox[0].subject == "“Blue Mug” is published"


def test_publish_product_twice_is_refused() -> None:
    product = ProductFactory.create(published=True)

    with pytest.raises(ValidationError, match="already published"):
        publish_product(product_id=product.pk, actor=product.owner)


def test_add_review_refuses_the_owner_and_drafts() -> None:
    draft = ProductFactory.create()
    published = ProductFactory.create(published=True)

    with pytest.raises(ValidationError, match="own products"):
        add_review(product=published, author=published.owner, rating=5)
    with pytest.raises(ValidationError, match="Only published"):
        add_review(product=draft, author=UserFactory.create(), rating=5)


@pytest.fixture
def storage(settings: Settings) -> Storage:
    settings.STORAGES = {**settings.STORAGES}  # a new, empty in-memory storage
    return default_storage


def test_set_product_image_checks_the_bytes_for_every_caller(storage: Storage) -> None:
    product = ProductFactory.create()

    with pytest.raises(ValidationError) as raised:
        set_product_image(product=product, image=image_upload(head=b"GIF89a"))

    assert raised.value.code == "unsupported_image"
    assert not storage.exists("products/images")


def test_set_product_image_deletes_the_new_object_when_the_row_is_gone(storage: Storage) -> None:
    product = ProductFactory.create()
    Product.objects.filter(pk=product.pk).delete()

    with pytest.raises(Product.DoesNotExist):
        set_product_image(product=product, image=image_upload())

    assert storage.listdir("products/images") == ([], [])
