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

import hashlib
import itertools
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

LOCKS_DIR = Path(__file__).parent / "locks"
LOCK_NAME_PLACEHOLDER = "template-service-placeholder"


@dataclass(frozen=True)
class ProfilePart:
    """One question that adds or removes packages: the lock-name part each answer gives
    ("" adds none), and the answer assumed when it is missing from the answers (a service
    recorded before the question existed)."""

    question: str
    parts: Mapping[Any, str]
    absent: Any = None


# The dependency profile, in ONE table: a new question that changes the dependency set is
# one row here (scripts/relock.py iterates it to record a lock for every combination).
PROFILE_PARTS: tuple[ProfilePart, ...] = (
    ProfilePart("api_auth", {"session": "session", "jwt": "jwt", "both": "jwt"}),
    ProfilePart("task_backend", {"django_tasks": "tasksdb", "celery": "celery"}),
    ProfilePart("use_cors", {False: "", True: "cors"}),
    ProfilePart("use_sentry", {False: "", True: "sentry"}),
    # django-storages[s3] (boto3); absent from answers recorded before 0.3.0: local storage.
    ProfilePart("media_storage", {"local": "", "s3": "s3"}, absent="local"),
    # OpenTelemetry and prometheus-client; absent from answers recorded before 0.3.0: on,
    # the default (see CHANGELOG 0.3.0).
    ProfilePart("observability", {False: "", True: "otel"}, absent=True),
)

# The answers the computed values depend on (the hook waits until all are known).
PROFILE_QUESTIONS = frozenset(
    {"project_slug", "python_version", *(part.question for part in PROFILE_PARTS)}
)


def distribution_name(slug: str) -> str:
    return slug.replace("_", "-")


def dependency_profile(answers: Mapping[str, Any]) -> str:
    """The answers that change the dependency set, as a name: one lock per profile.

    Only questions that add or remove packages belong here; the rest never change the
    resolution, so services that differ only in them share a lock.
    """
    parts = (part.parts[answers.get(part.question, part.absent)] for part in PROFILE_PARTS)
    return "-".join(name for name in parts if name)


def profile_answers() -> list[dict[str, Any]]:
    """One answer set per dependency profile (the first answer of each distinct part)."""
    choices = [
        [
            (part.question, answer)
            for name in dict.fromkeys(part.parts.values())
            for answer in [next(a for a, n in part.parts.items() if n == name)]
        ]
        for part in PROFILE_PARTS
    ]
    return [dict(row) for row in itertools.product(*choices)]


# --- recorded locks: an index per Python and profile, over content-addressed blocks ---------
#
# py3XX-<profile>.idx lists, one per line, the blocks whose concatenation is the lock:
# blocks/<sha256>.toml, one for the header (up to the first [[package]]) and one per
# [[package]] entry. 256 locks share most of their packages, so the store holds each
# distinct entry once.

BLOCKS_DIR = LOCKS_DIR / "blocks"
PACKAGE_START = re.compile(r"^\[\[package\]\]\n", re.MULTILINE)


def lock_path(python_version: str, profile: str) -> Path:
    return LOCKS_DIR / f"py{python_version.replace('.', '')}-{profile}.idx"


def split_lock(text: str) -> list[str]:
    """The blocks of a lock: their concatenation is ``text``, byte for byte."""
    starts = [match.start() for match in PACKAGE_START.finditer(text)]
    bounds = [0, *starts, len(text)]
    return [text[start:end] for start, end in itertools.pairwise(bounds) if start < end]


def block_name(block: str) -> str:
    return hashlib.sha256(block.encode()).hexdigest()


def store_lock(text: str, target: Path) -> None:
    """Record ``text`` as the index ``target`` and the blocks it lists."""
    names = []
    for block in split_lock(text):
        name = block_name(block)
        path = BLOCKS_DIR / f"{name}.toml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(block.encode())
            temporary.replace(path)
        names.append(name)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text("".join(f"{name}\n" for name in names))
    temporary.replace(target)


def load_lock(index: Path) -> str:
    """The lock an index describes, reassembled byte for byte."""
    return "".join(
        (BLOCKS_DIR / f"{name}.toml").read_bytes().decode() for name in index.read_text().split()
    )


@cache
def _lock_text(python_version: str, profile: str) -> str:
    path = lock_path(python_version, profile)
    return load_lock(path) if path.exists() else ""


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
