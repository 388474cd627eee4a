"""The import contracts in pyproject.toml (`[tool.importlinter]`) hold.

CI runs them as a step of their own; this test makes `uv run pytest` enforce them too, with
the same command (in a subprocess: lint-imports reconfigures logging for its process). The
contracts and how to read a broken one: docs/checks.md.
"""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_code_base_keeps_every_import_contract() -> None:
    result = subprocess.run(  # noqa: S603  (a fixed command)
        [LINT_IMPORTS, "--no-cache"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR / "src")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
