"""An update that deletes a file holding the team's edits says so, and how to get it back.

Copier deletes every file the new answers no longer render, edited or not. The `after`
migration migrations/warn_removed_edits.py (copier.yml `_migrations`, no version: every
update) lists the deleted files that changed since the last copy or update.

- The script on a synthetic repository: a deleted file changed since the commit that last
  touched the answers file is listed under WARNING with the git commands that bring it
  back; a deleted file as the template rendered it is listed as such; nothing deleted,
  nothing printed; outside a git repository it stays silent and never fails.
- The case of the issue, through Copier: a service from the newest earlier release (both
  auth methods), with committed edits to `apps/users/session_views.py` and its test,
  updated to the working tree with `api_auth=jwt`. Both files are gone, both are named in
  the warning, and `git checkout HEAD -- <path>` gives back the edited version. The same
  update brings AGENTS.md, and leaves the team's own AGENTS.local.md exactly as it was.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, git
from updating import EARLIER, copy_at
from versions import TemplateHistory

SCRIPT = REPO_ROOT / "migrations" / "warn_removed_edits.py"
ANSWERS_FILE = ".copier-answers.yml"
SESSION_FILES = (
    "src/apps/users/session_views.py",
    "src/apps/users/tests/test_session_auth.py",
)
EDIT = "\n# Our team's change: kept on purpose.\n"


def run_script(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), ANSWERS_FILE],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip


def commit(repo: Path, message: str) -> None:
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--no-verify", "-m", message, cwd=repo)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project as the template left it (answers committed), then a team commit."""
    project = tmp_path / "svc"
    project.mkdir()
    git("init", "--quiet", cwd=project)
    (project / ANSWERS_FILE).write_text("_commit: v1\n")
    for name in ("edited.py", "as_rendered.py", "kept.py"):
        (project / name).write_text(f"# {name} as rendered\n")
    commit(project, "Generate")
    (project / "edited.py").write_text("# edited by the team\n")
    commit(project, "Team edit")
    return project


def test_deleted_edited_files_are_named_with_the_way_back(repo: Path) -> None:
    (repo / "edited.py").unlink()
    (repo / "as_rendered.py").unlink()

    result = run_script(repo)

    assert result.returncode == 0, result.stderr
    warning, _, rest = result.stderr.partition("Deleted as the template rendered them")
    assert "This update deleted 2 file(s)" in warning
    assert "WARNING: 1 of them held changes of yours" in warning
    assert "    edited.py\n" in warning
    assert "as_rendered.py" not in warning
    assert "git checkout HEAD -- <path>" in warning
    assert "    as_rendered.py\n" in rest
    assert "kept.py" not in result.stderr


def test_without_a_committed_answers_file_every_deleted_file_counts_as_edited(
    tmp_path: Path,
) -> None:
    git("init", "--quiet", cwd=tmp_path)
    (tmp_path / "a.py").write_text("a\n")
    commit(tmp_path, "First")
    (tmp_path / "a.py").unlink()

    result = run_script(tmp_path)

    assert "held changes of yours (made since the last copy or update, the first commit)" in (
        result.stderr
    )
    assert "    a.py\n" in result.stderr


def test_nothing_deleted_nothing_said(repo: Path) -> None:
    result = run_script(repo)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_outside_git_it_is_silent(tmp_path: Path) -> None:
    result = run_script(tmp_path)

    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.slow
@pytest.mark.skipif(not EARLIER, reason="no earlier release to update from")
def test_update_to_jwt_names_the_edited_session_files(
    history: TemplateHistory, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from copier import run_update

    project = copy_at(history, EARLIER[-1], tmp_path / "svc")
    for path in SESSION_FILES:
        assert (project / path).is_file(), f"{EARLIER[-1]} did not render {path}"
        with (project / path).open("a") as file:
            file.write(EDIT)
    team_rules = "# This team's rules\n\nOrders are never deleted, only cancelled.\n"
    (project / "AGENTS.local.md").write_text(team_rules)
    commit(project, "Team edits to the session views and their test; our agent rules")
    capfd.readouterr()

    run_update(
        str(project), data={"api_auth": "jwt"}, defaults=True, unsafe=True, overwrite=True,
        quiet=True, conflict="inline",
    )  # fmt: skip

    printed = capfd.readouterr()
    output = printed.out + printed.err
    for path in SESSION_FILES:
        assert not (project / path).exists(), f"{path} survived the switch to JWT"
    warning = output.partition("Deleted as the template rendered them")[0]
    assert "WARNING: 2 of them held changes of yours" in warning, output
    for path in SESSION_FILES:
        assert f"    {path}\n" in warning, output
    assert (project / "AGENTS.local.md").read_text() == team_rules
    assert "## Commands" in (project / "AGENTS.md").read_text()
    git("checkout", "HEAD", "--", SESSION_FILES[0], cwd=project)
    assert (project / SESSION_FILES[0]).read_text().endswith(EDIT)
