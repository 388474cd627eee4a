"""Deploy checks, core.W011-core.W017: production settings that weaken the deployment.

Tagged `deploy`: they run with `manage.py check --deploy`, which CI runs on prod settings
with `--fail-level WARNING`, and never in dev or tests. Each stands for an environment
toggle a deployment can flip (docs/checks.md says which). A deployment that needs one on
purpose writes down why, and only then does the check accept it:

    SILENCED_CHECK_REASONS = {"core.W016": "The API is public; its docs are part of it."}

core.W018 (every run, not only --deploy) reports a `core.` id listed in plain
`SILENCED_SYSTEM_CHECKS` (no reason given) and a reason that says nothing.
"""

import ipaddress
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from apps.core.checks.common import CHECKS, accepted, reasons

DEPLOY_CHECKS: Mapping[str, str] = {
    "core.W011": "ALLOWED_HOSTS accepts any host.",
    "core.W012": "CSRF_TRUSTED_ORIGINS contains a wildcard.",
    "core.W013": "The Content-Security-Policy is only reported, not enforced.",
    "core.W014": "The database connection does not require TLS.",
    "core.W015": "Mail goes to a remote SMTP server without TLS.",
    "core.W016": "The API docs page is served in production.",
    "core.W017": "Forwarded headers are believed from any client.",
}
SILENCE_CHECK = {"core.W018": "A core check is silenced without a reason."}
# Connections that never leave the host need no TLS: a Unix socket, the loopback interface.
DB_TLS_MODES = frozenset({"require", "verify-ca", "verify-full"})


def _warning(check_id: str, detail: str, hint: str) -> checks.CheckMessage:
    title = {**DEPLOY_CHECKS, **SILENCE_CHECK}[check_id]
    return checks.Warning(f"{title} {detail}", hint=hint, id=check_id)


def _is_local(host: str) -> bool:
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _hosts_and_origins() -> Iterator[checks.CheckMessage]:
    if "*" in settings.ALLOWED_HOSTS:
        yield _warning(
            "core.W011",
            "Any Host header is accepted, so links Django builds (password resets, "
            "redirects) can point at an attacker's domain.",
            "Set DJANGO_ALLOWED_HOSTS to the names this service answers to.",
        )
    wild = [origin for origin in settings.CSRF_TRUSTED_ORIGINS if "*" in origin]
    if wild:
        yield _warning(
            "core.W012",
            f"{', '.join(wild)}: any subdomain (one taken over is enough) may post forms "
            "with the user's cookies.",
            "List each origin in DJANGO_CSRF_TRUSTED_ORIGINS.",
        )


def _csp() -> Iterator[checks.CheckMessage]:
    if not getattr(settings, "SECURE_CSP", None) or getattr(
        settings, "SECURE_CSP_REPORT_ONLY", None
    ):
        yield _warning(
            "core.W013",
            "Injected scripts run; browsers only report them.",
            "Set DJANGO_CSP_REPORT_ONLY=false once the reports are clean.",
        )


def _database_tls(databases: Mapping[str, Mapping[str, Any]]) -> Iterator[checks.CheckMessage]:
    for alias, database in databases.items():
        options: Mapping[str, Any] = database.get("OPTIONS", {})
        if _is_local(str(database.get("HOST", ""))) or options.get("sslmode") in DB_TLS_MODES:
            continue
        yield _warning(
            "core.W014",
            f"'{alias}' at {database.get('HOST')} (sslmode={options.get('sslmode')!r}): "
            "passwords and data cross the network in clear text.",
            "Set DJANGO_DATABASE_SSL_REQUIRE=true (or sslmode=verify-full in DATABASE_URL).",
        )


def _smtp_tls() -> Iterator[checks.CheckMessage]:
    mailers: Mapping[str, Mapping[str, Any]] = getattr(settings, "MAILERS", {})
    for name, mailer in mailers.items():
        options: Mapping[str, Any] = mailer.get("OPTIONS", {})
        smtp = str(mailer.get("BACKEND", "")).endswith("smtp.EmailBackend")
        if not smtp or _is_local(str(options.get("host", ""))):
            continue
        if not (options.get("use_tls") or options.get("use_ssl")):
            yield _warning(
                "core.W015",
                f"Mailer '{name}' sends to {options.get('host')} in clear text (password "
                "resets included).",
                "Set DJANGO_SMTP_USE_TLS=true.",
            )


