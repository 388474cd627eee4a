from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import UserRateThrottle

from apps.catalog import selectors, services
from apps.catalog.filters import ProductFilter
from apps.catalog.images import ImageType
from apps.catalog.models import Category, Product
from apps.catalog.serializers import (
    CategorySerializer,
    ProductDetailSerializer,
    ProductImageSerializer,
    ProductListSerializer,
    ProductWriteSerializer,
    ReviewSerializer,
    ReviewWriteSerializer,
)
from apps.core.pagination import DefaultPagination
from apps.users.access import authenticated_user


class CategoryViewSet(viewsets.ReadOnlyModelViewSet[Category]):
    serializer_class = CategorySerializer
    permission_classes = [IsAuthenticated]
    pagination_class = DefaultPagination
    ordering_fields = ["name"]

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.category_list()


class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Product],
):
    """Products: everyone signed in reads published ones; owners manage their own.

    Reads use the selectors' querysets (eager loading set there); writes call services.
    Changing or deleting someone else's product answers 404, not 403: whether a draft
    exists is itself private.
    """

    permission_classes = [IsAuthenticated]
    throttle_classes = [UserRateThrottle]
    pagination_class = DefaultPagination
    filterset_class = ProductFilter
    # `?ordering=` takes these only (apps.core.filters.StrictOrderingFilter: else a 400).
    ordering_fields = ["name", "price", "published_at", "created_at"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Product]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Product.objects.none()
        if self.action == "list":
            return selectors.product_list(user=self.request.user)
        if self.action in {"retrieve", "review"}:
            return selectors.product_detail_list(user=self.request.user)
        if self.action == "image":
            return selectors.product_visible_list(user=self.request.user)
        return selectors.product_owned_list(user=authenticated_user(self.request))

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        match self.action:
            case "list":
                return ProductListSerializer
            case "create" | "update" | "partial_update":
                return ProductWriteSerializer
            case "review":
                return ReviewWriteSerializer
            case "set_image":
                return ProductImageSerializer
            case _:
                return ProductDetailSerializer

    def _detail(self, product: Product, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.product_detail_list(user=authenticated_user(self.request)).get(
            pk=product.pk
        )
        return Response(ProductDetailSerializer(fresh).data, status=status_code)

    @extend_schema(responses={201: ProductDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.create_product(
            owner=authenticated_user(self.request), **serializer.validated_data
        )
        return self._detail(product, status.HTTP_201_CREATED)

    @extend_schema(responses={200: ProductDetailSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = ProductWriteSerializer(product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.update_product(product=product, **serializer.validated_data)
        return self._detail(product)

    @extend_schema(responses={200: ProductDetailSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_product(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ProductDetailSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        product = services.publish_product(
            product_id=self.get_object().pk, actor=authenticated_user(self.request)
        )
        return self._detail(product)

    @extend_schema(request=ReviewWriteSerializer, responses={201: ReviewSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        product = self.get_object()
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.add_review(
            product=product, author=authenticated_user(self.request), **serializer.validated_data
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            (200, "image/*"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The image (local storage)."
            ),
            302: OpenApiResponse(
                description="Object storage: `Location` is a signed URL to the image that "
                "expires within minutes; fetch it at once, do not store it."
            ),
        },
    )
    # The route's PUT (set_image) is the API's one multipart body; GET reads none.
    @action(detail=True, methods=["get"], parser_classes=[MultiPartParser])
    def image(self, request: Request, pk: str) -> HttpResponseBase:
        """The product's image, to anyone who may see the product; 404 when it has none."""
        product = self.get_object()
        if not product.image.name:
            raise NotFound("This product has no image.")
        response: HttpResponseBase
        if settings.MEDIA_SIGNED_URLS:
            response = HttpResponseRedirect(product.image.url)
        else:
            kind = ImageType.from_name(product.image.name)
            response = FileResponse(product.image.open("rb"), content_type=kind.content_type)
        # Per-user content behind a permission check: no shared cache may keep it.
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(
        request={"multipart/form-data": ProductImageSerializer},
        responses={
            200: ProductDetailSerializer,
            400: OpenApiResponse(
                description="Not a PNG, JPEG or WebP image (problem+json, `validation_error`); "
                "nothing is stored."
            ),
            413: OpenApiResponse(
                description="Larger than the limit (problem+json, `request_too_large`); "
                "nothing is stored."
            ),
        },
    )
    @image.mapping.put
    def set_image(self, request: Request, pk: str) -> Response:
        """Set or replace the product's image (owner only). 413 past the size limit."""
        product = self.get_object()
        serializer = ProductImageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.set_product_image(product=product, image=serializer.validated_data["image"])
        return self._detail(product)
