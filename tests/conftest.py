"""Shared harness: render the template in-process, isolated from the user's machine.

Copier is called through ``run_copy`` in this process (importing copier costs about a
second; a subprocess per render would pay it every time). Every render uses the working
tree as the template source, by absolute path, so uncommitted changes are what is tested.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from versions import TemplateHistory

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML: dict[str, Any] = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
# Every python_version choice is gated (3.14 and 3.15 in the sid root: tests/sidroot.py).
SUPPORTED_PYTHONS = tuple(str(choice) for choice in COPIER_YML["python_version"]["choices"])


@cache
def host_python() -> str:
    """The newest python_version choice with a real interpreter on this machine.

    Tests that run a service on the host itself (gunicorn, workers, a browser, another
    user) render it for this Python. Where the host has no 3.14/3.15, those are gated in the
    sid root instead (tests/sidroot.py); a machine that has them runs these tests on them.
    """
    from gates import find_python

    for version in SUPPORTED_PYTHONS:  # newest first
        try:
            find_python(version)
        except RuntimeError:
            continue
        return version
    raise RuntimeError(f"none of the Python choices {SUPPORTED_PYTHONS} is installed here")


QUESTIONS: dict[str, dict[str, Any]] = {
    name: spec for name, spec in COPIER_YML.items() if not name.startswith("_")
}


def question_values(name: str) -> list[Any]:
    """Every value a choice or bool question accepts, the default first."""
    spec = QUESTIONS[name]
    if spec.get("type") == "bool":
        values: list[Any] = [True, False]
    else:
        choices = spec["choices"]
        values = list(choices.values()) if isinstance(choices, dict) else list(choices)
    return [spec["default"], *(value for value in values if value != spec["default"])]


def load_validators() -> ModuleType:
    """extensions/validators.py, loaded by path: extensions/ is not a package (Copier loads
    its files by path too)."""
    path = REPO_ROOT / "extensions" / "validators.py"
    spec = importlib.util.spec_from_file_location("template_validators", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- where the fast subset keeps its temporary files -------------------------------------
# `-m "not slow"` renders and updates services without installing them (about 2 MB per
# render), and Copier clones the template into a temporary folder for every update. On a
# disk mounted with `discard` (this CI's), every deleted file costs a TRIM: the fast subset
# took 56 s on disk and 47 s in RAM (2 workers). So a run of the fast subset alone keeps
# its temporary files under /dev/shm when the machine has one with room. Any run with slow
# tests stays on disk: their ~30 synced venvs (270 MB each, copied rather than hardlinked
# from uv's cache across filesystems) would not fit in a small runner's memory.
RAM_TEMP_ROOT = Path("/dev/shm")  # noqa: S108 - the run gets a private mkdtemp folder in it
RAM_TEMP_MIN_FREE = 4 << 30  # bytes
FAST_SUBSET = "not slow"
_RAM_RUN_DIR = pytest.StashKey[Path]()
_GREEN = pytest.StashKey[bool]()


def _ram_temp_root(config: pytest.Config) -> Path | None:
    if config.option.markexpr != FAST_SUBSET or config.option.basetemp:
        return None
    if not (RAM_TEMP_ROOT.is_dir() and os.access(RAM_TEMP_ROOT, os.W_OK | os.X_OK)):
        return None
    if shutil.disk_usage(RAM_TEMP_ROOT).free < RAM_TEMP_MIN_FREE:
        return None
    return RAM_TEMP_ROOT


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Fast subset: basetemp and every temporary folder in RAM. xdist's workers start
    later, with this TMPDIR and a basetemp inside this one."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    root = _ram_temp_root(config)
    if root is None:
        return
    run_dir = Path(tempfile.mkdtemp(prefix="template-tests-fast-", dir=root))
    config.option.basetemp = str(run_dir / "basetemp")
    tempfile.tempdir = str(run_dir)
    os.environ["TMPDIR"] = str(run_dir)  # for git, Copier's tasks and the workers
    config.stash[_RAM_RUN_DIR] = run_dir


def pytest_unconfigure(config: pytest.Config) -> None:
    """A green fast run leaves nothing in RAM; a red one keeps its files to be read."""
    run_dir = config.stash.get(_RAM_RUN_DIR, None)
    if run_dir is not None and config.stash.get(_GREEN, False):
        shutil.rmtree(run_dir, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_GREEN] = exitstatus == 0


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


@cache
def template_snapshot() -> Path:
    """The working tree's files (tracked and untracked, uncommitted changes included) in a
    plain folder: Copier renders a folder without cloning it, three times faster than a git
    source. Tests of what Copier records about a git source render REPO_ROOT instead."""
    snapshot = Path(tempfile.mkdtemp(prefix="template-snapshot-"))
    atexit.register(shutil.rmtree, snapshot, ignore_errors=True)
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=REPO_ROOT)
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            target = snapshot / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return snapshot


def render(dst: Path, src: Path | None = None, **answers: Any) -> Path:
    """Render the template into ``dst`` with default answers overridden by ``answers``.

    By default from a snapshot of the working tree; ``src=REPO_ROOT`` renders the git
    repository at HEAD with its uncommitted changes, as `copier copy` of a checkout does.
    """
    from copier import run_copy

    run_copy(
        str(src or template_snapshot()),
        str(dst),
        data=answers,
        defaults=True,
        unsafe=True,  # the template loads Jinja extensions from extensions/
        quiet=True,
        vcs_ref="HEAD" if src is not None else None,
    )
    return dst


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """A service rendered with every default answer."""
    return render(tmp_path / "service")


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> TemplateHistory:
    """This repository's releases, each tagged in a temporary clone (tests/versions.py),
    with the working tree as the newest: built once per session for the update tests."""
    from versions import build_history

    return build_history(REPO_ROOT, tmp_path_factory.mktemp("history") / "template")


def git(*args: str, cwd: Path) -> str:
    git_bin = shutil.which("git")
    assert git_bin, "git is required"
    result = subprocess.run(
        [git_bin, *args], cwd=cwd, check=True, capture_output=True, text=True, env=os.environ
    )
    return result.stdout
