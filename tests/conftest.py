"""Shared harness: render the template in-process, isolated from the user's machine.

Copier is called through ``run_copy`` in this process (importing copier costs about a
second; a subprocess per render would pay it every time). Every render uses the working
tree as the template source, by absolute path, so uncommitted changes are what is tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_PYTHONS = ("3.12", "3.13")  # 3.14 renders but cannot be tested on this machine


@pytest.fixture(scope="session", autouse=True)
def isolated_copier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the user's Copier settings and git identity out of every render."""
    home = tmp_path_factory.mktemp("copier-home")
    settings = home / "copier-settings.yml"
    settings.write_text("{}\n")  # Copier rejects an empty file
    patch = pytest.MonkeyPatch()
    patch.setenv("COPIER_SETTINGS_PATH", str(settings))
    for var, value in {
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "template-tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "template-tests@example.com",
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        patch.setenv(var, value)
    (home / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    yield
    patch.undo()


def render(dst: Path, src: Path = REPO_ROOT, **answers: Any) -> Path:
    """Render the template into ``dst`` with default answers overridden by ``answers``."""
    from copier import run_copy

    run_copy(
        str(src),
        str(dst),
        data=answers,
        defaults=True,
        unsafe=True,  # the template loads Jinja extensions from extensions/
        quiet=True,
        vcs_ref="HEAD",  # the working tree, uncommitted changes included; never an old tag
    )
    return dst


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """A service rendered with every default answer."""
    return render(tmp_path / "service")


def git(*args: str, cwd: Path) -> str:
    git_bin = shutil.which("git")
    assert git_bin, "git is required"
    result = subprocess.run(
        [git_bin, *args], cwd=cwd, check=True, capture_output=True, text=True, env=os.environ
    )
    return result.stdout
