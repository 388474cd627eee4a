from django.contrib import admin

from apps.catalog.models import Category, Product, Review


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ("name", "owner", "category", "price", "status", "published_at")
    list_filter = ("status", "category")
    list_select_related = ("owner", "category")
    search_fields = ("name", "slug", "owner__email")
    raw_id_fields = ("owner",)
    # The image is set through the API only, where its bytes are checked.
    readonly_fields = ("created_at", "updated_at", "published_at", "image")


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ("product", "author", "rating", "created_at")
    list_filter = ("rating",)
    list_select_related = ("product", "author")
    raw_id_fields = ("product", "author")
