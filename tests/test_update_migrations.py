"""The `_migrations` scripts: record_answers.py records only missing answers and refuses bad
arguments; copier.yml uses the current migration format.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO_ROOT
from packaging.version import Version
from updating import (
    ANSWERS_FILE,
)

# --- the migration script --------------------------------------------------------------------


def run_record_answers(answers_file: Path, *assignments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "migrations/record_answers.py"), str(answers_file),
         *assignments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_record_answers_adds_only_missing_answers(tmp_path: Path) -> None:
    answers_file = tmp_path / ANSWERS_FILE
    answers_file.write_text("# Changes here will be overwritten\n_commit: v0.1.0\napi_auth: jwt\n")
    result = run_record_answers(answers_file, "example_app=false", "api_auth=session")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(answers_file.read_text()) == {
        "_commit": "v0.1.0", "api_auth": "jwt", "example_app": False,
    }  # fmt: skip
    assert answers_file.read_text().startswith("# Changes here will be overwritten\n")
    again = answers_file.read_text()
    assert run_record_answers(answers_file, "example_app=true").returncode == 0
    assert answers_file.read_text() == again, "a second run changed the answers"


def test_record_answers_rejects_bad_arguments(tmp_path: Path) -> None:
    answers_file = tmp_path / ANSWERS_FILE
    answers_file.write_text("_commit: v0.1.0\n")
    result = run_record_answers(answers_file, "example_app")
    assert result.returncode != 0
    assert "question=value" in result.stderr


def test_migrations_use_the_current_format() -> None:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    for migration in config["_migrations"]:
        assert set(migration) <= {"version", "command", "when", "working_directory"}, migration
        assert "_stage" in migration["when"], "say which stage: Copier's default is after"
        if "version" in migration:  # without one, it runs on every update
            Version(migration["version"])
        command = migration["command"]
        assert isinstance(command, list), "a list runs without a shell: no quoting problems"
        assert command[0] == "{{ _copier_python }}"
        script = command[1].replace("{{ _copier_conf.src_path }}/", "")
        assert (REPO_ROOT / script).is_file(), f"{script} does not exist"
