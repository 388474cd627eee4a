"""Values computed from the answers, added to the rendering context of every file.

Templates read these instead of repeating Jinja expressions:

- ``use_jwt`` / ``use_session``: which API authentication the service ships.
- ``distribution_name``: the normalized package name (``my_service`` -> ``my-service``),
  as uv writes it in ``uv.lock``.
- ``uv_lock``: the lock file the template's own tests ran with, for the chosen Python
  version and dependency profile (see ``scripts/relock.py``), with the project's name
  filled in.
- ``dev_secret_key``: a fresh random key. Only ``.env`` (skipped on update) may use it, so
  no tracked file ever holds a secret and updates never conflict on one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

LOCKS_DIR = Path(__file__).parent / "locks"
LOCK_NAME_PLACEHOLDER = "template-service-placeholder"


# The answers the computed values depend on.
PROFILE_QUESTIONS = frozenset(
    {
        "project_slug",
        "python_version",
        "api_auth",
        "task_backend",
        "use_cors",
        "use_sentry",
        "media_storage",
        "observability",
    }
)


def distribution_name(slug: str) -> str:
    return slug.replace("_", "-")


def dependency_profile(answers: Mapping[str, Any]) -> str:
    """The answers that change the dependency set, as a name: one lock per profile.

    Only questions that add or remove packages belong here; the rest never change the
    resolution, so services that differ only in them share a lock.
    """
    parts = [
        "jwt" if answers["api_auth"] in {"jwt", "both"} else "session",
        "celery" if answers["task_backend"] == "celery" else "tasksdb",
    ]
    if answers["use_cors"]:
        parts.append("cors")
    if answers["use_sentry"]:
        parts.append("sentry")
    # django-storages[s3] (boto3); absent from answers recorded before 0.3.0: local storage.
    if answers.get("media_storage") == "s3":
        parts.append("s3")
    # OpenTelemetry and prometheus-client; absent from answers recorded before 0.3.0: on,
    # the default (see CHANGELOG 0.3.0).
    if answers.get("observability", True):
        parts.append("otel")
    return "-".join(parts)


def lock_path(python_version: str, profile: str) -> Path:
    return LOCKS_DIR / f"py{python_version.replace('.', '')}-{profile}.lock"


@cache
def _lock_text(python_version: str, profile: str) -> str:
    path = lock_path(python_version, profile)
    return path.read_text() if path.exists() else ""


def uv_lock(answers: Mapping[str, Any]) -> str:
    """The recorded lock for these answers, with the placeholder renamed to this project."""
    return _renamed_lock(
        answers["python_version"], dependency_profile(answers), answers["project_slug"]
    )


@cache
def _renamed_lock(python_version: str, profile: str, slug: str) -> str:
    # The hook runs once per rendered file: rename the 200 kB lock once per project.
    text = _lock_text(python_version, profile)
    return text.replace(f'"{LOCK_NAME_PLACEHOLDER}"', f'"{distribution_name(slug)}"')


class ServiceContext(ContextHook):
    def hook(self, context: dict[str, Any]) -> None:
        if not context.keys() >= PROFILE_QUESTIONS:  # still asking questions
            return
        context["use_jwt"] = context["api_auth"] in {"jwt", "both"}
        context["use_session"] = context["api_auth"] in {"session", "both"}
        # How a service queues a task: django.tasks' `enqueue` or Celery's `delay`.
        context["task_send"] = "delay" if context["task_backend"] == "celery" else "enqueue"
        context["distribution_name"] = distribution_name(context["project_slug"])
        context["uv_lock"] = uv_lock(context)
        context["dev_secret_key"] = secrets.token_urlsafe(50)
