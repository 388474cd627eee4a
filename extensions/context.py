"""Values computed from the answers, added to the rendering context of every file.

Templates read these instead of repeating Jinja expressions:

- ``distribution_name``: the normalized package name (``my_service`` -> ``my-service``),
  as uv writes it in ``uv.lock``.
- ``uv_lock``: the lock file the template's own tests ran with, for the chosen Python
  version (see ``scripts/relock.py``), with the project's name filled in.
- ``dev_secret_key``: a fresh random key. Only ``.env`` (skipped on update) may use it, so
  no tracked file ever holds a secret and updates never conflict on one.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

LOCKS_DIR = Path(__file__).parent / "locks"
LOCK_NAME_PLACEHOLDER = "template-service-placeholder"


def distribution_name(slug: str) -> str:
    return slug.replace("_", "-")


def lock_path(python_version: str) -> Path:
    return LOCKS_DIR / f"py{python_version.replace('.', '')}.lock"


@cache
def _lock_text(python_version: str) -> str:
    path = lock_path(python_version)
    return path.read_text() if path.exists() else ""


def uv_lock(python_version: str, slug: str) -> str:
    """The recorded lock with the placeholder project renamed to this project."""
    text = _lock_text(python_version)
    return text.replace(f'"{LOCK_NAME_PLACEHOLDER}"', f'"{distribution_name(slug)}"')


class ServiceContext(ContextHook):
    def hook(self, context: dict[str, Any]) -> None:
        if "python_version" not in context:  # still asking questions: nothing to compute yet
            return
        slug = context["project_slug"]
        context["distribution_name"] = distribution_name(slug)
        context["uv_lock"] = uv_lock(context["python_version"], slug)
        context["dev_secret_key"] = secrets.token_urlsafe(50)
