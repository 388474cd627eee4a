"""System checks that hold the project's own code to its standard (docs/checks.md).

`manage.py check` runs them, so CI fails on a violation (`check --fail-level WARNING`).
Each has a stable id, `core.W001`..., and inspects only this project's apps (modules under
`apps.`), never third-party code. To accept one case on purpose, decorate that class (or
function view) with `silence()`, giving the reason:

    @silence("core.W003", reason="Log-in takes anonymous POSTs; throttled, CSRF-checked.")
    class SessionLoginView(APIView): ...

`SILENCED_SYSTEM_CHECKS = ["core.W003"]` in settings silences a check everywhere.
"""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import mixins, serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

CHECKS: Mapping[str, str] = {
    "core.W001": "Serializer exposes every model field (fields = '__all__' or exclude).",
    "core.W002": "API view without explicit permission_classes.",
    "core.W003": "API view lets unauthenticated clients use unsafe methods.",
    "core.W004": "List endpoint without pagination.",
    "core.W005": "Money stored or served as a float.",
    "core.W006": "Relation without related_name.",
    "core.W007": "Model uses unique_together.",
    "core.W008": "Field choices are not a TextChoices/IntegerChoices enum.",
    "core.W009": "Django view exempt from CSRF protection.",
    "core.W010": "Serializer lets clients read a secret.",
}

SILENCED_ATTRIBUTE = "silenced_checks"
PROJECT_PACKAGE = "apps"
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
# A field is about money when one of the words of its name is one of these.
MONEY_WORDS = frozenset(
    [
        *("amount", "balance", "budget", "charge", "commission", "cost", "costs", "credit"),
        *("debit", "discount", "fee", "fees", "income", "money", "payment", "payout", "price"),
        *("prices", "profit", "refund", "revenue", "salary", "subtotal", "tax", "tip", "total"),
        *("vat", "wage"),
    ]
)
SECRET_NAME = re.compile(r"(?:^|_)(?:password|passphrase|secret|api_key|private_key)\d*$")


def silence[T](*check_ids: str, reason: str) -> Callable[[T], T]:
    """Accept the named checks' findings on the decorated class or function view.

    The reason is required: it is what a reviewer reads instead of the warning. Silencing
    applies to that class only, not to its subclasses.
    """
    unknown = sorted(set(check_ids) - CHECKS.keys())
    if not check_ids or unknown:
        raise ValueError(f"silence() takes check ids from {sorted(CHECKS)}, got {unknown}.")
    if not reason.strip():
        raise ValueError("silence() needs a reason: say why this case is acceptable.")

    def mark(target: T) -> T:
        silenced = {**vars(target).get(SILENCED_ATTRIBUTE, {}), **dict.fromkeys(check_ids, reason)}
        setattr(target, SILENCED_ATTRIBUTE, silenced)
        return target

    return mark


def is_silenced(check_id: str, *targets: object) -> bool:
    """Whether any of the targets (a class, a view function) silenced `check_id` itself."""
    return any(
        check_id in vars(target).get(SILENCED_ATTRIBUTE, {})
        for target in targets
        if hasattr(target, "__dict__")
    )


def _warning(check_id: str, detail: str, hint: str, obj: object) -> checks.CheckMessage:
    return checks.Warning(f"{CHECKS[check_id]} {detail}", hint=hint, obj=obj, id=check_id)


def _is_project_module(module: str, app_configs: Sequence[AppConfig] | None = None) -> bool:
    if not module.startswith(f"{PROJECT_PACKAGE}."):
        return False
    if app_configs is None:
        return True
    return any(module == app.name or module.startswith(f"{app.name}.") for app in app_configs)


def _is_test_module(module: str) -> bool:
    return any(
        part in {"tests", "conftest"} or part.startswith("test_") for part in module.split(".")
    )


def _project_app_configs(app_configs: Sequence[AppConfig] | None) -> list[AppConfig]:
    configs = apps.get_app_configs() if app_configs is None else app_configs
    return [app for app in configs if app.name.startswith(f"{PROJECT_PACKAGE}.")]


