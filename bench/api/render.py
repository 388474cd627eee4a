"""Render the service under test and find the tools to run it."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path

from .common import PYENV_PYTHON_BIN, REPO_ROOT, run


def tool_env() -> dict[str, str]:
    """Environment for uv and the render's interpreter: real python first, no foreign venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    path = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if "pyenv/shims" not in p]
    if PYENV_PYTHON_BIN.is_dir():
        path.insert(0, str(PYENV_PYTHON_BIN))
    env["PATH"] = os.pathsep.join(path)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def find_uv() -> str:
    beside = Path(sys.executable).parent / "uv"  # /work/main/.venv/bin/uv under `uv run`
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise RuntimeError("uv not found beside the interpreter nor on PATH")
    return found


def render_service(
    dst: Path, home: Path, *, committed: bool, answers: dict[str, object] | None = None
) -> None:
    """Render with default answers (but ``answers``), in-process, isolated from the user's
    Copier and git setup.

    The source is the working tree (uncommitted changes included), or with ``committed`` a
    fresh clone of HEAD: a fixed snapshot while others edit the tree.
    """
    settings = home / "copier-settings.yml"
    settings.write_text("{}\n")
    (home / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    os.environ.update(
        COPIER_SETTINGS_PATH=str(settings),
        GIT_AUTHOR_NAME="API Bench",
        GIT_AUTHOR_EMAIL="api-bench@example.com",
        GIT_COMMITTER_NAME="API Bench",
        GIT_COMMITTER_EMAIL="api-bench@example.com",
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
    )
    source = REPO_ROOT
    if committed:
        source = home / "template"
        run(["git", "clone", "--quiet", str(REPO_ROOT), str(source)], what="git clone")
    from copier import run_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DirtyLocalWarning: the working tree is the point
        run_copy(
            str(source),
            str(dst),
            data=answers or {},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )


def template_version(committed: bool) -> str:
    git = ["git", "-C", str(REPO_ROOT)]
    version = run([*git, "rev-parse", "--short", "HEAD"], what="git rev-parse").strip()
    if not committed:
        dirty = run([*git, "status", "--porcelain", "--", "template", "extensions", "copier.yml"])
        if dirty.strip():
            version += " + uncommitted changes"
    return version
