"""core.W011-core.W018 (apps.core.checks.deploy, docs/checks.md): each deploy check trips on
the weakened setting, passes on the production one, and is accepted only with a reason."""

from collections.abc import Mapping
from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings

from apps.core.checks import DEPLOY_CHECKS, check_deploy

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def mailers(host: str, *, use_tls: bool) -> dict[str, Any]:
    return {"default": {"BACKEND": SMTP, "OPTIONS": {"host": host, "use_tls": use_tls}}}


def database(host: str, sslmode: str | None = None) -> dict[str, Any]:
    options = {"sslmode": sslmode} if sslmode else {}
    return {
        "default": {"ENGINE": "django.db.backends.postgresql", "HOST": host, "OPTIONS": options}
    }


# What prod's settings are with every variable at its production value.
PRODUCTION: dict[str, Any] = {
    "ALLOWED_HOSTS": ["api.example.com"],
    "CSRF_TRUSTED_ORIGINS": ["https://api.example.com"],
    "SECURE_CSP": settings.CSP_POLICY,
    "SECURE_CSP_REPORT_ONLY": {},
    "MAILERS": mailers("smtp.example.com", use_tls=True),
    "API_DOCS_ENABLED": False,
    "TRUSTED_PROXIES": 0,
    "SECURE_PROXY_SSL_HEADER": None,
    "REST_FRAMEWORK": {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0},
    "SILENCED_CHECK_REASONS": {},
}
REMOTE_TLS = database("db.example.com", "verify-full")

# check id -> the weakened settings (each alone); "databases" goes to check_deploy().
WEAKENED: dict[str, dict[str, Any]] = {
    "W011-any-host": {"ALLOWED_HOSTS": ["*"]},
    "W012-wildcard-origin": {"CSRF_TRUSTED_ORIGINS": ["https://*.example.com"]},
    "W013-report-only": {"SECURE_CSP": {}, "SECURE_CSP_REPORT_ONLY": settings.CSP_POLICY},
    "W014-no-tls": {"databases": database("db.example.com")},
    "W014-tls-preferred-only": {"databases": database("10.0.0.5", "prefer")},
    "W015-smtp-clear": {"MAILERS": mailers("smtp.example.com", use_tls=False)},
    "W016-docs-on": {"API_DOCS_ENABLED": True},
    "W017-drf-believes-any-header": {
        "REST_FRAMEWORK": {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}
    },
    "W017-drf-disagrees": {"REST_FRAMEWORK": {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}},
    "W017-https-claimed-without-proxy": {
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")
    },
}


def run(changes: Mapping[str, Any]) -> list[checks.CheckMessage]:
    changes = dict(changes)
    databases = changes.pop("databases", REMOTE_TLS)
    with override_settings(**{**PRODUCTION, **changes}):
        return check_deploy(database_settings=databases)


def test_production_values_pass() -> None:
    assert run({}) == []


@pytest.mark.parametrize("case", WEAKENED)
def test_each_weakened_setting_trips_its_check(case: str) -> None:
    messages = run(WEAKENED[case])

    assert [message.id for message in messages] == [f"core.{case.split('-')[0]}"]
    assert messages[0].hint


@pytest.mark.parametrize("case", WEAKENED)
def test_a_written_reason_accepts_it(case: str) -> None:
    check_id = f"core.{case.split('-')[0]}"
    reasons = {check_id: "Accepted on purpose in this test."}

    assert run({**WEAKENED[case], "SILENCED_CHECK_REASONS": reasons}) == []


@pytest.mark.parametrize("case", WEAKENED)
def test_another_checks_reason_accepts_nothing(case: str) -> None:
    check_id = f"core.{case.split('-')[0]}"
    other = next(other for other in DEPLOY_CHECKS if other != check_id)
    reasons = {other: "Accepted on purpose in this test."}

    assert len(run({**WEAKENED[case], "SILENCED_CHECK_REASONS": reasons})) == 1


@pytest.mark.parametrize("host", ["", "/var/run/postgresql", "localhost", "127.0.0.1", "::1"])
def test_a_database_on_this_host_needs_no_tls(host: str) -> None:
    assert run({"databases": database(host)}) == []


def test_a_mail_relay_on_this_host_needs_no_tls() -> None:
    assert run({"MAILERS": mailers("localhost", use_tls=False)}) == []


def test_behind_trusted_proxies_forwarded_headers_are_believed() -> None:
    behind_one = {
        "TRUSTED_PROXIES": 1,
        "REST_FRAMEWORK": {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1},
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    }
    assert run(behind_one) == []


def test_gunicorn_told_to_believe_any_peer_trips_w017(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 2 --forwarded-allow-ips=*")
    assert [message.id for message in run({})] == ["core.W017"]

    behind_one = {
        "TRUSTED_PROXIES": 1,
        "REST_FRAMEWORK": {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1},
    }
    assert run(behind_one) == []


def test_the_checks_run_only_with_deploy() -> None:
    with override_settings(**{**PRODUCTION, **WEAKENED["W011-any-host"]}):
        everyday = checks.run_checks(tags=["standards"])
        deploying = checks.run_checks(tags=["standards"], include_deployment_checks=True)

    assert "core.W011" not in [message.id for message in everyday]
    assert "core.W011" in [message.id for message in deploying]
