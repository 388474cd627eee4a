from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.catalog.choices import ProductStatus
from apps.catalog.querysets import ProductQuerySet
from apps.core.models import TimeStampedModel

PRODUCT_SLUG_MAX_LENGTH = 200


class Category(TimeStampedModel):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    """A product a user sells. Drafts are private to their owner; published ones are public.

    The database holds every invariant: a non-negative price, a publication date on every
    published product, a slug unique per owner, and a slug unique among published products
    (the public URL), so no code path, admin edit or race can break them.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="products"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    # Derived from the name by the services (apps.core.slugs): letters of any script.
    slug = models.SlugField(max_length=PRODUCT_SLUG_MAX_LENGTH, allow_unicode=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    status = models.CharField(
        max_length=20,
        choices=ProductStatus.choices,
        default=ProductStatus.DRAFT,
        db_default=ProductStatus.DRAFT,
    )
    published_at = models.DateTimeField(null=True, blank=True)
    # Set only by services.set_product_image, which checks the bytes and names the object;
    # private in every storage (see apps.catalog.views.ProductViewSet.image).
    image = models.FileField(upload_to="products/images/", max_length=200, blank=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="catalog_product_price_non_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ProductStatus.PUBLISHED)
                | models.Q(published_at__isnull=False),
                name="catalog_product_published_has_date",
            ),
            models.UniqueConstraint(
                fields=["owner", "slug"],
                name="catalog_product_owner_slug_unique",
                violation_error_code="duplicate_name",
                violation_error_message="You already have a product with this name.",
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(status=ProductStatus.PUBLISHED),
                name="catalog_product_published_slug_unique",
                violation_error_code="slug_taken",
                violation_error_message="A published product already uses this name.",
            ),
        ]
        indexes = [
            # The product list reads the visible products (published, or the user's own) in
            # this order and stops after a page: the index lets it stop early.
            models.Index(fields=["-created_at", "-id"], name="catalog_product_created_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == ProductStatus.PUBLISHED

    @property
    def has_image(self) -> bool:
        return bool(self.image)

    def publish(self, *, at: datetime) -> None:
        """Mark the product published; the caller saves it (see services.publish_product)."""
        self.status = ProductStatus.PUBLISHED
        self.published_at = at


class Review(TimeStampedModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5),
                name="catalog_review_rating_range",
            ),
            models.UniqueConstraint(
                fields=["product", "author"], name="catalog_review_one_per_author"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.product_id}"
