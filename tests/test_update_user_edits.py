"""Services with the team's own changes (an app from `startapp`, a dependency, a setting, a
README line): every edit survives the update, conflicts only where both sides changed, and
(slow) after resolving them as docs/upgrading.md says, every gate is green.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import git
from postgres import Cluster, pg_cluster
from updating import (
    EARLIER,
    answers,
    copy_at,
    database_name,
    files_with_markers,
    rejects,
    run_every_gate,
    unmerged,
    update,
    uv,
)
from versions import (
    TemplateHistory,
)

__all__ = ["pg_cluster"]  # the fixture, imported to be used here


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
