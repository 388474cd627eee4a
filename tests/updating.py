"""Shared by the update tests (tests/test_update_*.py): releases from this repository's
history (tests/versions.py), services generated at a release and updated in-process with
`conflict="inline"` (`copier update` exits 0 even with conflicts: the tests look for
markers themselves), and the checks they make on the result."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, git
from gates import SYNC_GATE, assert_gates_green, base_env, find_uv, run_gate
from packaging.version import Version
from postgres import Cluster
from sidroot import toolchain
from versions import (
    ChangelogError,
    TemplateHistory,
    changelog_sections,
    release_commit,
)

ANSWERS_FILE = ".copier-answers.yml"  # Copier's default name
DEFAULT_PYTHON = str(
    yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["python_version"]["default"]
)
CONFLICT_START = re.compile(rb"^<<<<<<< ", re.MULTILINE)
CONFLICT_END = re.compile(rb"^>>>>>>> ", re.MULTILINE)
WORKFLOW = ".github/workflows/template-update.yml"
# The release whose migration records answers that keep a 0.1.x service as it was.
ANSWERS_MIGRATION = Version("0.2.0")


def _earlier_tags() -> list[str]:
    try:
        return [section.tag for section in reversed(changelog_sections(REPO_ROOT)[1:])]
    except (ChangelogError, OSError):
        return []  # test_changelog_is_well_formed reports why


def oldest_and_newest_python(tag: str) -> list[str]:
    """The oldest and the newest python_version choice release ``tag`` offered."""
    try:
        section = next(s for s in changelog_sections(REPO_ROOT) if s.tag == tag)
        commit = release_commit(REPO_ROOT, section)
        config = yaml.safe_load(git("show", f"{commit}:copier.yml", cwd=REPO_ROOT))
        choices = sorted(config["python_version"]["choices"], key=Version)
    except (ChangelogError, OSError, RuntimeError, StopIteration, subprocess.SubprocessError):
        return [DEFAULT_PYTHON]  # the history tests report what is wrong
    return list(dict.fromkeys([str(choices[0]), str(choices[-1])]))


EARLIER = _earlier_tags()


# --- helpers --------------------------------------------------------------------------------


def copy_at(history: TemplateHistory, tag: str, dst: Path, **answers: Any) -> Path:
    """Generate a service from release ``tag`` with default answers and commit it."""
    from copier import run_copy

    run_copy(
        str(history.repo), str(dst), data=answers, defaults=True, unsafe=True, quiet=True,
        vcs_ref=tag,
    )  # fmt: skip
    git("init", "--quiet", cwd=dst)
    git("add", "--all", cwd=dst)
    git("commit", "--quiet", "--no-verify", "-m", f"Generate from the template {tag}", cwd=dst)
    return dst


def update(project: Path, vcs_ref: str | None = None, *, quiet: bool = True) -> str:
    """`copier update --trust --defaults --conflict inline`; returns what Copier printed."""
    from copier import run_update

    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        run_update(
            str(project), defaults=True, unsafe=True, overwrite=True, quiet=quiet,
            conflict="inline", vcs_ref=vcs_ref,
        )  # fmt: skip
    return printed.getvalue()


def check_update(project: Path) -> dict[str, Any]:
    """`copier check-update --output-format json`, the scheduled workflow's first step."""
    result = subprocess.run(
        [sys.executable, "-m", "copier", "check-update", "--output-format", "json", str(project)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def trackable_files(project: Path) -> list[str]:
    """Every file `git add --all` would commit: tracked, or untracked and not ignored."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=project)
    return sorted({name for name in listed.split("\0") if name and (project / name).is_file()})


def files_with_markers(project: Path) -> list[str]:
    return [
        name
        for name in trackable_files(project)
        if CONFLICT_START.search(data := (project / name).read_bytes()) or CONFLICT_END.search(data)
    ]


def rejects(project: Path) -> list[str]:
    return sorted(
        str(path.relative_to(project))
        for path in project.rglob("*.rej")
        if ".git" not in path.relative_to(project).parts
    )


def unmerged(project: Path) -> list[str]:
    return sorted(set(git("diff", "--name-only", "--diff-filter=U", cwd=project).split()))


def answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ANSWERS_FILE).read_text())


def dotenv_value(project: Path, name: str) -> str:
    for line in (project / ".env").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip().strip("'\"")
    raise AssertionError(f"{name} is not in the generated .env")


def uv(project: Path, *args: str) -> str:
    """Run uv in a generated project the way a developer would; fail with its output."""
    result = subprocess.run(
        [str(find_uv()), *args], cwd=project, env=base_env(), capture_output=True, text=True,
        check=False, timeout=900,
    )  # fmt: skip
    if result.returncode:
        pytest.fail(
            f"uv {' '.join(args)} failed in {project}:\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout + result.stderr


def run_every_gate(project: Path, cluster: Cluster, database: str, tmp: Path) -> None:
    """`uv sync --locked`, then every gate of STANDARDS.md (tests/gates.py) on the service's
    own Python (in the sid root when the host has none: a copy of the project goes there);
    fail with all the failing gates' output."""
    with toolchain(answers(project)["python_version"], tmp) as (workdir, env, root):
        if root is not None:
            shutil.copytree(project, workdir / project.name, symlinks=True)
            project = workdir / project.name
        synced = run_gate(SYNC_GATE, project, env, root)
        if not synced.ok:
            pytest.fail(synced.report(), pytrace=False)
        database_url = cluster.create_database(database)
        assert_gates_green(
            project, database_url, workdir / "schema.yaml", env, label=f"in {project}", root=root
        )


def database_name(tag: str, kind: str) -> str:
    return f"update_{re.sub(r'[^a-z0-9]', '_', tag.lower())}_{kind}"