def _subclasses[C](base: type[C]) -> list[type[C]]:
    """Every subclass of `base` defined so far, once each (in definition order)."""
    found: dict[type[C], None] = {}
    pending = list(base.__subclasses__())
    while pending:
        subclass = pending.pop(0)
        if subclass not in found:
            found[subclass] = None
            pending.extend(subclass.__subclasses__())
    return list(found)


def _words(name: str) -> set[str]:
    return set(name.lower().split("_"))


# Models ------------------------------------------------------------------------------------


def _fields_from_third_party_bases(model: type[models.Model]) -> set[str]:
    """Names of fields that an abstract base outside the project declares (e.g. Django's
    PermissionsMixin.groups): not this project's code, so not checked."""
    names: set[str] = set()
    for base in model.__mro__[1:]:
        meta = getattr(base, "_meta", None)
        if meta is None or not meta.abstract or _is_project_module(base.__module__):
            continue
        names.update(f.name for f in [*meta.local_fields, *meta.local_many_to_many])
    return names


def _enum_choice_values() -> set[tuple[Any, ...]]:
    return {
        tuple(value for value, _label in enum.choices)
        for enum in _subclasses(models.Choices)
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
            and _words(f.name) & MONEY_WORDS
            and not is_silenced("core.W005", model)
        ):
            yield _warning(
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
            yield _warning(
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
            yield _warning(
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
    for app in _project_app_configs(app_configs):
        for model in app.get_models():
            messages.extend(_model_field_messages(model, enum_values))
            if model._meta.unique_together and not is_silenced("core.W007", model):
                messages.append(
                    _warning(
                        "core.W007",
                        "It is kept for compatibility and may be deprecated.",
                        "Use Meta.constraints = [models.UniqueConstraint(fields=[...], "
                        "name='...')].",
                        model,
                    )
                )
    return messages


# Serializers -------------------------------------------------------------------------------


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
        yield _warning(
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
            and _words(name) & MONEY_WORDS
            and not is_silenced("core.W005", cls)
        ):
            yield _warning(
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
        yield _warning(
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
        _import_project_serializers(_project_app_configs(app_configs))
        serializer_classes = (
            cls
            for cls in _subclasses(serializers.BaseSerializer)
            if _is_project_module(cls.__module__, app_configs)
            and not _is_test_module(cls.__module__)
        )
    return [message for cls in serializer_classes for message in _serializer_messages(cls)]


# Views -------------------------------------------------------------------------------------


@dataclass
class _Endpoint:
    """One view as routed: its class (if any), its as_view() arguments, and its methods."""

    callback: Callable[..., Any]
    view_class: type[Any] | None
    initkwargs: dict[str, Any] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)  # a viewset's routed actions


def _walk(patterns: Iterable[URLPattern | URLResolver]) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns)
        else:
            yield pattern


def _routed_methods(callback: Callable[..., Any], view_class: type[Any]) -> set[str]:
    actions: Mapping[str, str] | None = getattr(callback, "actions", None)
    if actions is not None:  # a viewset route: the router says which methods it serves
        return set(actions)
    allowed = set(getattr(view_class, "http_method_names", ()))
    return {method for method in allowed if hasattr(view_class, method)} - {"options", "head"}


# The as_view() arguments the checks read; routers add others (basename, detail, ...).
_CHECKED_INITKWARGS = ("permission_classes", "pagination_class")


def _endpoints(patterns: Iterable[URLPattern | URLResolver]) -> list[_Endpoint]:
    """Routed views, merged per view class and as_view() arguments (a router routes one
    viewset several times)."""
    merged: dict[tuple[object, ...], _Endpoint] = {}
    endpoints: list[_Endpoint] = []
    for pattern in _walk(patterns):
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is None:
            endpoints.append(_Endpoint(callback, None))
            continue
        initkwargs: Mapping[str, Any] = getattr(callback, "initkwargs", None) or {}
        checked = {name: initkwargs[name] for name in _CHECKED_INITKWARGS if name in initkwargs}
        key = (view_class, *((name, id(value)) for name, value in checked.items()))
        if (endpoint := merged.get(key)) is None:
            endpoint = merged[key] = _Endpoint(callback, view_class, checked)
            endpoints.append(endpoint)
        endpoint.methods |= _routed_methods(callback, view_class)
        endpoint.actions |= set((getattr(callback, "actions", None) or {}).values())
    return endpoints


def _declared_below_drf(view_class: type[Any], attribute: str) -> bool:
    """Whether the attribute's value comes from a class other than DRF's own (not a default)."""
    for klass in view_class.__mro__:
        if attribute in vars(klass):
            value = vars(klass)[attribute]
            if attribute == "permission_classes" and value is APIView.permission_classes:
                return False  # @api_view copies DRF's default onto its generated class
            return not klass.__module__.startswith("rest_framework")
    return False


def _lets_anyone_in(permission_classes: Sequence[Any]) -> bool:
    return not permission_classes or any(
        isinstance(permission, type) and issubclass(permission, AllowAny)
        for permission in permission_classes
    )


def _api_view_messages(
    endpoint: _Endpoint, view_class: type[APIView]
) -> Iterator[checks.CheckMessage]:
    targets = (view_class, endpoint.callback)
    kwargs = endpoint.initkwargs
    custom_permissions = _declared_below_drf(view_class, "get_permissions")
    explicit = (
        "permission_classes" in kwargs
        or _declared_below_drf(view_class, "permission_classes")
        or custom_permissions
    )
    if not explicit and not is_silenced("core.W002", *targets):
        yield _warning(
            "core.W002",
            "It silently inherits DEFAULT_PERMISSION_CLASSES.",
            "Say who may call it: permission_classes = [IsAuthenticated] (or stricter).",
            view_class,
        )
    permissions = kwargs.get("permission_classes", view_class.permission_classes)
    unsafe = sorted(endpoint.methods & UNSAFE_METHODS)
    if (
        unsafe
        and not custom_permissions
        and _lets_anyone_in(permissions)
        and not is_silenced("core.W003", *targets)
    ):
        yield _warning(
            "core.W003",
            f"Anonymous clients may {', '.join(m.upper() for m in unsafe)}.",
            "Require authentication for writes (IsAuthenticated, IsAuthenticatedOrReadOnly), "
            "or silence this on a deliberately public, throttled endpoint.",
            view_class,
        )
    lists = issubclass(view_class, mixins.ListModelMixin) and (
        not issubclass(view_class, ViewSetMixin) or "list" in endpoint.actions
    )
    pagination = kwargs.get("pagination_class", getattr(view_class, "pagination_class", None))
    if lists and pagination is None and not is_silenced("core.W004", *targets):
        yield _warning(
            "core.W004",
            "One request can read the whole table.",
            "Set pagination_class (e.g. apps.core.pagination.DefaultPagination).",
            view_class,
        )


def _view_module(endpoint: _Endpoint) -> str:
    owner = endpoint.view_class or endpoint.callback
    return str(getattr(owner, "__module__", ""))


@checks.register(checks.Tags.urls, checks.Tags.security, "standards")
def check_views(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    urlpatterns: Iterable[URLPattern | URLResolver] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """core.W002, core.W003, core.W004, core.W009, for every routed view of the project.

    `urlpatterns` replaces the root URLconf's patterns.
    """
    patterns = get_resolver().url_patterns if urlpatterns is None else urlpatterns
    messages: list[checks.CheckMessage] = []
    for endpoint in _endpoints(patterns):
        if not _is_project_module(_view_module(endpoint), app_configs):
            continue
        view_class = endpoint.view_class
        if view_class is not None and issubclass(view_class, APIView):
            messages.extend(_api_view_messages(endpoint, view_class))
        elif getattr(endpoint.callback, "csrf_exempt", False) and not is_silenced(
            "core.W009", endpoint.callback, *([view_class] if view_class else [])
        ):
            messages.append(
                _warning(
                    "core.W009",
                    "Another site can submit requests with the user's cookies.",
                    "Remove @csrf_exempt; machine clients belong on DRF views with token auth.",
                    view_class or endpoint.callback,
                )
            )
    return messages
