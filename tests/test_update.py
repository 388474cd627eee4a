"""`copier update` from every earlier release to the working tree, as a team would run it.

Releases come from this repository's own history (tests/versions.py): a temporary clone with
the working tree committed as the newest version and every release in CHANGELOG.md tagged.
For each earlier release a service is generated with the default answers and committed, then:

- untouched, it updates with no conflict marker, no `.rej` file, no unmerged path, with the
  `_migrations` applied (a 0.1.x service gets no catalog app and keeps session-only auth),
  and (slow) every gate of STANDARDS.md green afterwards;
- with scripted user edits (an app from `startapp`, a dependency from `uv add`, the app in
  INSTALLED_APPS, a README line, a custom setting) every edit survives, conflicts appear only
  in files both sides changed (listed in the output), and (slow) after resolving them the
  way docs/upgrading.md says, every gate is green.

Also: an update to the version a service already has changes nothing; the answers file has
Copier's default name; no generated secret reaches a file git would track; the scheduled
update workflow is a valid GitHub workflow, and (slow) its shell steps, run as a runner
would against a bare `origin` with a stub `gh`, update a service and open the pull request.
Updates run in-process with `conflict="inline"` and check for markers themselves:
`copier update` exits 0 even with conflicts.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, git, host_python, render
from gates import SYNC_GATE, assert_gates_green, base_env, find_uv, run_gate
from packaging.version import Version
from postgres import Cluster, pg_cluster
from sidroot import toolchain
from versions import (
    ChangelogError,
    Release,
    TemplateHistory,
    build_history,
    changelog_sections,
    parse_changelog,
    release_commit,
)

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

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


def _oldest_and_newest_python(tag: str) -> list[str]:
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


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> TemplateHistory:
    return build_history(REPO_ROOT, tmp_path_factory.mktemp("history") / "template")


@pytest.fixture(
    scope="module",
    params=[(tag, python) for tag in EARLIER for python in _oldest_and_newest_python(tag)],
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


# --- services with the team's own changes ----------------------------------------------------


def make_user_edits(project: Path) -> list[tuple[str, str]]:
    """What a team does in its first weeks; returns (file, text) that proves each edit."""
    uv(project, "sync", "--locked")
    custom_startapp = project / "src/apps/core/management/commands/startapp.py"
    if custom_startapp.exists():
        uv(project, "run", "python", "manage.py", "startapp", "orders")
        urls = project / "src/config/urls.py"
        anchor = '    path("users/", include("apps.users.urls")),\n'
        text = urls.read_text()
        assert anchor in text, "cannot find where to route the new app in urls.py"
        urls.write_text(
            text.replace(anchor, anchor + '    path("orders/", include("apps.orders.urls")),\n')
        )
    else:  # Django's own startapp: the app goes where the project keeps its apps
        (project / "src/apps/orders").mkdir()
        uv(project, "run", "python", "manage.py", "startapp", "orders", "src/apps/orders")
        apps_py = project / "src/apps/orders/apps.py"
        apps_py.write_text(re.sub(r"name = ['\"]orders['\"]", 'name = "apps.orders"',
                                  apps_py.read_text()))  # fmt: skip

    base = project / "src/config/settings/base.py"
    text = base.read_text()
    anchor = '    "apps.users",\n'
    assert anchor in text, "cannot find INSTALLED_APPS' last project app"
    text = text.replace(anchor, anchor + '    "apps.orders",\n', 1)
    text += "\n# Orders: how long an unpaid order holds its stock, in minutes.\n"
    text += "ORDER_HOLD_MINUTES = 30\n"
    base.write_text(text)

    readme = project / "README.md"
    description = answers(project)["description"]
    text = readme.read_text()
    assert f"\n{description}\n" in text, "the README no longer starts with the description"
    text = text.replace(f"\n{description}\n", "\nOrders, invoices and refunds for the shop.\n", 1)
    text += "\n## Team\n\nOwned by the checkout team.\n"
    readme.write_text(text)

    uv(project, "add", "httpx>=0.28")
    # The team's pre-commit hooks: ruff fixes and formats what Django's startapp wrote.
    uv(project, "run", "ruff", "check", "--fix", "--quiet", ".")
    uv(project, "run", "ruff", "format", "--quiet", ".")
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--no-verify", "-m", "Orders app, httpx, README", cwd=project)
    return [
        ("src/apps/orders/apps.py", 'name = "apps.orders"'),
        ("src/config/settings/base.py", '"apps.orders",'),
        ("src/config/settings/base.py", "ORDER_HOLD_MINUTES = 30"),
        ("README.md", "Orders, invoices and refunds for the shop."),
        ("README.md", "Owned by the checkout team."),
        ("pyproject.toml", '"httpx>=0.28"'),
    ]


def missing_edits(project: Path, edits: list[tuple[str, str]]) -> list[str]:
    return [
        f"{path}: {needle!r}"
        for path, needle in edits
        if not (project / path).exists() or needle not in (project / path).read_text()
    ]


def stage(project: Path, number: int, path: str) -> bytes | None:
    """A conflicted file's version in the index: 1 last update, 2 yours, 3 the template's."""
    result = subprocess.run(
        ["git", "show", f":{number}:{path}"], cwd=project, capture_output=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def resolve_conflicts(project: Path, conflicted: list[str], tmp: Path) -> None:
    """Resolve as docs/upgrading.md says: uv.lock from the template and locked again; every
    other file keeps both sides (the edits here add lines next to the template's)."""
    for path in conflicted:
        if path == "uv.lock":
            git("checkout", "--theirs", "--", path, cwd=project)
        else:
            sides = []
            for number in (2, 1, 3):
                side = tmp / f"stage{number}"
                side.write_bytes(stage(project, number, path) or b"")
                sides.append(str(side))
            merged = subprocess.run(
                ["git", "merge-file", "-p", "--union", *sides],
                capture_output=True, check=False,
            )  # fmt: skip
            (project / path).write_bytes(merged.stdout)
        git("add", "--", path, cwd=project)
    uv(project, "lock")


@pytest.mark.slow
@pytest.mark.parametrize("tag", EARLIER)
def test_user_edits_survive_update(
    tag: str,
    history: TemplateHistory,
    tmp_path: Path,
    pg_cluster: Cluster,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = copy_at(history, tag, tmp_path / "service")
    generated = git("rev-parse", "HEAD", cwd=project).strip()
    edits = make_user_edits(project)
    edited = set(git("diff", "--name-only", generated, "HEAD", cwd=project).split())

    update(project)

    assert rejects(project) == [], "git apply left .rej files"
    with_markers = files_with_markers(project)
    conflicted = unmerged(project)
    with capsys.disabled():
        print(f"\n{tag} -> {history.newest.tag} with user edits: conflicts in "
              f"{', '.join(conflicted) or 'no file'}")  # fmt: skip
        for path in conflicted:
            text = (project / path).read_text(errors="replace")
            hunks = re.findall(r"^<<<<<<< .*?^>>>>>>> .*?$", text, re.MULTILINE | re.DOTALL)
            print(f"  {path}: {len(hunks)} conflict(s)")
    assert with_markers == conflicted, "conflict markers and unmerged paths disagree"
    for path in conflicted:
        assert path in edited, f"{path} conflicts, but the user never changed it"
        assert stage(project, 1, path) != stage(project, 3, path), (
            f"{path} conflicts, but the template did not change it"
        )
    assert missing_edits(project, edits) == [], "user edits lost in the update"
    assert answers(project)["_commit"] == history.newest.tag

    resolve_conflicts(project, conflicted, tmp_path)
    assert files_with_markers(project) == []
    assert unmerged(project) == []
    assert missing_edits(project, edits) == [], "user edits lost while resolving"
    lock = tomllib.loads((project / "uv.lock").read_text())
    assert "httpx" in {package["name"] for package in lock["package"]}
    run_every_gate(project, pg_cluster, database_name(tag, "edited"), tmp_path)


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


# --- the scheduled update workflow -----------------------------------------------------------


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, paths)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The workflow runs uvx on the service's Python (UV_PYTHON): one this machine has.
    project = render(tmp_path_factory.mktemp("workflow") / "service", python_version=host_python())
    return project / ".github/workflows"


def test_update_workflow_matches_the_github_schema(workflows: Path) -> None:
    result = check_jsonschema(*sorted(workflows.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(workflows: Path, tmp_path: Path) -> None:
    broken = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    broken["jobs"]["update"]["runs_on"] = broken["jobs"]["update"].pop("runs-on")
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(path).returncode != 0


def test_update_workflow_checks_updates_and_opens_a_pull_request(workflows: Path) -> None:
    text = (workflows / Path(WORKFLOW).name).read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"][0]["cron"]
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = "\n".join(
        step.get("run", "") for step in workflow["jobs"]["update"]["steps"] if "run" in step
    )
    assert "copier check-update --output-format json" in runs
    assert "copier update --trust --defaults --conflict inline" in runs
    assert "gh pr create" in runs
    assert workflow["env"]["ANSWERS_FILE"] == ANSWERS_FILE


def test_update_workflow_scripts_are_valid_bash(workflows: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    for step in workflow["jobs"]["update"]["steps"]:
        if "run" not in step:
            continue
        script = re.sub(r"\$\{\{.*?\}\}", "placeholder", step["run"])
        path = tmp_path / "step.sh"
        path.write_text(script)
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True,
                                check=False)  # fmt: skip
        assert result.returncode == 0, f"step {step.get('name')!r}: {result.stderr}"


# --- the scheduled update workflow, run step by step -----------------------------------------

GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_CONDITION = re.compile(r"^steps\.(\w+)\.outputs\.(\w+) == '(\w*)'$")


class WorkflowRun:
    """Runs the `run` steps of one job as GitHub's ubuntu runner would (`bash -eo pipefail`,
    GITHUB_OUTPUT, step outputs, the env levels), in a local checkout whose `origin` is a
    bare repository. `uses` steps (checkout, setup-uv) are what the checkout and PATH
    already provide; `gh` is a stub that records its arguments."""

    def __init__(self, workflow: dict[str, Any], project: Path, tmp: Path) -> None:
        self.workflow, self.project, self.tmp = workflow, project, tmp
        self.outputs: dict[str, dict[str, str]] = {}
        bin_dir = tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$GH_LOG"\n')
        (bin_dir / "gh").chmod(0o755)
        gitconfig = tmp / "gitconfig"  # `git config --global` in a step stays in this run
        gitconfig.write_text("[init]\n\tdefaultBranch = main\n")
        env = base_env()
        env["PATH"] = f"{bin_dir}:{find_uv().parent}:{env['PATH']}"
        env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GH_LOG=str(tmp / "gh.log"),
                   RUNNER_TEMP=str(tmp))  # fmt: skip
        self.env = env

    def expression(self, expr: str) -> str:
        if expr.startswith("steps."):
            _, step, _, name = expr.split(".")
            return self.outputs.get(step, {}).get(name, "")
        known = {
            "secrets.TEMPLATE_UPDATE_TOKEN || github.token": "token-for-the-gh-stub",
            "secrets.TEMPLATE_UPDATE_TOKEN": "",
            "github.event.repository.default_branch": "main",
        }
        return known[expr]

    def expand(self, value: object) -> str:
        return GITHUB_EXPRESSION.sub(lambda match: self.expression(match[1]), str(value))

    def run(self, job: str, stop_after: str | None = None) -> dict[str, dict[str, str]]:
        spec = self.workflow["jobs"][job]
        env = {**self.env}
        for level in (self.workflow.get("env", {}), spec.get("env", {})):
            env.update({key: self.expand(value) for key, value in level.items()})
        for step in spec["steps"]:
            if "run" not in step:
                continue
            if "if" in step and not self.condition(step["if"]):
                continue
            output = self.tmp / "github_output"
            output.write_text("")
            step_env = {key: self.expand(value) for key, value in step.get("env", {}).items()}
            script = self.tmp / "step.sh"
            script.write_text(self.expand(step["run"]))
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.project, env={**env, **step_env, "GITHUB_OUTPUT": str(output)},
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            if result.returncode:
                pytest.fail(
                    f"step {step['name']!r} failed:\n{result.stdout}\n{result.stderr}",
                    pytrace=False,
                )
            if "id" in step:
                self.outputs[step["id"]] = parse_github_output(output.read_text())
            if step.get("name") == stop_after:
                break
        return self.outputs

    def condition(self, expr: str) -> bool:
        match = STEP_CONDITION.match(expr.strip())
        assert match, f"the simulation cannot evaluate `if: {expr}`"
        return self.outputs.get(match[1], {}).get(match[2], "") == match[3]


def parse_github_output(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            for item in lines:
                if item == delimiter:
                    break
                value.append(item)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def test_workflow_refuses_a_template_path_ci_cannot_clone(workflows: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    project = workflows.parent.parent
    run = WorkflowRun(workflow, project, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="which CI cannot clone"):
        run.run("update", stop_after="Reach the template")  # _src_path is a local path here


@pytest.mark.slow
@pytest.mark.parametrize("team_change", ["none", "lock only", "a dependency"])
def test_scheduled_workflow_opens_a_pull_request(
    team_change: str, history: TemplateHistory, workflows: Path, tmp_path: Path
) -> None:
    """The workflow's own shell steps, on a service generated at the earliest release from
    a git URL: it updates on a new branch, resolves a conflict in uv.lock alone, pushes,
    and opens a pull request (a draft, listing the files, when conflicts remain); a second
    run leaves an open update alone."""
    first = history.releases[0]
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    project = tmp_path / "service"
    from copier import run_copy

    run_copy(f"git+file://{history.repo}", str(project), defaults=True, unsafe=True,
             quiet=True, vcs_ref=first.tag)  # fmt: skip
    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--no-verify", "-m", "Generate", cwd=project)
    if team_change == "lock only":
        uv(project, "lock", "--upgrade-package", "faker==40.0.0")
    elif team_change == "a dependency":
        uv(project, "add", "--no-sync", "httpx>=0.28")
    git("commit", "--quiet", "--all", "--allow-empty", "--no-verify", "-m", team_change,
        cwd=project)  # fmt: skip
    git("remote", "add", "origin", str(origin), cwd=project)
    git("push", "--quiet", "origin", "main", cwd=project)

    # The workflow under test is the newest one, whatever the service's release shipped.
    newest = yaml.safe_load((workflows / Path(WORKFLOW).name).read_text())
    outputs = WorkflowRun(newest, project, tmp_path).run("update")

    branch = f"template-update/v{history.newest.version}"
    assert outputs["check"]["available"] == "true"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=project).strip() == branch
    assert git("ls-remote", "--heads", str(origin), branch, cwd=project).strip()
    assert git("status", "--porcelain", cwd=project) == "", "the update was not all committed"
    assert answers(project)["_commit"] == history.newest.tag
    conflicts = outputs["update"]["conflicts"].split()
    gh_args = (tmp_path / "gh.log").read_text().splitlines()
    body = (tmp_path / "body.md").read_text()
    with_markers = files_with_markers(project)
    if team_change == "a dependency":
        assert conflicts == with_markers == ["pyproject.toml", "uv.lock"]
        assert "--draft" in gh_args
        assert all(f"`{name}`" in body for name in conflicts)
    else:
        assert conflicts == with_markers == [], "uv.lock alone must be resolved by relocking"
        assert "--draft" not in gh_args
        assert "No conflicts." in body
        uv(project, "lock", "--check")
    assert gh_args[:2] == ["pr", "create"]
    assert gh_args[gh_args.index("--head") + 1] == branch

    (tmp_path / "gh.log").unlink()
    git("switch", "--quiet", "main", cwd=project)
    again = WorkflowRun(newest, project, tmp_path).run("update")
    assert again["check"]["available"] == "false", "a second run must leave the open update"
    assert not (tmp_path / "gh.log").exists()
