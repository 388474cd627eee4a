"""What every check shares (apps.core.checks.common): silence() needs known ids and a reason,
every check is documented, and the code base itself raises none."""

import re
from collections.abc import Sequence

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.test import override_settings

from apps.core.checks import (
    CHECKS,
    DEPLOY_CHECKS,
    SILENCE_CHECK,
    check_silenced,
    silence,
)


def ids(messages: Sequence[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


@pytest.mark.parametrize(
    ("check_ids", "reason", "error"),
    [
        ((), "why", "check ids"),
        (("core.W999",), "why", "['core.W999']"),
        (("core.W001",), "  ", "needs a reason"),
    ],
)
def test_silence_needs_known_ids_and_a_reason(
    check_ids: tuple[str, ...], reason: str, error: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        silence(*check_ids, reason=reason)


# The code base -----------------------------------------------------------------------------


def test_every_check_is_documented() -> None:
    every = [*CHECKS, *DEPLOY_CHECKS, *SILENCE_CHECK]
    assert every == [f"core.W{number:03}" for number in range(1, len(every) + 1)]
    docs = (settings.BASE_DIR / "docs" / "checks.md").read_text()
    documented = re.findall(r"^## (core\.W\d{3})\b", docs, re.MULTILINE)
    assert documented == every


def test_the_code_base_raises_no_check() -> None:
    messages = [m for m in checks.run_checks() if m.id and m.id.startswith("core.")]
    assert [str(message) for message in messages] == []


def test_manage_py_check_passes_at_warning_level() -> None:
    call_command("check", "--fail-level", "WARNING")


# SILENCED_CHECK_REASONS and core.W018 ------------------------------------------------------


def test_a_core_check_in_silenced_system_checks_fires_w018() -> None:
    with override_settings(SILENCED_SYSTEM_CHECKS=["core.W003", "admin.E410"]):
        messages = check_silenced()
    assert ids(messages) == ["core.W018"]
    assert "core.W003" in messages[0].msg
    assert "admin.E410" not in messages[0].msg  # Django's own ids are not this project's


def test_a_reason_makes_silencing_a_core_check_acceptable() -> None:
    with override_settings(
        SILENCED_SYSTEM_CHECKS=["core.W003"],
        SILENCED_CHECK_REASONS={"core.W003": "A public webhook, verified by signature."},
    ):
        assert check_silenced() == []


@pytest.mark.parametrize(
    "reasons",
    [{"core.W999": "a reason"}, {"core.W016": "  "}, {"core.W016": ""}],
)
def test_unknown_ids_and_empty_reasons_fire_w018(reasons: dict[str, str]) -> None:
    with override_settings(SILENCED_CHECK_REASONS=reasons):
        assert ids(check_silenced()) == ["core.W018"]


def test_the_settings_silence_nothing_without_a_reason() -> None:
    assert check_silenced() == []
