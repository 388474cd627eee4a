"""Slow: each production toggle that weakens a deployment fails `check --deploy`.

On a rendered, synced service with prod settings (the variables the harness's gates use),
`manage.py check --deploy --fail-level WARNING` passes; flipping one environment variable,
alone, the way an operator would, fails it with that check's id (apps/core/checks/deploy.py,
docs/checks.md); writing the reason down in SILENCED_CHECK_REASONS makes it pass again,
and listing the id in plain SILENCED_SYSTEM_CHECKS does not (core.W018).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, find_uv, prod_check_env, run_gate
from production_services import run_to_exit

pytestmark = pytest.mark.slow

REMOTE_DATABASE = "postgres://app:secret@db.example.com:5432/app"  # never connected to

# check id -> one environment change, as an operator would make it.
TOGGLES: dict[str, dict[str, str]] = {
    "core.W011": {"DJANGO_ALLOWED_HOSTS": "*"},
    "core.W012": {"DJANGO_CSRF_TRUSTED_ORIGINS": "http://*.example.com"},
    "core.W013": {"DJANGO_CSP_REPORT_ONLY": "true"},
    "core.W014": {"DATABASE_URL": REMOTE_DATABASE, "DJANGO_DATABASE_SSL_REQUIRE": "false"},
    "core.W015": {"DJANGO_SMTP_HOST": "smtp.example.com", "DJANGO_SMTP_USE_TLS": "false"},
    "core.W016": {"DJANGO_API_DOCS_ENABLED": "true"},
    "core.W017": {"GUNICORN_CMD_ARGS": "--forwarded-allow-ips=*"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Any supported Python shows the same behaviour: the newest one this host has.
    rendered = render(
        tmp_path_factory.mktemp("deploy-checks") / "svc", python_version=host_python()
    )
    synced = run_gate(SYNC_GATE, rendered, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    return rendered


def check_deploy(project: Path, **changes: str) -> tuple[int, str, set[str]]:
    env = {
        **base_env(),
        **prod_check_env(project, REMOTE_DATABASE.replace("db.example.com", "127.0.0.1")),
        "UV_LOCKED": "1",
        **changes,
    }
    argv = [str(find_uv()), "run", "python", "manage.py", "check", "--deploy"]
    result = run_to_exit([*argv, "--fail-level", "WARNING"], project, env)
    return result.returncode, result.stdout, set(re.findall(r"\((core\.W\d{3})\)", result.stdout))


def test_production_settings_pass(project: Path) -> None:
    code, output, ids = check_deploy(project)
    assert (code, ids) == (0, set()), output


@pytest.mark.parametrize("check_id", TOGGLES)
def test_each_toggle_alone_fails_with_its_id(project: Path, check_id: str) -> None:
    code, output, ids = check_deploy(project, **TOGGLES[check_id])

    assert code != 0, f"{TOGGLES[check_id]} passed check --deploy:\n{output}"
    assert ids == {check_id}, output


SETTINGS_FILE = "src/config/settings/prod.py"


def with_prod_lines(project: Path, lines: str) -> str:
    """Append ``lines`` to the rendered prod settings; returns the original to restore."""
    path = project / SETTINGS_FILE
    original = path.read_text()
    path.write_text(original + "\n" + lines + "\n")
    return original


def test_a_written_reason_accepts_a_toggle_and_a_bare_silence_does_not(project: Path) -> None:
    path = project / SETTINGS_FILE
    original = with_prod_lines(
        project,
        'SILENCED_CHECK_REASONS = {"core.W016": "The API is public; its docs are part of it."}',
    )
    try:
        code, output, ids = check_deploy(project, **TOGGLES["core.W016"])
        assert (code, ids) == (0, set()), output
    finally:
        path.write_text(original)

    original = with_prod_lines(project, 'SILENCED_SYSTEM_CHECKS = ["core.W016"]')
    try:
        code, output, ids = check_deploy(project, **TOGGLES["core.W016"])
        assert code != 0, output
        assert ids == {"core.W018"}, output
    finally:
        path.write_text(original)
