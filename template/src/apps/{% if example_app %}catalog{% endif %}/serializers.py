from typing import Any

from django.core.files import File
from rest_framework import exceptions, serializers

from apps.catalog.images import MAX_IMAGE_BYTES, ImageTooLargeError, inspect_image
from apps.catalog.models import Category, Product, Review
from apps.core.exceptions import ErrorCode
from apps.core.money import MoneyField
from apps.core.serializers import ModelSerializer, Serializer


class CategorySerializer(ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ReviewSerializer(ModelSerializer[Review]):
    author = serializers.EmailField(source="author.email", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "author", "rating", "body", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class ProductListSerializer(ModelSerializer[Product]):
    """The list shape: small, and every field comes from the selector's single query."""

    owner = serializers.EmailField(source="owner.email", read_only=True)
    category = CategorySerializer(read_only=True)
    review_count = serializers.IntegerField(read_only=True)
    average_rating = serializers.DecimalField(
        max_digits=3, decimal_places=2, read_only=True, allow_null=True
    )
    price = MoneyField(read_only=True)
    # Letters and digits of any script (apps.core.slugs); JSON Schema's `\w` is ASCII-only,
    # so no pattern rather than a wrong one.
    slug = serializers.CharField(
        read_only=True, help_text="Letters and digits of any script, `-` and `_`."
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "price",
            "status",
            "owner",
            "category",
            "review_count",
            "average_rating",
            "published_at",
        ]
        read_only_fields = fields


class ProductDetailSerializer(ProductListSerializer):
    # Filled by selectors.product_detail_list: the latest reviews, prefetched per page.
    recent_reviews = ReviewSerializer(many=True, read_only=True)
    # Whether GET .../image/ has something to serve; never the storage's own URL.
    has_image = serializers.BooleanField(read_only=True)

    class Meta(ProductListSerializer.Meta):
        fields = [
            *ProductListSerializer.Meta.fields,
            "description",
            "has_image",
            "recent_reviews",
            "created_at",
        ]
        read_only_fields = fields


class ProductWriteSerializer(ModelSerializer[Product]):
    """What a client may set. Owner, slug, status and dates are the server's."""

    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    price = MoneyField()

    class Meta:
        model = Product
        fields = ["name", "category", "price", "description"]


class ReviewWriteSerializer(ModelSerializer[Review]):
    class Meta:
        model = Review
        fields = ["rating", "body"]


class ImageTooLarge(exceptions.APIException):
    status_code = 413
    default_code = ErrorCode.REQUEST_TOO_LARGE.value
    default_detail = f"The image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB."


class ProductImageSerializer(Serializer[dict[str, Any]]):
    """The multipart upload: one `image` part, checked by its bytes (apps.catalog.images)."""

    image = serializers.FileField(
        allow_empty_file=False,
        help_text=f"A PNG, JPEG or WebP image of at most {MAX_IMAGE_BYTES} bytes. The file "
        "name and the part's Content-Type are ignored: the type is read from the content.",
    )

    def validate_image(self, value: File[Any]) -> File[Any]:
        try:
            inspect_image(value)
        except ImageTooLargeError:
            # Too large is not a field error but a refused body: 413, as for any oversize.
            raise ImageTooLarge from None
        return value  # an UnsupportedImageError is a field error: 400 validation_error
