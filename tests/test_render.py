"""Fast: what `copier copy` writes, checked file by file, without installing anything.

- every render is fully rendered: no Jinja left in a file or a file name, no `.jinja` file;
- the answers file records the answers and where they came from, and nothing secret;
- the generated secret lives only in the git-ignored `.env`, and is new on every render;
- each Python choice is the same everywhere it is named, and ships a lock for it;
- the shipped `uv.lock` was resolved from exactly the dependencies the render declares.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import QUESTIONS, REPO_ROOT, git, load_validators, question_values, render
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

validators = load_validators()

PYTHON_CHOICES = tuple(str(choice) for choice in QUESTIONS["python_version"]["choices"])
# Every choice has recorded locks (3.14 and 3.15 resolved in the sid root: scripts/relock.py).
LOCKED_PYTHONS = PYTHON_CHOICES

# STANDARDS.md "Layout", plus what Copier and the issue add (answers file, .env files).
EXPECTED_FILES = [
    ".copier-answers.yml",
    ".env",
    ".env.example",
    ".gitignore",
    ".python-version",
    "README.md",
    "manage.py",
    "pyproject.toml",
    "uv.lock",
    "compose.yaml",
    "Dockerfile",
    ".github/workflows/ci.yml",
    ".pre-commit-config.yaml",
    "src/config/settings/base.py",
    "src/config/settings/dev.py",
    "src/config/settings/prod.py",
    "src/config/settings/test.py",
    "src/config/urls.py",
    "src/config/asgi.py",
    "src/config/wsgi.py",
    "src/apps/core/models.py",
    "src/apps/users/models.py",
    "src/conftest.py",
]

JINJA_MARKERS = ("{{", "{%", "{#")
# GitHub Actions expressions (`${{ github.ref }}`) are meant to stay in workflow files.
GITHUB_EXPRESSION_RE = re.compile(r"\$\{\{.*?\}\}")
# `*-tpl` files are Django `startapp` templates, rendered later by Django, not by Copier:
# their `{{ name }}` placeholders stay, but none may name a Copier variable.
DJANGO_TEMPLATE_SUFFIX = "-tpl"
TEMPLATE_NAME_RE = re.compile(r"\{[{%]-?\s*(?:if\s+|for\s+\w+\s+in\s+)?([A-Za-z_]\w*)")


# --- helpers --------------------------------------------------------------------------------


def one_change_at_a_time() -> list[tuple[str, dict[str, Any]]]:
    """The defaults, then each other value of each choice and bool question on its own."""
    cases: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    for name, spec in QUESTIONS.items():
        if spec.get("type") == "bool" or "choices" in spec:
            cases.extend((f"{name}={value}", {name: value}) for value in question_values(name)[1:])
    return cases


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file under root (no .git) that is UTF-8 text, with its content."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(root).parts:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            yield path, data.decode()
        except UnicodeDecodeError:
            continue


def env_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            values[key] = value
    return values


def secret_key(project: Path) -> str:
    secret = env_values(project / ".env")["DJANGO_SECRET_KEY"]
    assert len(secret) >= 50, f"the generated DJANGO_SECRET_KEY is weak: {secret!r}"
    return secret


def git_tracked(project: Path) -> list[str]:
    """What `git add -A` would commit in a fresh repository: the generated .gitignore decides."""
    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    return git("ls-files", cwd=project).splitlines()


def python_versions_in(node: Any, key: str = "") -> Iterator[str]:
    """Every value of a Python-version key anywhere in a GitHub workflow."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from python_versions_in(child, str(child_key))
    elif isinstance(node, list):
        for item in node:
            yield from python_versions_in(item, key)
    elif key in {"UV_PYTHON", "python-version", "python_version", "python"}:
        yield str(node)


def requirement_key(name: str, extras: Any, specifier: str, marker: str | None) -> tuple:
    return (
        canonicalize_name(name),
        frozenset(extras or ()),
        SpecifierSet(specifier),
        str(Marker(marker)) if marker else None,
    )


def declared(requirements: list[str]) -> set[tuple]:
    keys = set()
    for line in requirements:
        req = Requirement(line)
        keys.add(
            requirement_key(
                req.name, req.extras, str(req.specifier), str(req.marker) if req.marker else None
            )
        )
    return keys


