"""Template releases rebuilt from this repository's history, for the update tests.

The tests never rely on tags in this repository (a CI checkout may have none, a maintainer's
clone may lag). Instead :func:`build_history` clones the repository into a temporary
directory, commits the working tree there (uncommitted changes included) as the newest
commit, and tags every release that ``CHANGELOG.md`` records, as docs/releasing.md defines:

- each release is a section headed ``## [X.Y.Z] - YYYY-MM-DD``; its release commit is the
  commit that added that exact heading line (the commit that dated the section), unless the
  heading names one, ``## [X.Y.Z] - YYYY-MM-DD (commit abc1234)``, as releases recorded after
  the fact do;
- the top section may be ``## [X.Y.Z] - Unreleased``: the version the working tree is about
  to become. The working tree is always the newest version: tagged with the Unreleased
  section's version, or, without one, it must not differ from the newest release in any
  file a project is rendered from (else the changes are missing from the changelog).

Copier reads versions from ``git describe``, so tagging the clone is all a real release
needs too; ``copy`` at a tag and ``update`` to a newer tag then behave as for users.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

CHANGELOG = "CHANGELOG.md"
HEADING_RE = re.compile(
    r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2}|Unreleased)"
    r"(?: \(commit (?P<commit>[0-9a-f]{7,40})\))?[ \t]*$"
)
# What a rendered project depends on: a change here is a change for generated services.
TEMPLATE_PATHS = ("copier.yml", "template", "extensions", "migrations")


class ChangelogError(ValueError):
    """CHANGELOG.md does not follow the format in docs/releasing.md."""


@dataclass(frozen=True)
class Section:
    version: Version
    heading: str
    unreleased: bool
    named_commit: str | None
    body: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class Release:
    version: Version
    tag: str
    commit: str  # full hash in the temporary clone


@dataclass(frozen=True)
class TemplateHistory:
    repo: Path  # the temporary clone: the template source every test copies from
    releases: tuple[Release, ...]  # oldest first; the last one is the working tree

    @property
    def newest(self) -> Release:
        return self.releases[-1]

    @property
    def earlier(self) -> tuple[Release, ...]:
        return self.releases[:-1]

    def release(self, tag: str) -> Release:
        for release in self.releases:
            if release.tag == tag:
                return release
        raise KeyError(tag)


def parse_changelog(text: str) -> list[Section]:
    """The version sections of a changelog, newest first, checked for order and format."""
    sections: list[Section] = []
    heading: re.Match[str] | None = None
    body: list[str] = []

    def close() -> None:
        if heading is not None:
            sections.append(
                Section(
                    version=Version(heading["version"]),
                    heading=heading.group(0).rstrip(),
                    unreleased=heading["date"] == "Unreleased",
                    named_commit=heading["commit"],
                    body="\n".join(body).strip(),
                )
            )

    for line in text.splitlines():
        if line.startswith("## "):
            close()
            heading, body = HEADING_RE.match(line), []
            if heading is None:
                raise ChangelogError(
                    f"{CHANGELOG}: {line!r} is not a release heading "
                    "('## [X.Y.Z] - YYYY-MM-DD' or '## [X.Y.Z] - Unreleased')"
                )
        elif heading is not None:
            body.append(line)
    close()
    if not sections:
        raise ChangelogError(f"{CHANGELOG} has no release section")
    for newer, older in itertools.pairwise(sections):
        if not newer.version > older.version:
            raise ChangelogError(
                f"{CHANGELOG}: {newer.version} is listed above {older.version}; "
                "sections go newest first, each version once"
            )
    for section in sections[1:]:
        if section.unreleased:
            raise ChangelogError(f"{CHANGELOG}: only the top section may be Unreleased")
    for section in sections:
        if section.unreleased and section.named_commit:
            raise ChangelogError(f"{CHANGELOG}: {section.version} is unreleased yet names a commit")
    return sections


def git(*args: str, cwd: Path) -> str:
    git_bin = shutil.which("git")
    if git_bin is None:
        raise RuntimeError("git is required")
    result = subprocess.run(
        [git_bin, *args], cwd=cwd, capture_output=True, text=True, check=False, env=os.environ
    )
    if result.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{result.stderr}")
    return result.stdout


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    result = subprocess.run(
        ["git", "merge-base", "--is-ancestor", older, newer], cwd=repo, check=False
    )
    return result.returncode == 0


def release_commit(repo: Path, section: Section) -> str | None:
    """The commit a released section names, or the one that added its heading; None if none."""
    if section.named_commit:
        return git("rev-parse", "--verify", f"{section.named_commit}^{{commit}}", cwd=repo).strip()
    added = git(
        "log", "--format=%H", "--reverse", "-S", section.heading, "HEAD", "--", CHANGELOG,
        cwd=repo,
    ).split()  # fmt: skip
    return added[0] if added else None


def commit_working_tree(source: Path, clone: Path) -> str:
    """Record ``source``'s working tree (uncommitted and untracked files too) in ``clone``."""
    # The clone's index, the source's files and ignore rules: one commit, nothing copied.
    git(f"--work-tree={source}", "add", "--all", cwd=clone)
    git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", "Working tree", cwd=clone)
    git("reset", "--quiet", "--hard", cwd=clone)  # the clone's own files match, so it is clean
    return git("rev-parse", "HEAD", cwd=clone).strip()


