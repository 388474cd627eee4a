"""Answer validation for copier.yml.

Each filter returns an empty string for a good answer and a one-line message naming the
problem otherwise: Copier shows a non-empty validator result to the user and refuses the
answer. Keeping the rules here, in plain Python, keeps `copier.yml` readable and lets the
harness test them directly.
"""

from __future__ import annotations

import keyword
import re
import sys

from jinja2 import Environment
from jinja2.ext import Extension

# Top-level names the generated project imports or defines. A slug equal to one of them
# would shadow it on `sys.path` (the service's `src/` comes first) or clash with a folder.
PROJECT_NAMES = frozenset(
    {
        "apps",
        "argon2",
        "asgiref",
        "boto3",
        "botocore",
        "celery",
        "conftest",
        "config",
        "corsheaders",
        "coverage",
        "django",
        "django_filters",
        "django_stubs_ext",
        "django_tasks",
        "django_tasks_db",
        "drf_spectacular",
        "drf_spectacular_sidecar",
        "environs",
        "factory",
        "gunicorn",
        "hypothesis",
        "importlinter",
        "manage",
        "mypy",
        "opentelemetry",
        "prometheus_client",
        "psycopg",
        "pytest",
        "pytest_django",
        "pytest_postgresql",
        "redis",
        "rest_framework",
        "rest_framework_simplejwt",
        "ruff",
        "schemathesis",
        "sentry_sdk",
        "src",
        "static",
        "storages",
        "templates",
        "test",
        "tests",
        "time_machine",
        "uvicorn",
        "whitenoise",
        "zeal",
    }
)
SHADOWED_NAMES = PROJECT_NAMES | frozenset(sys.stdlib_module_names)

SLUG_RE = re.compile(r"[a-z][a-z0-9_]*")
# Deliberately simple: one @, no spaces, a dotted domain. Full RFC 5322 is not the point;
# catching a typo at generation time is.
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HOST_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MAX_SLUG_LENGTH = 50  # PostgreSQL identifiers stop at 63; leave room for "test_" and suffixes.


def to_slug(name: str) -> str:
    """Derive a project slug from a human name: "My API 2" -> "my_api_2"."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if slug and slug[0].isdigit():
        slug = f"service_{slug}"
    return slug


def slug_problem(slug: str) -> str:
    if not slug:
        return "The project slug must not be empty."
    if not SLUG_RE.fullmatch(slug):
        return (
            f"The project slug '{slug}' must be a lowercase Python identifier: "
            "a letter first, then lowercase letters, digits or underscores."
        )
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return f"The project slug '{slug}' is a Python keyword."
    if slug in SHADOWED_NAMES:
        return (
            f"The project slug '{slug}' would shadow the module '{slug}' that the project "
            "imports; choose another name."
        )
    if len(slug) > MAX_SLUG_LENGTH:
        return f"The project slug '{slug}' is longer than {MAX_SLUG_LENGTH} characters."
    return ""


def name_problem(value: str) -> str:
    if not value.strip():
        return "This answer must not be empty."
    if any(char in value for char in '"\\\n\r'):
        return "This answer must not contain quotes, backslashes or line breaks."
    return ""


def description_problem(value: str) -> str:
    if problem := name_problem(value):
        return problem
    if len(value) > 200:
        return "The description must fit in 200 characters; say the rest in the README."
    return ""


def email_problem(value: str) -> str:
    if not EMAIL_RE.fullmatch(value):
        return f"'{value}' is not an email address (expected name@domain.tld)."
    return ""


def hostname_problem(value: str) -> str:
    if value != value.strip() or not value:
        return "The domain name must not be empty or contain spaces."
    if "://" in value or "/" in value:
        return f"The domain name '{value}' must be a bare hostname, without scheme or path."
    if value != value.lower():
        return f"The domain name '{value}' must be lowercase."
    labels = value.split(".")
    if len(labels) < 2 or len(value) > 253:
        return f"The domain name '{value}' must be a dotted hostname such as api.example.com."
    if not all(HOST_LABEL_RE.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return (
            f"The domain name '{value}' is not a valid hostname: use letters, digits and "
            "hyphens between dots."
        )
    return ""


class AnswerValidators(Extension):
    """Registers the filters that copier.yml uses for defaults and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(
            to_slug=to_slug,
            slug_problem=slug_problem,
            name_problem=name_problem,
            description_problem=description_problem,
            email_problem=email_problem,
            hostname_problem=hostname_problem,
        )
