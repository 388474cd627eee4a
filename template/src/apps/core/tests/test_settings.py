"""The prod settings refuse to load without their required variables, naming each one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC_DIR = Path(__file__).resolve().parents[3]
PROD_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://app:app@db.internal:5432/app",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def _environment_without_settings() -> dict[str, str]:
    """This process's environment (PATH, library paths) minus anything settings read."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in PROD_ENV
    }


def _load_prod_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import config.settings.prod"],
        cwd=SRC_DIR,
        env={**_environment_without_settings(), "PYTHONPATH": str(SRC_DIR), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_prod_settings_load_with_every_required_variable() -> None:
    result = _load_prod_settings(PROD_ENV)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(PROD_ENV))
def test_prod_settings_refuse_to_load_without(missing: str) -> None:
    env = {name: value for name, value in PROD_ENV.items() if name != missing}

    result = _load_prod_settings(env)

    assert result.returncode != 0
    assert f'Environment variable "{missing}" not set' in result.stderr
