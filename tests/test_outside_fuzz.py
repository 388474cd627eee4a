"""bench/outside_fuzz (schemathesis's CLI against a live service) leaves out exactly the
checks the generated fuzz test leaves out, read from the render, with their reasons."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO_ROOT, render

sys.path.insert(0, str(REPO_ROOT))
from bench.outside_fuzz.__main__ import config_file, excluded_checks


@pytest.mark.parametrize("example_app", [True, False])
def test_the_cli_config_leaves_out_what_the_generated_test_leaves_out(
    tmp_path: Path, example_app: bool
) -> None:
    project = render(tmp_path / "svc", example_app=example_app)
    excluded = excluded_checks(project)

    config = config_file(tmp_path / "schemathesis.toml", excluded)

    text = config.read_text()
    operations = tomllib.loads(text).get("operations", [])
    seen = {
        f"{entry['include-method']} {entry['include-path']}": {
            check for check, setting in entry["checks"].items() if setting == {"enabled": False}
        }
        for entry in operations
    }
    assert seen == {label: set(checks) for label, checks in excluded.items()}
    assert all(f"# {reason}" in text for checks in excluded.values() for reason in checks.values())
    if example_app:
        assert "POST /api/v1/catalog/products/{id}/publish/" in excluded
    else:
        assert excluded == {}
