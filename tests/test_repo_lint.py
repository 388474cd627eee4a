"""The template repository's own Python (harness, benchmarks, scripts, extensions) passes
the same linter and formatter it asks of generated services."""

import subprocess
import sys

import pytest
from conftest import REPO_ROOT

OWN_CODE = ["tests", "bench", "scripts", "extensions", "migrations"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *OWN_CODE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
