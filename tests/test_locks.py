"""Slow: every recorded lock (extensions/locks/) still resolves exactly what its rendered
pyproject declares, so a service's `uv sync --locked` installs the versions tested here."""

import subprocess
import sys

import pytest
from conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def test_recorded_locks_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "relock.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )

    assert result.returncode == 0, (
        "a recorded lock is stale: run `uv run python scripts/relock.py`\n"
        f"{result.stdout}\n{result.stderr}"
    )
    assert "lock --check" in result.stdout