def locked(entries: list[dict[str, Any]]) -> set[tuple]:
    return {
        requirement_key(
            entry["name"], entry.get("extras"), entry.get("specifier", ""), entry.get("marker")
        )
        for entry in entries
    }


@pytest.fixture(scope="module")
def render_once(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Render each answer set once per module; the tests that use it only read the render."""
    renders: dict[tuple[tuple[str, Any], ...], Path] = {}

    def get(**answers: Any) -> Path:
        key = tuple(
            sorted(
                (name, value)
                for name, value in answers.items()
                if value != QUESTIONS[name].get("default")
            )
        )
        if key not in renders:
            renders[key] = render(tmp_path_factory.mktemp("render") / "service", **answers)
        return renders[key]

    return get


# --- the render is complete -----------------------------------------------------------------


def test_default_render_writes_the_service(render_once: Callable[..., Path]) -> None:
    project = render_once()
    missing = [name for name in EXPECTED_FILES if not (project / name).is_file()]
    assert missing == []


@pytest.mark.parametrize(
    "answers",
    [answers for _, answers in one_change_at_a_time()],
    ids=[case for case, _ in one_change_at_a_time()],
)
def test_no_template_syntax_is_left(
    render_once: Callable[..., Path], answers: dict[str, Any]
) -> None:
    project = render_once(**answers)
    copier_names = set(QUESTIONS)
    leftovers = []
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if path.name.endswith(".jinja") or any(mark in path.name for mark in JINJA_MARKERS):
            leftovers.append(f"{relative}: unrendered name")
    for path, text in text_files(project):
        relative = path.relative_to(project).as_posix()
        if relative.startswith(".github/"):
            text = GITHUB_EXPRESSION_RE.sub("", text)
        if path.name.endswith(DJANGO_TEMPLATE_SUFFIX):
            names = set(TEMPLATE_NAME_RE.findall(text))
            wrong = sorted(n for n in names if n in copier_names or n.startswith("_copier"))
            if wrong:
                leftovers.append(f"{relative}: Copier variables {wrong}")
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if any(mark in line for mark in JINJA_MARKERS):
                leftovers.append(f"{relative}:{number}: {line.strip()}")
    assert leftovers == []


def imported_top_level_modules(project: Path) -> set[str]:
    """The first part of every absolute import in the project's Python files."""
    names = set()
    for path in project.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return names


def test_every_module_the_project_imports_is_refused_as_a_slug(
    render_once: Callable[..., Path],
) -> None:
    """The slug rule's list of shadowing names keeps up with what the template imports."""
    every_package = {
        "api_auth": "both",
        "task_backend": "celery",
        "use_cors": True,
        "use_sentry": True,
        "example_app": True,
    }
    imported = imported_top_level_modules(render_once()) | imported_top_level_modules(
        render_once(**every_package)
    )
    assert sorted(imported - validators.SHADOWED_NAMES) == []


# --- the answers file -----------------------------------------------------------------------


CUSTOM_ANSWERS = {
    "project_name": "Inventory Service",
    "project_slug": "inventory",
    "description": "Tracks stock across warehouses.",
    "author_name": "Stock Team",
    "author_email": "stock@example.org",
    "python_version": "3.12",
    "domain_name": "inventory.example.org",
}


def test_answers_file_records_the_answers_and_their_source(tmp_path: Path) -> None:
    project = render(tmp_path / "service", src=REPO_ROOT, **CUSTOM_ANSWERS)
    text = (project / ".copier-answers.yml").read_text()
    assert text.startswith("# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n")
    answers = yaml.safe_load(text)

    assert answers["_src_path"] == str(REPO_ROOT)
    assert Path(answers["_src_path"]).is_absolute()
    assert isinstance(answers["_commit"], str)
    assert len(answers["_commit"]) >= 7

    # Copier records every asked question; secret and computed (`when: false`) ones are not.
    recorded_questions = {
        name: spec
        for name, spec in QUESTIONS.items()
        if not spec.get("secret") and spec.get("when", True) not in (False, "false")
    }
    expected = {
        name: spec["default"]
        for name, spec in recorded_questions.items()
        if name not in CUSTOM_ANSWERS
    }
    expected |= CUSTOM_ANSWERS
    recorded = {name: value for name, value in answers.items() if not name.startswith("_")}
    assert recorded == expected
    assert set(answers) - set(recorded) == {"_commit", "_src_path"}


def test_generated_secret_is_only_in_the_ignored_env_file(rendered: Path) -> None:
    secret = secret_key(rendered)
    holders = sorted(
        path.relative_to(rendered).as_posix()
        for path in rendered.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    )
    assert holders == [".env"]

    tracked = git_tracked(rendered)
    assert ".env" not in tracked
    assert {".env.example", ".copier-answers.yml", "uv.lock", "pyproject.toml"} <= set(tracked)
    assert not any(secret in (rendered / name).read_text() for name in tracked)


def test_env_example_lists_the_secret_without_a_value(render_once: Callable[..., Path]) -> None:
    project = render_once()
    example = env_values(project / ".env.example")
    assert example["DJANGO_SECRET_KEY"] == ""
    assert {"DATABASE_URL", "DJANGO_ALLOWED_HOSTS"} <= set(example)
    assert set(env_values(project / ".env")) <= set(example)


def test_each_render_generates_a_new_secret(tmp_path: Path) -> None:
    first = render(tmp_path / "first")
    second = render(tmp_path / "second")
    assert secret_key(first) != secret_key(second)


# --- the Python choice ----------------------------------------------------------------------


def test_python_choices_are_newest_first_with_314_the_default() -> None:
    assert PYTHON_CHOICES == ("3.15", "3.14", "3.13", "3.12")
    assert QUESTIONS["python_version"]["default"] == "3.14"


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_python_choice_is_the_same_everywhere(
    render_once: Callable[..., Path], python_version: str
) -> None:
    project = render_once(python_version=python_version)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    nodot = python_version.replace(".", "")

    assert pyproject["project"]["requires-python"] == f">={python_version}"
    assert (project / ".python-version").read_text() == f"{python_version}\n"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{nodot}"
    assert pyproject["tool"]["mypy"]["python_version"] == python_version
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    named = list(python_versions_in(workflow))
    assert named, "the generated CI names no Python version"
    assert set(named) == {python_version}


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_python_choice_ships_its_lock(
    render_once: Callable[..., Path], python_version: str
) -> None:
    project = render_once(python_version=python_version)
    assert (project / "uv.lock").is_file(), "no uv.lock: `uv sync --locked` cannot run"
    lock_text = (project / "uv.lock").read_text()
    assert re.search(r"^requires-python = (.*)$", lock_text, re.MULTILINE)[1] == (
        f'">={python_version}"'
    )


# --- the shipped lock matches the render ----------------------------------------------------


def profile_cases() -> list[tuple[str, dict[str, Any]]]:
    """Answer sets that change the dependency set (extensions/context.py, PROFILE_QUESTIONS).

    The defaults, each other value of each such question on its own, and all of them at
    once; a full cross product would cost a render per profile and add little: every
    recorded lock is made by the same `scripts/relock.py` run.
    """
    names = [
        name for name in ("api_auth", "task_backend", "use_cors", "use_sentry") if name in QUESTIONS
    ]
    cases: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    for name in names:
        cases.extend((f"{name}={value}", {name: value}) for value in question_values(name)[1:])
    cases.append(("all-changed", {name: question_values(name)[-1] for name in names}))
    return cases


@pytest.mark.parametrize("python_version", LOCKED_PYTHONS)
@pytest.mark.parametrize(
    "answers",
    [answers for _, answers in profile_cases()],
    ids=[case for case, _ in profile_cases()],
)
def test_shipped_lock_resolves_exactly_the_declared_dependencies(
    render_once: Callable[..., Path], python_version: str, answers: dict[str, Any]
) -> None:
    """A fast guard for a stale lock: `uv sync --locked` would refuse a mismatch too."""
    project = render_once(python_version=python_version, **answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    lock = tomllib.loads((project / "uv.lock").read_text())
    name = pyproject["project"]["name"]

    assert lock["requires-python"] == pyproject["project"]["requires-python"]
    roots = [package for package in lock["package"] if package["source"] == {"virtual": "."}]
    assert [root["name"] for root in roots] == [name]
    metadata = roots[0]["metadata"]
    assert locked(metadata.get("requires-dist", [])) == declared(
        pyproject["project"]["dependencies"]
    )
    groups = pyproject.get("dependency-groups", {})
    assert set(metadata.get("requires-dev", {})) == set(groups)
    for group, requirements in groups.items():
        assert locked(metadata["requires-dev"][group]) == declared(requirements), group
