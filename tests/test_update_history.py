"""The changelog and the release history the update tests build on: CHANGELOG.md is
well-formed, release commits follow docs/releasing.md, and every release is tagged in order.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT, git
from versions import (
    ChangelogError,
    TemplateHistory,
    build_history,
    changelog_sections,
    parse_changelog,
)

# --- the changelog and the release history -------------------------------------------------


def test_changelog_is_well_formed() -> None:
    sections = changelog_sections(REPO_ROOT)
    for section in sections:
        assert "**Action needed:**" in section.body, (
            f"CHANGELOG.md section {section.version} has no '**Action needed:**' line"
        )
    assert len(sections) >= 2, "the update tests need at least one release before the newest"


def test_changelog_format_errors_are_reported() -> None:
    with pytest.raises(ChangelogError, match="not a release heading"):
        parse_changelog("# Changelog\n\n## 0.2.0\n")
    with pytest.raises(ChangelogError, match="newest first"):
        parse_changelog("## [0.1.0] - 2026-01-01\n\n## [0.2.0] - 2026-02-01\n")
    with pytest.raises(ChangelogError, match="only the top section"):
        parse_changelog("## [0.2.0] - 2026-02-01\n\n## [0.1.0] - Unreleased\n")
    sections = parse_changelog(
        "# Changelog\n\n## [0.2.0] - Unreleased\n\nNew.\n\n### Added\n\n"
        "## [0.1.0] - 2026-01-01 (commit abc1234)\n\nFirst.\n"
    )
    assert [(s.tag, s.unreleased, s.named_commit) for s in sections] == [
        ("v0.2.0", True, None),
        ("v0.1.0", False, "abc1234"),
    ]
    assert sections[0].body == "New.\n\n### Added"


def synthetic_template(root: Path) -> Path:
    """A repository with a template file and a changelog, for the release rules."""
    repo = root / "source"
    repo.mkdir()
    git("init", "--quiet", cwd=repo)
    (repo / "template").mkdir()
    (repo / "template/app.py").write_text("one = 1\n")
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", "First render", cwd=repo)
    return repo


def commit_all(repo: Path, message: str) -> str:
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


def test_release_commits_follow_docs_releasing(tmp_path: Path) -> None:
    repo = synthetic_template(tmp_path)
    first = git("rev-parse", "HEAD", cwd=repo).strip()
    (repo / "template/app.py").write_text("one = 1\ntwo = 2\n")
    changelog = (
        "# Changelog\n\n## [0.2.0] - 2026-02-01\n\n**Action needed:** none.\n\n"
        f"## [0.1.0] - 2026-01-01 (commit {first[:7]})\n\n**Action needed:** none.\n"
    )
    (repo / "CHANGELOG.md").write_text(changelog)
    dated = commit_all(repo, "Release 0.2.0")  # the commit that dates 0.2.0's section
    (repo / "README.md").write_text("Docs only: no new version needed.\n")
    commit_all(repo, "Docs")

    history = build_history(repo, tmp_path / "a")
    assert [(r.tag, r.commit) for r in history.releases] == [("v0.1.0", first), ("v0.2.0", dated)]

    # Uncommitted template changes without an Unreleased section: refused.
    (repo / "template/app.py").write_text("one = 1\ntwo = 2\nthree = 3\n")
    with pytest.raises(ChangelogError, match="has no section for it"):
        build_history(repo, tmp_path / "b")

    # With one, the working tree is that version, uncommitted changes included.
    (repo / "CHANGELOG.md").write_text(
        changelog.replace("# Changelog\n", "# Changelog\n\n## [0.3.0] - Unreleased\n")
    )
    history = build_history(repo, tmp_path / "c")
    assert [r.tag for r in history.releases] == ["v0.1.0", "v0.2.0", "v0.3.0"]
    assert history.release("v0.2.0").commit == dated
    shown = git("show", f"{history.newest.tag}:template/app.py", cwd=history.repo)
    assert shown == "one = 1\ntwo = 2\nthree = 3\n"


def test_history_tags_every_release_in_order(history: TemplateHistory) -> None:
    sections = changelog_sections(REPO_ROOT)
    assert [release.tag for release in history.releases] == [
        section.tag for section in reversed(sections)
    ]
    described = git("describe", "--tags", "--exact-match", history.newest.commit, cwd=history.repo)
    assert described.strip() == history.newest.tag
    assert git("status", "--porcelain", cwd=history.repo) == "", "the template clone is dirty"
    # The first release is the first commit where the template renders a service.
    first = history.releases[0]
    assert git("cat-file", "-t", f"{first.commit}:template/manage.py", cwd=history.repo).strip()


def test_release_tags_in_this_repository_match_the_changelog(history: TemplateHistory) -> None:
    """Tags a maintainer pushed must point where CHANGELOG.md says (docs/releasing.md);
    an Unreleased version (the working tree) has no tag yet."""
    for release in history.releases:
        tagged = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{release.tag}^{{commit}}"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if tagged.returncode == 0:
            assert tagged.stdout.strip() == release.commit, (
                f"tag {release.tag} points at {tagged.stdout.strip()[:12]}, "
                f"CHANGELOG.md at {release.commit[:12]}"
            )
