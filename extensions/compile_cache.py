"""Compile each distinct Jinja source once per render.

Copier renders every part of every path as its own template string: for this template
about 1,600 compilations per `copier copy`, most of them repeats (`src`, `apps`, the
answers file's name once per file). Compiling is pure: the same source, name and options
in the same environment always give the same code object, and a code object is never
changed by running it (each `Template` executes it in a fresh namespace). So the
environment's `compile` is memoized, per environment (one render), keyed on all its
arguments. Output is byte-identical (tests/test_compile_cache.py renders with and without
it). When Jinja's `compile` does not have the signature this was written for, nothing is
changed.
"""

from __future__ import annotations

import inspect
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

COMPILE_PARAMETERS = ["source", "name", "filename", "raw", "defer_init"]


class CompileCache(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        install(environment)


def install(environment: Environment) -> bool:
    """Memoize ``environment.compile``; False (and no change) when Jinja's differs."""
    original = environment.compile
    if getattr(original, "compile_cache", None) is not None:
        return True  # already installed
    try:
        parameters = list(inspect.signature(original).parameters)
    except (TypeError, ValueError):
        return False
    if parameters != COMPILE_PARAMETERS:
        return False
    cache: dict[tuple[Any, ...], Any] = {}

    def memoized(
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):  # an already parsed template: not memoized
            return original(source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init)
        found = cache.get(key)
        if found is None:
            found = cache[key] = original(source, name, filename, raw, defer_init)
        return found

    memoized.compile_cache = cache  # type: ignore[attr-defined]
    environment.compile = memoized  # type: ignore[method-assign]
    return True