def _api_docs() -> Iterator[checks.CheckMessage]:
    if getattr(settings, "API_DOCS_ENABLED", False):
        yield _warning(
            "core.W016",
            "The Swagger UI maps every operation for anyone who finds it.",
            "Set DJANGO_API_DOCS_ENABLED=false, or accept it in SILENCED_CHECK_REASONS.",
        )


def _forwarded_headers() -> Iterator[checks.CheckMessage]:
    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    drf_proxies = getattr(settings, "REST_FRAMEWORK", {}).get("NUM_PROXIES")
    problems = []
    if drf_proxies is None:
        problems.append(
            "REST_FRAMEWORK['NUM_PROXIES'] is None: DRF keys throttles on the "
            "whole X-Forwarded-For a client sends"
        )
    elif drf_proxies != proxies:
        problems.append(
            f"REST_FRAMEWORK['NUM_PROXIES'] ({drf_proxies}) is not TRUSTED_PROXIES ({proxies})"
        )
    if settings.SECURE_PROXY_SSL_HEADER and not proxies:
        problems.append(
            "SECURE_PROXY_SSL_HEADER is set with no proxy to strip a client's X-Forwarded-Proto"
        )
    # gunicorn.conf.py derives forwarded_allow_ips from DJANGO_TRUSTED_PROXIES, but
    # command-line options (GUNICORN_CMD_ARGS included) override the file.
    if "forwarded-allow-ips" in os.environ.get("GUNICORN_CMD_ARGS", "") and not proxies:
        problems.append(
            "GUNICORN_CMD_ARGS sets --forwarded-allow-ips while no proxy is trusted: gunicorn "
            "takes the scheme from a client's X-Forwarded-Proto"
        )
    if problems:
        yield _warning(
            "core.W017",
            "; ".join(problems) + ".",
            "Set DJANGO_TRUSTED_PROXIES to the number of proxies in front (README: Behind "
            "proxies); leave NUM_PROXIES and SECURE_PROXY_SSL_HEADER to the settings.",
        )


@checks.register(checks.Tags.security, "standards", deploy=True)
def check_deploy(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    database_settings: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """core.W011-core.W017, on the settings `check --deploy` runs with.

    `database_settings` replaces settings.DATABASES (which tests may not override);
    Django's own `databases` argument is a list of aliases, for checks that query.
    """
    found = [
        *_hosts_and_origins(),
        *_csp(),
        *_database_tls(settings.DATABASES if database_settings is None else database_settings),
        *_smtp_tls(),
        *_api_docs(),
        *_forwarded_headers(),
    ]
    return [message for message in found if not accepted(str(message.id))]


@checks.register("standards")
def check_silenced(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """core.W018: every core check that is silenced project-wide says why."""
    known = {*CHECKS, *DEPLOY_CHECKS}
    plain = sorted(
        check_id
        for check_id in settings.SILENCED_SYSTEM_CHECKS
        if check_id.startswith("core.") and not accepted(check_id)
    )
    messages = []
    if plain:
        messages.append(
            _warning(
                "core.W018",
                f"{', '.join(plain)} in SILENCED_SYSTEM_CHECKS.",
                "Say why in SILENCED_CHECK_REASONS = {'<id>': '<reason>'} instead (or "
                "@silence(...) on the one class a code check is about).",
            )
        )
    unsaid = sorted(
        check_id for check_id in reasons() if check_id not in known or not accepted(check_id)
    )
    if unsaid:
        messages.append(
            _warning(
                "core.W018",
                f"SILENCED_CHECK_REASONS: {', '.join(unsaid)} is not a known check or has an "
                "empty reason.",
                f"Use ids from docs/checks.md ({min(known)}-{max(known)}), each with a reason.",
            )
        )
    return messages
