"""core.W005 (model fields), core.W006, core.W007, core.W008: the project's models."""

from collections.abc import Iterator, Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import models

from apps.core.checks.common import (
    MONEY_WORDS,
    is_project_module,
    is_silenced,
    project_app_configs,
    subclasses,
    unaccepted,
    warning,
    words,
)


def _fields_from_third_party_bases(model: type[models.Model]) -> set[str]:
    """Names of fields that an abstract base outside the project declares (e.g. Django's
    PermissionsMixin.groups): not this project's code, so not checked."""
    names: set[str] = set()
    for base in model.__mro__[1:]:
        meta = getattr(base, "_meta", None)
        if meta is None or not meta.abstract or is_project_module(base.__module__):
            continue
        names.update(f.name for f in [*meta.local_fields, *meta.local_many_to_many])
    return names


def _enum_choice_values() -> set[tuple[Any, ...]]:
    return {
        tuple(value for value, _label in enum.choices)
        for enum in subclasses(models.Choices)
        if enum.__members__
    }


def _free_choices(field: models.Field[Any, Any], enum_values: set[tuple[Any, ...]]) -> bool:
    values = []
    for value, label in field.choices or []:
        if isinstance(label, list | tuple):  # a named group: enums cannot express these
            return True
        values.append(value)
    return tuple(values) not in enum_values


def _model_field_messages(
    model: type[models.Model], enum_values: set[tuple[Any, ...]]
) -> Iterator[checks.CheckMessage]:
    meta = model._meta
    skipped = _fields_from_third_party_bases(model)
    fields: list[models.Field[Any, Any]] = [*meta.local_fields, *meta.local_many_to_many]
    for f in fields:
        if f.name in skipped:
            continue
        if (
            isinstance(f, models.FloatField)
            and words(f.name) & MONEY_WORDS
            and not is_silenced("core.W005", model)
        ):
            yield warning(
                "core.W005",
                f"'{f.name}' is a FloatField: binary floats cannot hold 0.10 exactly.",
                "Use DecimalField(max_digits=..., decimal_places=...) (PostgreSQL numeric).",
                f,
            )
        relation = f.remote_field
        if (
            relation is not None
            and not f.auto_created
            and not getattr(relation, "parent_link", False)
            and (f.many_to_one or f.one_to_one or f.many_to_many)
            and relation.related_name is None
            and not is_silenced("core.W006", model)
        ):
            yield warning(
                "core.W006",
                f"'{f.name}' gets Django's default reverse accessor.",
                "Name the reverse side: related_name='...' (or '+' for none).",
                f,
            )
        if (
            f.choices is not None
            and _free_choices(f, enum_values)
            and not is_silenced("core.W008", model)
        ):
            yield warning(
                "core.W008",
                f"'{f.name}' lists its choices by hand.",
                "Declare a models.TextChoices/IntegerChoices class and pass choices=Enum.",
                f,
            )


@checks.register(checks.Tags.models, "standards")
def check_models(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """core.W005 (model fields), core.W006, core.W007, core.W008."""
    enum_values = _enum_choice_values()
    messages: list[checks.CheckMessage] = []
    for app in project_app_configs(app_configs):
        for model in app.get_models():
            messages.extend(_model_field_messages(model, enum_values))
            if model._meta.unique_together and not is_silenced("core.W007", model):
                messages.append(
                    warning(
                        "core.W007",
                        "It is kept for compatibility and may be deprecated.",
                        "Use Meta.constraints = [models.UniqueConstraint(fields=[...], "
                        "name='...')].",
                        model,
                    )
                )
    return unaccepted(messages)
