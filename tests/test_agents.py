"""AGENTS.md in every service: its facts hold on the rendered service.

Fast, on the default render and on one with every optional part changed:

- AGENTS.md exists, is concise (at most 200 lines), and every path it names (in backticks
  or in its layout block) exists in the render; placeholders (`<name>`) and URLs aside.
- `CLAUDE.md` and `.github/copilot-instructions.md` point to AGENTS.md and copy none of it.
- The team's own file, `AGENTS.local.md`, is rendered and listed in `_skip_if_exists`, so an
  update never touches it (the update test in tests/test_removed_edits.py checks that an
  update from an earlier release brings AGENTS.md and leaves AGENTS.local.md as it was).

Slow, on the default render synced with its lock and a real PostgreSQL: every command of
the "Commands" block, and the `check --deploy` command of the text after it, runs green as
written (its environment assignments applied; DATABASE_URL for the database, the required
production variables for prod settings), and every `manage.py` command AGENTS.md names
exists (`manage.py help NAME`). `devserver` itself is run by tests/test_devserver.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import COPIER_YML, host_python, render
from gates import (
    SYNC_GATE,
    Gate,
    base_env,
    no_warnings,
    prod_check_env,
    pytest_all_passed,
    run_gate,
)
from postgres import Cluster, pg_cluster

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

MAX_LINES = 200
POINTERS = ("CLAUDE.md", ".github/copilot-instructions.md")
CHANGED = {"example_app": False, "task_backend": "celery", "api_auth": "jwt"}
BACKTICKED = re.compile(r"`([^`\n]+)`")
PATH_LIKE = re.compile(r"^[\w.-]+(?:/[\w.-]*)+$|^[\w.-]*\.(?:py|md|toml|yml|yaml|lock|example)$")
# Created at run time (by devserver), so not in a fresh render.
RUNTIME_PATHS = {".pgdata"}
MANAGE_COMMAND = re.compile(r"manage\.py (\w+)")


@pytest.fixture(scope="module", params=["default", "changed"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = CHANGED if request.param == "changed" else {}
    return render(tmp_path_factory.mktemp(f"agents-{request.param}") / "svc", **answers)


def named_paths(text: str) -> set[str]:
    """Paths AGENTS.md names: backticked path-like spans and the layout block's first column."""
    spans = set(BACKTICKED.findall(text))
    layout = text.partition("## Layout")[2].partition("```")[2].partition("```")[0]
    spans |= {line.split()[0] for line in layout.splitlines() if line.strip()}
    return {
        span.rstrip("/")
        for span in spans
        if PATH_LIKE.match(span) and "<" not in span and not span.startswith("/")
    }


def commands(text: str) -> list[str]:
    """The lines of the Commands section's sh block, and the check --deploy command."""
    section = text.partition("## Commands")[2].partition("\n## ")[0]
    block = section.partition("```sh\n")[2].partition("```")[0]
    lines = [line for line in block.splitlines() if line.strip()]
    lines += [
        span
        for span in BACKTICKED.findall(section)
        if "check --deploy" in span and span.startswith("DJANGO_SETTINGS_MODULE=")
    ]
    return lines


def test_agents_md_is_concise_and_every_path_it_names_exists(service: Path) -> None:
    text = (service / "AGENTS.md").read_text()

    assert len(text.splitlines()) <= MAX_LINES
    paths = named_paths(text)
    assert {"src/config/urls.py", "docs/checks.md", "AGENTS.local.md"} <= paths, paths
    missing = sorted(path for path in paths - RUNTIME_PATHS if not (service / path).exists())
    # devserver's database (with its password file) stays out of git and the image.
    git_ignored = (service / ".gitignore").read_text().splitlines()
    docker_ignored = (service / ".dockerignore").read_text().splitlines()
    for path in RUNTIME_PATHS & paths:
        assert f"{path}/" in git_ignored, path
        assert path in docker_ignored, path
    assert missing == [], f"AGENTS.md names paths the render does not have: {missing}"
    assert "{{" not in text
    assert "{%" not in text


def test_agents_md_follows_the_answers(service: Path) -> None:
    text = (service / "AGENTS.md").read_text()
    has_catalog = (service / "src/apps/catalog").is_dir()

    assert ("src/apps/catalog/" in text) == has_catalog
    assert ("celery --workdir src --app config worker" in text) == (
        "celery" in (service / "pyproject.toml").read_text()
    )


def test_other_agents_files_point_to_agents_md(service: Path) -> None:
    agents = (service / "AGENTS.md").read_text()
    for name in POINTERS:
        text = (service / name).read_text()
        assert "`AGENTS.md`" in text, name
        assert len(text.splitlines()) <= 10, f"{name} should point, not copy"
        assert "## Commands" not in text, name
        assert "uv run" not in text, name
        copied = [line for line in text.splitlines() if len(line) > 40 and line in agents]
        assert copied == [], f"{name} copies AGENTS.md: {copied}"


def test_the_teams_own_file_is_never_updated(service: Path) -> None:
    assert (service / "AGENTS.local.md").is_file()
    assert "AGENTS.local.md" in COPIER_YML["_skip_if_exists"]
    assert "AGENTS.local.md" in (service / "AGENTS.md").read_text()


def test_commands_are_parsed_as_listed(service: Path) -> None:
    listed = commands((service / "AGENTS.md").read_text())

    assert shlex.split(listed[0], comments=True) == ["uv", "sync", "--locked"]
    assert any(line.startswith("uv run pytest") for line in listed)
    assert any("config.settings.prod" in line for line in listed)
    assert len(listed) >= 8
    for line in listed:
        as_gate(line, service, "postgres://harness@127.0.0.1/agents_md")


def as_gate(line: str, project: Path, database_url: str) -> Gate:
    """One command line as a gate: leading VAR=value pairs become its environment."""
    words = shlex.split(line, comments=True)
    env: dict[str, str] = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[0] == "uv", f"not a uv command: {line}"
    if env.get("DJANGO_SETTINGS_MODULE") == "config.settings.prod":
        env = {**prod_check_env(project, database_url), **env}
    elif words[1:3] == ["run", "pytest"] or "manage.py" in words:
        env.setdefault("DATABASE_URL", database_url)
    check = pytest_all_passed if words[1:3] == ["run", "pytest"] else no_warnings
    return Gate(line, words[1:], env=env, check=check)


@pytest.mark.slow
def test_every_command_agents_md_lists_runs_green(
    tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster, isolated_copier: None
) -> None:
    # The newest Python this machine can test (the default may be newer).
    project = render(tmp_path_factory.mktemp("agents-run") / "svc", python_version=host_python())
    text = (project / "AGENTS.md").read_text()
    database_url = pg_cluster.create_database("agents_md")
    env = base_env()

    failures = []
    for line in commands(text):
        result = run_gate(as_gate(line, project, database_url), project, env)
        if not result.ok:
            failures.append(result.report())
    assert not failures, "\n".join(failures)

    synced = run_gate(SYNC_GATE, project, env)
    assert synced.ok, synced.report()
    for name in sorted(set(MANAGE_COMMAND.findall(text))):
        gate = Gate(f"manage.py help {name}", ["run", "python", "manage.py", "help", name])
        result = run_gate(gate, project, env)
        assert result.returncode == 0, f"AGENTS.md names manage.py {name}:\n{result.report()}"
