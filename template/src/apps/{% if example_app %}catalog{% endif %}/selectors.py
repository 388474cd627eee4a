"""Reads for the catalog API. Each returns a queryset with its eager loading set once here,
so a view or serializer never triggers a query per row."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from apps.catalog.models import Category, Product, Review
from apps.catalog.querysets import ProductQuerySet
from apps.users.models import User

RECENT_REVIEWS = 5


def product_list(*, user: User | AnonymousUser) -> ProductQuerySet:
    """Products the user may see, with what the list shape serializes."""
    return Product.objects.visible_to(user).select_related("owner", "category").with_review_stats()


def product_detail_list(*, user: User | AnonymousUser) -> ProductQuerySet:
    """As `product_list`, plus each product's latest reviews for the detail shape."""
    recent_reviews = Review.objects.select_related("author").order_by("-created_at", "-id")
    return product_list(user=user).prefetch_related(
        Prefetch("reviews", queryset=recent_reviews[:RECENT_REVIEWS], to_attr="recent_reviews")
    )


def product_visible_list(*, user: User | AnonymousUser) -> ProductQuerySet:
    """Products the user may see, nothing loaded beside them (for reading an image)."""
    return Product.objects.visible_to(user)


def product_owned_list(*, user: User) -> ProductQuerySet:
    """The user's own products: the only ones they may change."""
    return Product.objects.owned_by(user).select_related("owner", "category").with_review_stats()


def category_list() -> QuerySet[Category]:
    return Category.objects.all()
