"""Services generated at every earlier release and updated untouched: no conflict, the
`_migrations` applied, answers and secrets kept, and (slow) every gate green afterwards,
also after moving to another Python; an update to the same version changes nothing.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, git
from postgres import Cluster, pg_cluster
from updating import (
    ANSWERS_FILE,
    ANSWERS_MIGRATION,
    EARLIER,
    answers,
    check_update,
    copy_at,
    database_name,
    dotenv_value,
    files_with_markers,
    oldest_and_newest_python,
    rejects,
    run_every_gate,
    trackable_files,
    unmerged,
    update,
)
from versions import (
    Release,
    TemplateHistory,
)

__all__ = ["pg_cluster"]  # the fixture, imported to be used here


@pytest.fixture(
    scope="module",
    params=[(tag, python) for tag in EARLIER for python in oldest_and_newest_python(tag)],
    ids=lambda param: f"{param[0]}-py{param[1]}",
)
def untouched(
    request: pytest.FixtureRequest,
    history: TemplateHistory,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Release, Path, dict[str, Any], str]:
    """A service generated at an earlier release, committed, then updated to the newest.

    Default answers, but on the oldest and the newest Python the release offered (3.14 at
    0.1.0 and 0.2.0, which shipped no lock for it: the update brings one). Returns the release, the
    project, its answers before the update, and Copier's output. Tests only read it; the
    slow gate test works on a copy.
    """
    tag, python = request.param
    release = history.release(tag)
    # Always given: the release's default may not be today's. 0.1.0's context hook needs
    # the slug as soon as python_version is known: given as data, python_version comes
    # first, so the slug is given too (its default).
    choices = {"python_version": python, "project_slug": "my_service"}
    project = copy_at(
        history, release.tag, tmp_path_factory.mktemp("untouched") / "service", **choices
    )
    before = answers(project)
    output = update(project, quiet=False)  # no vcs_ref: the newest tag, as for users
    return release, project, before, output


# --- untouched services ----------------------------------------------------------------------


def test_untouched_service_updates_without_conflicts(
    untouched: tuple[Release, Path, dict[str, Any], str], history: TemplateHistory
) -> None:
    release, project, _, _ = untouched
    assert files_with_markers(project) == [], f"conflict markers after updating {release.tag}"
    assert rejects(project) == [], f".rej files after updating {release.tag}"
    assert unmerged(project) == [], f"unmerged paths after updating {release.tag}"
    recorded = answers(project)
    assert recorded["_commit"] == history.newest.tag
    assert recorded["_src_path"] == str(history.repo)


def test_update_prints_how_to_find_and_resolve_conflicts(
    untouched: tuple[Release, Path, dict[str, Any], str],
) -> None:
    output = untouched[3]
    for needle in ("git diff --name-only --diff-filter=U", "<<<<<<< before updating",
                   "git checkout --theirs uv.lock && uv lock", "docs/upgrading.md"):  # fmt: skip
        assert needle in output, f"_message_after_update does not mention {needle!r}"


def test_migration_keeps_an_old_service_as_it_was(
    untouched: tuple[Release, Path, dict[str, Any], str],
) -> None:
    """0.2.0 added `example_app` (default yes) and `api_auth` (default both): a 0.1.x service
    must not gain the catalog app or JWT on update."""
    release, project, before, _ = untouched
    if release.version >= ANSWERS_MIGRATION:
        assert answers(project)["example_app"] == before["example_app"]
        assert answers(project)["api_auth"] == before["api_auth"]
        return
    assert "example_app" not in before
    assert "api_auth" not in before
    recorded = answers(project)
    assert recorded["example_app"] is False
    assert recorded["api_auth"] == "session"
    assert not (project / "src/apps/catalog").exists(), "the update added the catalog app"
    base = (project / "src/config/settings/base.py").read_text()
    assert '"apps.catalog"' not in base
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    lock = tomllib.loads((project / "uv.lock").read_text())
    packages = [*pyproject["project"]["dependencies"], *(p["name"] for p in lock["package"])]
    assert [name for name in packages if "simplejwt" in name] == [], "JWT packages appeared"
    jwt_code = [
        name
        for name in trackable_files(project)
        if name.endswith(".py")
        and re.search(rb"rest_framework_simplejwt", (project / name).read_bytes())
    ]
    assert jwt_code == [], f"JWT appeared in {jwt_code}"
    assert "SessionAuthentication" in base


def test_update_keeps_the_answers(untouched: tuple[Release, Path, dict[str, Any], str]) -> None:
    _, project, before, _ = untouched
    after = answers(project)
    kept = {key: value for key, value in before.items() if not key.startswith("_")}
    assert {key: after[key] for key in kept} == kept


def test_update_leaves_env_and_its_secret_alone(
    untouched: tuple[Release, Path, dict[str, Any], str],
) -> None:
    _, project, _, _ = untouched
    secret = dotenv_value(project, "DJANGO_SECRET_KEY")
    assert len(secret) >= 50
    assert ".env" not in trackable_files(project)
    leaks = [
        name
        for name in trackable_files(project)
        if secret.encode() in (project / name).read_bytes()
    ]
    assert leaks == [], f"the generated secret is in tracked files: {leaks}"


@pytest.mark.slow
def test_every_gate_is_green_after_update(
    untouched: tuple[Release, Path, dict[str, Any], str], tmp_path: Path, pg_cluster: Cluster
) -> None:
    release, updated, before, _ = untouched
    project = tmp_path / "service"
    shutil.copytree(updated, project, symlinks=True)
    kind = f"untouched_py{before['python_version'].replace('.', '')}"
    run_every_gate(project, pg_cluster, database_name(release.tag, kind), tmp_path)


@pytest.mark.slow
def test_update_that_moves_a_service_to_python_314_ends_green(
    history: TemplateHistory, tmp_path: Path, pg_cluster: Cluster
) -> None:
    """A 3.13 service of the latest release, updated with `--data python_version=3.14` as
    CHANGELOG.md 0.3.0 says: no conflict, every file names 3.14, the template's 3.14 lock
    replaces the old one, and after the steps the update message gives every gate is green
    on a real 3.14."""
    from copier import run_update

    tag = EARLIER[-1]
    project = copy_at(
        history, tag, tmp_path / "service", python_version="3.13", project_slug="my_service"
    )
    with contextlib.redirect_stderr(io.StringIO()):
        run_update(
            str(project), data={"python_version": "3.14"}, defaults=True, unsafe=True,
            overwrite=True, quiet=True, conflict="inline",
        )  # fmt: skip

    # The steps of _message_after_update: find conflicts (none expected), lock, test.
    assert unmerged(project) == [], "changing python_version conflicted"
    assert files_with_markers(project) == []
    assert answers(project)["python_version"] == "3.14"
    assert (project / ".python-version").read_text() == "3.14\n"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.14"
    assert pyproject["tool"]["ruff"]["target-version"] == "py314"
    assert "ARG PYTHON_VERSION=3.14" in (project / "Dockerfile").read_text()
    lock = tomllib.loads((project / "uv.lock").read_text())
    assert lock["requires-python"] == ">=3.14", "the update did not bring the 3.14 lock"
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--no-verify", "-m", "Python 3.14", cwd=project)
    run_every_gate(project, pg_cluster, database_name(tag, "py313_to_py314"), tmp_path)


# --- same version, answers file, secrets -----------------------------------------------------


@pytest.mark.parametrize("which", ["earliest", "newest"])
def test_update_to_the_same_version_changes_nothing(
    which: str, history: TemplateHistory, tmp_path: Path
) -> None:
    release = history.releases[0] if which == "earliest" else history.newest
    project = copy_at(history, release.tag, tmp_path / "service")
    assert check_update(project) == {
        "update_available": release != history.newest,
        "current_version": str(release.version),
        "latest_version": str(history.newest.version),
    }, "copier check-update (what the scheduled workflow asks) misreports the versions"
    update(project, vcs_ref=release.tag)
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project) == ""


@pytest.mark.parametrize("which", ["earliest", "newest"])
def test_answers_file_has_the_default_name(
    which: str, history: TemplateHistory, tmp_path: Path
) -> None:
    release = history.releases[0] if which == "earliest" else history.newest
    project = copy_at(history, release.tag, tmp_path / "service")
    answer_files = [
        name for name in trackable_files(project) if Path(name).name.startswith(".copier-answers")
    ]
    assert answer_files == [ANSWERS_FILE]
    recorded = answers(project)
    assert recorded["_commit"] == release.tag
    assert recorded["_src_path"] == str(history.repo), "the template path must be absolute"
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    assert config.get("_answers_file", ANSWERS_FILE) == ANSWERS_FILE


def test_no_generated_value_reaches_a_tracked_file(
    history: TemplateHistory, tmp_path: Path
) -> None:
    """The secret sits only in the git-ignored `.env`; two renders with the same answers
    produce byte-identical tracked files, so nothing random (no other secret) is in them."""
    tag = history.newest.tag
    first = copy_at(history, tag, tmp_path / "a" / "service")
    second = copy_at(history, tag, tmp_path / "b" / "service")
    secret = dotenv_value(first, "DJANGO_SECRET_KEY")
    assert secret != dotenv_value(second, "DJANGO_SECRET_KEY"), "the secret is not random"
    assert git("check-ignore", ".env", cwd=first).strip() == ".env"
    tracked = trackable_files(first)
    assert ".env" not in tracked
    leaks = [name for name in tracked if secret.encode() in (first / name).read_bytes()]
    assert leaks == [], f"the generated secret is in tracked files: {leaks}"
    assert tracked == trackable_files(second)
    differ = [
        name for name in tracked if (first / name).read_bytes() != (second / name).read_bytes()
    ]
    assert differ == [], f"tracked files differ between two identical renders: {differ}"
