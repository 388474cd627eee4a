"""The project's system checks (apps.core.checks, docs/checks.md): each one fires on a
violating example, stays silent on a compliant one, and the code base itself raises none."""

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.test.utils import isolate_apps
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import generics, mixins, serializers, viewsets
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
    CHECKS,
    check_models,
    check_serializers,
    check_views,
    silence,
)
from apps.core.pagination import DefaultPagination
from apps.users.models import User


def ids(messages: Sequence[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


# Models ------------------------------------------------------------------------------------


def model_messages(define: Callable[[], object]) -> list[checks.CheckMessage]:
    """Define throwaway models in an isolated registry and run the model checks on them."""
    with isolate_apps("apps.core") as registry:
        assert registry is not None
        define()
        return check_models(app_configs=[registry.get_app_config("core")])


class Throwaway(models.Model):
    """Base of the models the tests define; abstract, so it is never registered."""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.pk)


class Status(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    HIGH = 2, "High"


def test_float_money_field_fires_w005() -> None:
    def define() -> None:
        class Invoice(Throwaway):
            total_amount = models.FloatField()
            weight = models.FloatField()  # not money

    messages = model_messages(define)
    assert ids(messages) == ["core.W005"]
    assert str(messages[0]).startswith("core.Invoice.total_amount: (core.W005) Money stored")
    assert messages[0].level == checks.WARNING


def test_decimal_money_field_is_silent() -> None:
    def define() -> None:
        class Invoice(Throwaway):
            price = models.DecimalField(max_digits=10, decimal_places=2)

    assert model_messages(define) == []


def test_relations_without_related_name_fire_w006() -> None:
    def define() -> None:
        class Tag(Throwaway):
            pass

        class Post(Throwaway):
            tag = models.ForeignKey(Tag, on_delete=models.PROTECT)
            pinned = models.OneToOneField(Tag, on_delete=models.PROTECT)
            tags = models.ManyToManyField(Tag)

    messages = model_messages(define)
    assert ids(messages) == ["core.W006"] * 3
    assert {str(message.obj) for message in messages} == {
        "core.Post.tag",
        "core.Post.pinned",
        "core.Post.tags",
    }


def test_relations_with_related_name_are_silent() -> None:
    def define() -> None:
        class Tag(Throwaway):
            pass

        class Post(Throwaway):
            tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="posts")
            tags = models.ManyToManyField(Tag, related_name="+")

        class SpecialPost(Post):  # the implicit parent link is Django's, not ours
            pass

    assert model_messages(define) == []


def test_unique_together_fires_w007() -> None:
    def define() -> None:
        class Seat(Throwaway):
            row = models.IntegerField()
            number = models.IntegerField()

            class Meta:
                unique_together = [("row", "number")]

    messages = model_messages(define)
    assert ids(messages) == ["core.W007"]
    assert messages[0].obj.__name__ == "Seat"


def test_unique_constraint_is_silent() -> None:
    def define() -> None:
        class Seat(Throwaway):
            row = models.IntegerField()
            number = models.IntegerField()

            class Meta:
                constraints = [
                    models.UniqueConstraint(fields=["row", "number"], name="seat_unique")
                ]

    assert model_messages(define) == []


def test_hand_written_choices_fire_w008() -> None:
    def define() -> None:
        class Ticket(Throwaway):
            status = models.CharField(max_length=10, choices=[("open", "Open")])
            size = models.CharField(max_length=10, choices=[("Small", [("s", "S"), ("xs", "XS")])])

    assert ids(model_messages(define)) == ["core.W008", "core.W008"]


def test_choices_enums_are_silent() -> None:
    def define() -> None:
        class Ticket(Throwaway):
            status = models.CharField(max_length=10, choices=Status)
            state = models.CharField(max_length=10, choices=Status.choices)
            priority = models.IntegerField(choices=Priority)

    assert model_messages(define) == []


def test_fields_from_third_party_abstract_bases_are_not_checked() -> None:
    def define() -> None:
        class Vendored(Throwaway):
            __module__ = "vendored.models"  # a library's abstract model
            price = models.FloatField()

            class Meta:
                abstract = True

        class Item(Vendored):
            pass

    assert model_messages(define) == []


def test_silence_accepts_one_model_on_purpose() -> None:
    def define() -> None:
        @silence("core.W005", "core.W007", reason="Telemetry in float; legacy table.")
        class Reading(Throwaway):
            total = models.FloatField()
            a = models.IntegerField()
            b = models.IntegerField()

            class Meta:
                unique_together = [("a", "b")]

        class Other(Throwaway):
            total = models.FloatField()

    messages = model_messages(define)
    assert ids(messages) == ["core.W005"]
    assert str(messages[0].obj) == "core.Other.total"


# Serializers -------------------------------------------------------------------------------


class AllFieldsSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = "__all__"


class ExcludeSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        exclude = ["password"]


class ExplicitSerializer(serializers.ModelSerializer[User]):
    password = serializers.CharField(write_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        model = User
        fields = ["id", "email", "password", "price", "api_key"]
        extra_kwargs = {"api_key": {"write_only": True}}


class FloatPriceSerializer(serializers.Serializer[None]):
    unit_price = serializers.FloatField()
    ratio = serializers.FloatField()


class ReadableSecretsSerializer(serializers.ModelSerializer[User]):
    client_secret = serializers.CharField()

    class Meta:
        model = User
        fields = ["email", "password", "client_secret"]


@silence("core.W001", reason="An internal admin export that must follow the model.")
class SilencedAllFieldsSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = "__all__"


class SubclassOfSilencedSerializer(SilencedAllFieldsSerializer):
    pass


@pytest.mark.parametrize(
    ("serializer", "expected"),
    [
        (AllFieldsSerializer, ["core.W001"]),
        (ExcludeSerializer, ["core.W001"]),
        (FloatPriceSerializer, ["core.W005"]),
        (ReadableSecretsSerializer, ["core.W010"]),
        (ExplicitSerializer, []),
        (SilencedAllFieldsSerializer, []),
        (SubclassOfSilencedSerializer, ["core.W001"]),  # silencing is per class
    ],
)
def test_serializer_checks(
    serializer: type[serializers.BaseSerializer[Any]], expected: list[str]
) -> None:
    assert ids(check_serializers(serializer_classes=[serializer])) == expected


def test_readable_secrets_are_named() -> None:
    (message,) = check_serializers(serializer_classes=[ReadableSecretsSerializer])
    assert "'client_secret', 'password' would appear in responses." in message.msg


@pytest.fixture
def project_serializer() -> Iterator[type[serializers.BaseSerializer[Any]]]:
    """A violating serializer that discovery sees as project code (not a test module)."""

    class LeakySerializer(serializers.ModelSerializer[User]):
        __module__ = "apps.users.serializers"

        class Meta:
            model = User
            fields = "__all__"

    yield LeakySerializer
    LeakySerializer.__module__ = __name__  # back to test code: later discovery skips it


def test_discovery_finds_project_serializers_and_skips_test_modules(
    project_serializer: type[serializers.BaseSerializer[Any]],
) -> None:
    messages = check_serializers()
    assert ids(messages) == ["core.W001"]  # AllFieldsSerializer above is test code: skipped
    assert messages[0].obj is project_serializer


def test_the_checks_are_registered_with_django(
    project_serializer: type[serializers.BaseSerializer[Any]],
) -> None:
    messages = checks.run_checks(tags=["standards"])
    assert [(m.id, m.obj) for m in messages] == [("core.W001", project_serializer)]


# Views -------------------------------------------------------------------------------------


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


# Silencing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_ids", "reason", "error"),
    [
        ((), "why", "check ids"),
        (("core.W999",), "why", "['core.W999']"),
        (("core.W001",), "  ", "needs a reason"),
    ],
)
def test_silence_needs_known_ids_and_a_reason(
    check_ids: tuple[str, ...], reason: str, error: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        silence(*check_ids, reason=reason)


# The code base -----------------------------------------------------------------------------


def test_every_check_is_documented() -> None:
    assert list(CHECKS) == [f"core.W{number:03}" for number in range(1, len(CHECKS) + 1)]
    docs = (settings.BASE_DIR / "docs" / "checks.md").read_text()
    documented = re.findall(r"^## (core\.W\d{3})\b", docs, re.MULTILINE)
    assert documented == list(CHECKS)


def test_the_code_base_raises_no_check() -> None:
    messages = [m for m in checks.run_checks() if m.id and m.id.startswith("core.")]
    assert [str(message) for message in messages] == []


def test_manage_py_check_passes_at_warning_level() -> None:
    call_command("check", "--fail-level", "WARNING")
