"""Use cases that change the catalog. Each is one transaction and validates the rows it
writes; the database constraints stay the final guard (a race that slips past `full_clean`
becomes an IntegrityError, answered 409 by apps.core.exceptions).
"""

from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.catalog.models import Category, Product, Review
from apps.catalog.tasks import notify_product_published
from apps.users.models import User


def create_product(
    *,
    owner: User,
    category: Category,
    name: str,
    price: Decimal,
    description: str = "",
) -> Product:
    product = Product(
        owner=owner,
        category=category,
        name=name,
        slug=slugify(name),
        price=price,
        description=description,
    )
    product.full_clean()
    with transaction.atomic():
        product.save()
    return product


def update_product(
    *,
    product: Product,
    category: Category | None = None,
    name: str | None = None,
    price: Decimal | None = None,
    description: str | None = None,
) -> Product:
    if category is not None:
        product.category = category
    if name is not None:
        product.name = name
        product.slug = slugify(name)
    if price is not None:
        product.price = price
    if description is not None:
        product.description = description
    product.full_clean()
    with transaction.atomic():
        product.save()
    return product


def publish_product(*, product_id: int, actor: User) -> Product:
    """Publish one of the actor's products and notify followers once the commit succeeds."""
    with transaction.atomic():
        # Lock the row: two concurrent publishes must not both pass the status check.
        product = Product.objects.select_for_update().get(pk=product_id, owner=actor)
        if product.is_published:
            raise ValidationError("The product is already published.", code="already_published")
        product.publish(at=timezone.now())
        product.full_clean()
        product.save(update_fields=["status", "published_at", "updated_at"])
        transaction.on_commit(partial(notify_product_published.enqueue, product_id=product.pk))
    return product


def delete_product(*, product: Product) -> None:
    with transaction.atomic():
        product.delete()


def add_review(*, product: Product, author: User, rating: int, body: str = "") -> Review:
    if product.owner_id == author.pk:
        raise ValidationError("Owners cannot review their own products.", code="own_product")
    if not product.is_published:
        raise ValidationError("Only published products can be reviewed.", code="not_published")
    review = Review(product=product, author=author, rating=rating, body=body)
    review.full_clean()
    with transaction.atomic():
        review.save()
    return review
