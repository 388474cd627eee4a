"""core.W001, core.W005 (serializer fields), core.W010: the project's serializers."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import AppConfig
from django.core import checks
from rest_framework import serializers

from apps.core.checks.common import (
    MONEY_WORDS,
    SECRET_NAME,
    is_project_module,
    is_silenced,
    is_test_module,
    project_app_configs,
    subclasses,
    unaccepted,
    warning,
    words,
)


def _import_project_serializers(app_configs: Sequence[AppConfig]) -> None:
    """Import each app's serializers and views, so that every serializer class is defined."""
    for app in app_configs:
        for name in ("serializers", "views"):
            module = f"{app.name}.{name}"
            if find_spec(module) is not None:
                import_module(module)


def _serializer_messages(
    cls: type[serializers.BaseSerializer[Any]],
) -> Iterator[checks.CheckMessage]:
    meta = getattr(cls, "Meta", None)
    fields = getattr(meta, "fields", None)
    exposes_all = fields == serializers.ALL_FIELDS or getattr(meta, "exclude", None) is not None
    if meta is not None and exposes_all and not is_silenced("core.W001", cls):
        yield warning(
            "core.W001",
            "New model columns would reach clients without review.",
            "List the fields: Meta.fields = ['id', ...].",
            cls,
        )

    declared: Mapping[str, serializers.Field[Any, Any, Any, Any]] = getattr(
        cls, "_declared_fields", {}
    )
    for name, declared_field in declared.items():
        if (
            isinstance(declared_field, serializers.FloatField)
            and words(name) & MONEY_WORDS
            and not is_silenced("core.W005", cls)
        ):
            yield warning(
                "core.W005",
                f"'{name}' is a serializers.FloatField.",
                "Use serializers.DecimalField(max_digits=..., decimal_places=...).",
                cls,
            )

    extra_kwargs: Mapping[str, Mapping[str, Any]] = getattr(meta, "extra_kwargs", None) or {}
    readable = [
        name
        for name, declared_field in declared.items()
        if SECRET_NAME.search(name) and not declared_field.write_only
    ]
    if isinstance(fields, list | tuple):
        readable += [
            name
            for name in fields
            if SECRET_NAME.search(name)
            and name not in declared
            and not extra_kwargs.get(name, {}).get("write_only", False)
        ]
    if readable and not is_silenced("core.W010", cls):
        yield warning(
            "core.W010",
            f"{', '.join(repr(name) for name in readable)} would appear in responses.",
            "Make it write_only=True (or extra_kwargs={'<name>': {'write_only': True}}).",
            cls,
        )


@checks.register("standards")
def check_serializers(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    serializer_classes: Iterable[type[serializers.BaseSerializer[Any]]] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """core.W001, core.W005 (serializer fields), core.W010.

    `serializer_classes` replaces discovery (every project serializer, tests excluded).
    """
    if serializer_classes is None:
        _import_project_serializers(project_app_configs(app_configs))
        serializer_classes = (
            cls
            for cls in subclasses(serializers.BaseSerializer)
            if is_project_module(cls.__module__, app_configs) and not is_test_module(cls.__module__)
        )
    return unaccepted(
        message for cls in serializer_classes for message in _serializer_messages(cls)
    )
