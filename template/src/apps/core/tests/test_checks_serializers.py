"""core.W001, core.W005, core.W010 on serializers (apps.core.checks.serializers): each fires
on a violating serializer and stays silent on a compliant one; discovery skips test code."""

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.core import checks
from rest_framework import serializers

from apps.core.checks import (
    check_serializers,
    silence,
)
from apps.users.models import User


def ids(messages: Sequence[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


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
