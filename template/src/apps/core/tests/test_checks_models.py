"""core.W005-core.W008 on models (apps.core.checks.models, docs/checks.md): each fires on a
violating model and stays silent on a compliant one."""

from collections.abc import Callable, Sequence

from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from apps.core.checks import (
    check_models,
    silence,
)


def ids(messages: Sequence[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


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