def build_history(source: Path, clone: Path) -> TemplateHistory:
    """Clone ``source`` into ``clone``, commit its working tree, tag every release."""
    if git("rev-parse", "--is-shallow-repository", cwd=source).strip() == "true":
        raise ChangelogError(
            f"{source} is a shallow clone: the update tests need the commits of earlier "
            "releases (git fetch --unshallow; in GitHub Actions, checkout with fetch-depth: 0)"
        )
    git("clone", "--quiet", str(source), str(clone), cwd=clone.parent)
    for tag in git("tag", "--list", cwd=clone).split():
        git("tag", "--delete", tag, cwd=clone)  # only CHANGELOG.md decides what is released
    working_tree = commit_working_tree(source, clone)
    sections = parse_changelog((clone / CHANGELOG).read_text(encoding="utf-8"))

    releases: list[Release] = []
    for section in reversed(sections[1:]):  # every release before the newest, oldest first
        commit = release_commit(clone, section)
        if commit is None:
            raise ChangelogError(f"no commit adds the heading {section.heading!r}")
        releases.append(Release(section.version, section.tag, commit))

    top = sections[0]
    commit = None if top.unreleased else release_commit(clone, top)
    if commit is not None and commit != working_tree:
        changed = git("diff", "--name-only", commit, working_tree, "--", *TEMPLATE_PATHS, cwd=clone)
        if changed.strip():
            raise ChangelogError(
                f"The template changed since {top.tag} ({', '.join(changed.split()[:5])}...) "
                f"but {CHANGELOG} has no section for it: add '## [X.Y.Z] - Unreleased' on top "
                "(see docs/releasing.md)."
            )
    releases.append(Release(top.version, top.tag, commit or working_tree))

    for older, newer in itertools.pairwise(releases):
        if older.commit == newer.commit or not is_ancestor(clone, older.commit, newer.commit):
            raise ChangelogError(
                f"{older.tag} ({older.commit[:12]}) must be an earlier commit than "
                f"{newer.tag} ({newer.commit[:12]}) on this branch"
            )
    for release in releases:
        git("tag", "--annotate", "--message", f"Release {release.version}", release.tag,
            release.commit, cwd=clone)  # fmt: skip
    return TemplateHistory(repo=clone, releases=tuple(releases))


def changelog_sections(repo: Path) -> list[Section]:
    return parse_changelog((repo / CHANGELOG).read_text(encoding="utf-8"))
