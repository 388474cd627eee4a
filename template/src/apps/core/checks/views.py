"""core.W002, core.W003, core.W004, core.W009: every routed view of the project."""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import mixins
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

from apps.core.checks.common import (
    UNSAFE_METHODS,
    is_project_module,
    is_silenced,
    unaccepted,
    warning,
)


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
        yield warning(
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
        yield warning(
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
        yield warning(
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
        if not is_project_module(_view_module(endpoint), app_configs):
            continue
        view_class = endpoint.view_class
        if view_class is not None and issubclass(view_class, APIView):
            messages.extend(_api_view_messages(endpoint, view_class))
        elif getattr(endpoint.callback, "csrf_exempt", False) and not is_silenced(
            "core.W009", endpoint.callback, *([view_class] if view_class else [])
        ):
            messages.append(
                warning(
                    "core.W009",
                    "Another site can submit requests with the user's cookies.",
                    "Remove @csrf_exempt; machine clients belong on DRF views with token auth.",
                    view_class or endpoint.callback,
                )
            )
    return unaccepted(messages)
