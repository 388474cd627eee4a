"""What every check module shares: the ids, `silence()`, and how the project is told apart.

Two ways to accept a finding, both with a written reason:
- `@silence("core.W003", reason=...)` on one class or function view (code checks only);
- `SILENCED_CHECK_REASONS = {"core.W016": "..."}` in settings, for the whole project (any
  `core.` check; the deploy checks are accepted only this way).
A `core.` id in plain `SILENCED_SYSTEM_CHECKS` has no reason: core.W018 reports it.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks

# The checks of the project's code (models, serializers, views); deploy.py adds the checks of
# production settings, DEPLOY_CHECKS.
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


def warning(check_id: str, detail: str, hint: str, obj: object) -> checks.CheckMessage:
    return checks.Warning(f"{CHECKS[check_id]} {detail}", hint=hint, obj=obj, id=check_id)


def is_project_module(module: str, app_configs: Sequence[AppConfig] | None = None) -> bool:
    if not module.startswith(f"{PROJECT_PACKAGE}."):
        return False
    if app_configs is None:
        return True
    return any(module == app.name or module.startswith(f"{app.name}.") for app in app_configs)


def is_test_module(module: str) -> bool:
    return any(
        part in {"tests", "conftest"} or part.startswith("test_") for part in module.split(".")
    )


def project_app_configs(app_configs: Sequence[AppConfig] | None) -> list[AppConfig]:
    configs = apps.get_app_configs() if app_configs is None else app_configs
    return [app for app in configs if app.name.startswith(f"{PROJECT_PACKAGE}.")]


def subclasses[C](base: type[C]) -> list[type[C]]:
    """Every subclass of `base` defined so far, once each (in definition order)."""
    found: dict[type[C], None] = {}
    pending = list(base.__subclasses__())
    while pending:
        subclass = pending.pop(0)
        if subclass not in found:
            found[subclass] = None
            pending.extend(subclass.__subclasses__())
    return list(found)


def words(name: str) -> set[str]:
    return set(name.lower().split("_"))


def reasons() -> Mapping[str, str]:
    """SILENCED_CHECK_REASONS: check id -> why the project accepts that check's findings."""
    value: Mapping[str, str] = getattr(settings, "SILENCED_CHECK_REASONS", {})
    return value


def accepted(check_id: str) -> bool:
    """Whether settings accept `check_id` project-wide, with a reason that says something."""
    reason = reasons().get(check_id)
    return isinstance(reason, str) and bool(reason.strip())


def unaccepted(messages: Iterable[checks.CheckMessage]) -> list[checks.CheckMessage]:
    """The messages whose check SILENCED_CHECK_REASONS does not accept."""
    return [message for message in messages if not accepted(str(message.id))]
