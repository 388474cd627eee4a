"""core.W002-core.W004, core.W009 on routed views (apps.core.checks.views): each fires on a
violating view and stays silent on a compliant one."""

from collections.abc import Callable, Sequence

import pytest
from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import (
    AllowAny,
    BasePermission,
    IsAuthenticated,
    IsAuthenticatedOrReadOnly,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from apps.core.checks import (
    check_views,
    silence,
)
from apps.core.pagination import DefaultPagination
from apps.users.models import User


def ids(messages: Sequence[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


def view_messages(*patterns: URLPattern | URLResolver) -> list[checks.CheckMessage]:
    return check_views(urlpatterns=list(patterns))


class DefaultPermissionsView(APIView):
    def get(self, request: Request) -> Response:
        return Response()


class ExplicitView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response()

    def post(self, request: Request) -> Response:
        return Response()


class InheritsExplicitView(ExplicitView):
    pass


class CustomPermissionsView(APIView):
    def get_permissions(self) -> Sequence[BasePermission]:
        return [IsAuthenticated()]

    def post(self, request: Request) -> Response:
        return Response()


class OpenReadView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response()


class OpenWriteView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response()

    def delete(self, request: Request) -> Response:
        return Response()


class NoPermissionsWriteView(APIView):
    permission_classes = []

    def put(self, request: Request) -> Response:
        return Response()


class ReadOnlyForAnonymousView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get(self, request: Request) -> Response:
        return Response()

    def post(self, request: Request) -> Response:
        return Response()


@silence("core.W003", reason="A public webhook, verified by signature and throttled.")
class SilencedOpenWriteView(OpenWriteView):
    pass


class OpenUserViewSet(viewsets.ModelViewSet[User]):
    permission_classes = [AllowAny]
    pagination_class = DefaultPagination


class OpenReadOnlyUserViewSet(viewsets.ReadOnlyModelViewSet[User]):
    permission_classes = [AllowAny]
    pagination_class = DefaultPagination


class UnpaginatedUserViewSet(viewsets.ReadOnlyModelViewSet[User]):
    permission_classes = [IsAuthenticated]
    pagination_class = None


class UnpaginatedDetailOnlyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[User]):
    """Lists, but is routed for `retrieve` only: nothing to paginate."""

    permission_classes = [IsAuthenticated]
    pagination_class = None


class UnpaginatedListView(generics.ListAPIView[User]):
    permission_classes = [IsAuthenticated]
    pagination_class = None


class PaginatedListView(generics.ListAPIView[User]):
    permission_classes = [IsAuthenticated]
    pagination_class = DefaultPagination


@api_view(["GET"])
def default_permissions_function(request: Request) -> Response:
    return Response()


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def explicit_function(request: Request) -> Response:
    return Response()


@csrf_exempt
def exempt_django_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def django_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@silence("core.W009", reason="Receives a payment provider's signed callbacks.")
@csrf_exempt
def silenced_exempt_django_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def router_patterns(
    viewset: type[viewsets.GenericViewSet[User]],
) -> list[URLPattern | URLResolver]:
    router = SimpleRouter()
    router.register("users", viewset, basename="user")
    return router.urls


def test_view_without_explicit_permissions_fires_w002() -> None:
    messages = view_messages(
        path("a/", DefaultPermissionsView.as_view()),
        path("b/", default_permissions_function),
    )
    assert ids(messages) == ["core.W002", "core.W002"]
    assert messages[0].obj is DefaultPermissionsView


@pytest.mark.parametrize(
    "view",
    [
        ExplicitView.as_view(),
        InheritsExplicitView.as_view(),
        CustomPermissionsView.as_view(),
        DefaultPermissionsView.as_view(permission_classes=[IsAuthenticated]),
        explicit_function,
    ],
)
def test_explicit_permissions_are_silent(view: Callable[..., HttpResponse]) -> None:
    assert view_messages(path("a/", view)) == []


def test_unauthenticated_unsafe_methods_fire_w003() -> None:
    messages = view_messages(
        path("a/", OpenWriteView.as_view()),
        path("b/", NoPermissionsWriteView.as_view()),
        path("c/", ExplicitView.as_view(permission_classes=[AllowAny])),
        *router_patterns(OpenUserViewSet),
    )
    assert ids(messages) == ["core.W003"] * 4
    assert [message.msg.rsplit(". ", 1)[-1] for message in messages] == [
        "Anonymous clients may DELETE, POST.",
        "Anonymous clients may PUT.",
        "Anonymous clients may POST.",
        "Anonymous clients may DELETE, PATCH, POST, PUT.",
    ]


def test_anonymous_reads_and_authenticated_writes_are_silent() -> None:
    assert (
        view_messages(
            path("a/", OpenReadView.as_view()),
            path("b/", ReadOnlyForAnonymousView.as_view()),
            path("c/", SilencedOpenWriteView.as_view()),
            *router_patterns(OpenReadOnlyUserViewSet),
        )
        == []
    )


def test_unpaginated_list_endpoints_fire_w004() -> None:
    messages = view_messages(
        path("a/", UnpaginatedListView.as_view()),
        path("b/", PaginatedListView.as_view(pagination_class=None)),
        *router_patterns(UnpaginatedUserViewSet),
    )
    assert ids(messages) == ["core.W004"] * 3


def test_paginated_or_detail_only_endpoints_are_silent() -> None:
    detail_only = UnpaginatedDetailOnlyViewSet.as_view({"get": "retrieve"})
    assert view_messages(path("a/", PaginatedListView.as_view()), path("b/", detail_only)) == []


def test_csrf_exempt_django_view_fires_w009() -> None:
    messages = view_messages(
        path("a/", exempt_django_view),
        path("b/", django_view),
        path("c/", silenced_exempt_django_view),
    )
    assert ids(messages) == ["core.W009"]
    assert messages[0].obj is exempt_django_view


def test_third_party_views_are_not_checked() -> None:
    class VendoredView(OpenWriteView):
        __module__ = "vendored.views"

    assert view_messages(path("a/", VendoredView.as_view())) == []


def test_views_are_checked_once_however_often_they_are_routed() -> None:
    messages = view_messages(
        path("a/", DefaultPermissionsView.as_view()),
        path("b/", DefaultPermissionsView.as_view()),
    )
    assert ids(messages) == ["core.W002"]
