"""Fast: the docs keep up with the template, and the README's commands are the ones CI runs."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
CI_SCRIPT = REPO_ROOT / ".ci" / "run"
QUESTIONS_DOC = REPO_ROOT / "docs" / "questions.md"

TEST_COMMAND = "uv run pytest"
FAST_TEST_COMMAND = 'uv run pytest -m "not slow"'
GENERATE_COMMAND = re.compile(r"uvx --with copier-template-extensions copier copy --trust \S+ \S+")
HEADING_RE = re.compile(r"^#{1,6} (.*)$", re.MULTILINE)
BACKTICKED_RE = re.compile(r"`([^`]+)`")
LINK_RE = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def questions() -> list[str]:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    return [name for name in config if not name.startswith("_")]


def code_lines(markdown: str) -> list[str]:
    """The lines inside fenced code blocks, stripped."""
    lines, inside = [], False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line.strip())
    return lines


def documented_questions() -> list[str]:
    """The backticked names in the headings of docs/questions.md, in order."""
    return [
        name
        for heading in HEADING_RE.findall(QUESTIONS_DOC.read_text())
        for name in BACKTICKED_RE.findall(heading)
    ]


# --- docs/questions.md ----------------------------------------------------------------------


@pytest.mark.parametrize("question", questions())
def test_every_question_has_a_section(question: str) -> None:
    assert question in documented_questions(), (
        f"docs/questions.md has no heading naming `{question}`"
    )


def test_questions_doc_names_no_other_question_and_keeps_copier_order() -> None:
    assert documented_questions() == questions()


# --- README.md and .ci/run ------------------------------------------------------------------


def test_readme_shows_the_generate_command() -> None:
    commands = [line for line in code_lines(README.read_text()) if line.startswith("uvx ")]
    assert len(commands) == 1
    assert GENERATE_COMMAND.fullmatch(commands[0]), commands[0]


def test_readme_shows_the_test_commands() -> None:
    lines = code_lines(README.read_text())
    assert TEST_COMMAND in lines
    assert FAST_TEST_COMMAND in lines


def test_ci_runs_the_readme_test_command() -> None:
    script = [line.strip() for line in CI_SCRIPT.read_text().splitlines()]
    test_commands = [line for line in script if line.startswith(TEST_COMMAND)]
    assert test_commands == [TEST_COMMAND]
    assert script.index("uv sync --locked") < script.index(TEST_COMMAND)


def test_ci_script_is_strict_and_executable() -> None:
    lines = CI_SCRIPT.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert os.access(CI_SCRIPT, os.X_OK)


def test_fast_subset_marker_is_registered() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    assert any(marker.startswith("slow:") for marker in markers)


def test_github_workflow_runs_the_ci_script_with_full_history() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    checkout = [step for step in steps if str(step.get("uses", "")).startswith("actions/checkout@")]
    assert [step["with"]["fetch-depth"] for step in checkout] == [0]
    assert any(str(step.get("uses", "")).startswith("astral-sh/setup-uv@") for step in steps)
    assert [step["run"] for step in steps if "run" in step and ".ci/run" in step["run"]] == [
        "bash .ci/run"
    ]


# --- links ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [README, *sorted((REPO_ROOT / "docs").glob("*.md"))],
    ids=lambda path: path.relative_to(REPO_ROOT).as_posix(),
)
def test_relative_links_point_at_files(document: Path) -> None:
    targets = [
        target
        for target in LINK_RE.findall(document.read_text())
        if "://" not in target and not target.startswith("mailto:")
    ]
    missing = [target for target in targets if not (document.parent / target).exists()]
    assert missing == []
