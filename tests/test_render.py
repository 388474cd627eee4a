"""Fast: what `copier copy` writes, checked file by file, without installing anything.

- every render is fully rendered: no Jinja left in a file or a file name, no `.jinja` file;
- the answers file records the answers and where they came from, and nothing secret;
- the generated secret lives only in the git-ignored `.env`, and is new on every render;
- each Python choice ships a lock for it (the rest: tests/test_python_targets.py);
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


def _load_context() -> Any:
    """extensions/context.py (PROFILE_PARTS), loaded by path as Copier loads it."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "template_context", REPO_ROOT / "extensions/context.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up there
    spec.loader.exec_module(module)
    return module


service_context = _load_context()

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
        "media_storage": "s3",
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
# Named the same everywhere, with its lock, and ruff-clean for its target:
# tests/test_python_targets.py.


# --- the shipped lock matches the render ----------------------------------------------------


def profile_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(id, Python, answers) sets that change the dependency set (PROFILE_PARTS in
    extensions/context.py).

    The defaults on every Python, and each other value of each such question on its own
    and all of them at once, spread over the Pythons (one render each): a full cross
    product would cost a render per lock and add little, every recorded lock is made by the
    same `scripts/relock.py` run (tests/test_locks.py checks the store covers them all).
    """
    names = [part.question for part in service_context.PROFILE_PARTS if part.question in QUESTIONS]
    changed: list[tuple[str, dict[str, Any]]] = []
    for name in names:
        changed.extend((f"{name}={value}", {name: value}) for value in question_values(name)[1:])
    changed.append(("all-changed", {name: question_values(name)[-1] for name in names}))
    cases = [(f"defaults-py{version}", version, {}) for version in LOCKED_PYTHONS]
    for index, (case, answers) in enumerate(changed):
        version = LOCKED_PYTHONS[index % len(LOCKED_PYTHONS)]
        cases.append((f"{case}-py{version}", version, answers))
    return cases


@pytest.mark.parametrize(
    ("python_version", "answers"),
    [(version, answers) for _, version, answers in profile_cases()],
    ids=[case for case, _, _ in profile_cases()],
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
