from rest_framework import serializers

from apps.catalog.models import Category, Product, Review


class CategorySerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer[Review]):
    author = serializers.EmailField(source="author.email", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "author", "rating", "body", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class ProductListSerializer(serializers.ModelSerializer[Product]):
    """The list shape: small, and every field comes from the selector's single query."""

    owner = serializers.EmailField(source="owner.email", read_only=True)
    category = CategorySerializer(read_only=True)
    review_count = serializers.IntegerField(read_only=True)
    average_rating = serializers.DecimalField(
        max_digits=3, decimal_places=2, read_only=True, allow_null=True
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

    class Meta(ProductListSerializer.Meta):
        fields = [*ProductListSerializer.Meta.fields, "description", "recent_reviews", "created_at"]
        read_only_fields = fields


class ProductWriteSerializer(serializers.ModelSerializer[Product]):
    """What a client may set. Owner, slug, status and dates are the server's."""

    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())

    class Meta:
        model = Product
        fields = ["name", "category", "price", "description"]
        extra_kwargs = {"price": {"min_value": 0}}


class ReviewWriteSerializer(serializers.ModelSerializer[Review]):
    class Meta:
        model = Review
        fields = ["rating", "body"]
