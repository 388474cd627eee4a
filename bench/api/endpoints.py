"""Bench-only files written into the render: settings and the two comparison endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from .common import LOAD_PAGE_SIZE
from .seeding import BENCH_SETUP

ENDPOINTS = {
    "example": "/api/v1/catalog/products/",
    "naive": "/bench/naive/products/",
    "limit": "/bench/limit/products/",
}


BENCH_SETTINGS = '''\
"""Bench only: the production settings on loopback, with the bench endpoints mounted."""

from config.settings.prod import *  # noqa: F403
from config.settings.prod import env

ROOT_URLCONF = "bench_urls"

# The throttle rates stay as shipped: the load is spread over every seeded user's session,
# so no user reaches its rate (a 429 would show as an error in the report).

if env.str("BENCH_CACHE", default="redis") == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
'''

BENCH_ENDPOINTS = '''\
"""Bench only: the two comparison endpoints for the product list."""

from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Avg, Q
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.routers import DefaultRouter

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Category, Product
from config.urls import urlpatterns as service_urlpatterns


class NaiveCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class NaiveProductSerializer(serializers.ModelSerializer):
    """The same shape as the example's list serializer, written the common way."""

    owner = serializers.EmailField(source="owner.email", read_only=True)
    category = NaiveCategorySerializer(read_only=True)
    review_count = serializers.SerializerMethodField()
    average_rating = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "price", "status", "owner", "category",
                  "review_count", "average_rating", "published_at"]

    def get_review_count(self, obj: Product) -> int:
        return obj.reviews.count()

    def get_average_rating(self, obj: Product) -> str | None:
        average = obj.reviews.aggregate(value=Avg("rating"))["value"]
        return None if average is None else str(Decimal(average).quantize(Decimal("0.01")))


class NaiveProductViewSet(viewsets.ModelViewSet):
    """Default permission, pagination, filter backends and throttles from REST_FRAMEWORK."""

    serializer_class = NaiveProductSerializer

    def get_queryset(self) -> Any:
        user = self.request.user
        return Product.objects.filter(Q(status=ProductStatus.PUBLISHED) | Q(owner=user))


LIMIT_FIELDS = ("id", "name", "slug", "price", "status", "owner__email", "category_id",
                "category__name", "category__slug", "review_count", "average_rating",
                "published_at")


def limit_products(request: HttpRequest) -> JsonResponse:
    """The same rows and data in one query, no DRF: what the hardware allows."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "not authenticated"}, status=401)
    try:
        size = min(max(int(request.GET.get("page_size", "25")), 1), 100)
    except ValueError:
        size = 25
    rows = list(
        Product.objects.visible_to(request.user)
        .with_review_stats()
        .order_by("-created_at", "-id")
        .values(*LIMIT_FIELDS)[:size]
    )
    return JsonResponse({"results": rows}, encoder=DjangoJSONEncoder)


router = DefaultRouter()
router.register("products", NaiveProductViewSet, basename="bench-naive-product")

urlpatterns = [
    *service_urlpatterns,
    path("bench/naive/", include(router.urls)),
    path("bench/limit/products/", limit_products),
]
'''


def check_endpoint(name: str, url: str, cookie: str) -> None:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"loopback only: {url}")
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        rows = len(json.load(response)["results"])
    if rows != LOAD_PAGE_SIZE:
        raise RuntimeError(f"{name} returned {rows} rows, expected {LOAD_PAGE_SIZE}")


def write_bench_files(service: Path) -> None:
    (service / "src" / "config" / "settings" / "bench.py").write_text(BENCH_SETTINGS)
    (service / "src" / "bench_urls.py").write_text(BENCH_ENDPOINTS)
    (service / "src" / "bench_setup.py").write_text(BENCH_SETUP)
    (service / "staticfiles").mkdir(exist_ok=True)  # whitenoise warns when it is missing
