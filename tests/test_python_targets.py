"""Fast: every `python_version` choice is named the same everywhere, and the generated code
(the `startapp` app template included) is clean under ruff for that Python's target.

The class of problem this guards: a quoted annotation is fine for ruff's pyupgrade rules up
to py313, but from py314 annotations are deferred (PEP 649/749) and UP037 asks to remove the
quotes, so a service on the newest Python got a red CI on day one. The template returns
``Self`` and uses ``from __future__ import annotations`` where a forward reference is
needed, so the same code is clean on every target; this test lints every render with its
own target (ruff is the harness's, the version the generated lock pins is checked too).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import QUESTIONS, render

PYTHON_CHOICES = tuple(str(choice) for choice in QUESTIONS["python_version"]["choices"])
APP_TEMPLATE = Path("src/apps/core/app_template")
# What the service's `manage.py startapp orders` passes to the app template.
STARTAPP_CONTEXT = {
    "app_name": "orders",
    "camel_case_app_name": "Orders",
    "model": "Order",
    "model_snake": "order",
    "model_verbose_plural": "orders",
    "django_version": "6.1",
}


def test_choices_are_the_supported_pythons_newest_first_with_314_the_default() -> None:
    assert PYTHON_CHOICES == ("3.15", "3.14", "3.13", "3.12")
    assert QUESTIONS["python_version"]["default"] == "3.14"


@pytest.fixture(scope="module")
def render_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    renders: dict[str, Path] = {}

    def get(python_version: str) -> Path:
        if python_version not in renders:
            parent = tmp_path_factory.mktemp(f"py{python_version.replace('.', '')}")
            renders[python_version] = render(parent / "svc", python_version=python_version)
        return renders[python_version]

    return get


def ci_pythons(node: object, key: str = "") -> list[str]:
    if isinstance(node, dict):
        return [v for k, child in node.items() for v in ci_pythons(child, str(k))]
    if isinstance(node, list):
        return [v for item in node for v in ci_pythons(item, key)]
    if key in {"UV_PYTHON", "python-version", "python_version", "python"}:
        return [str(node)]
    return []


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_every_file_names_the_chosen_python(
    render_for: Callable[[str], Path], python_version: str
) -> None:
    project = render_for(python_version)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dockerfile = (project / "Dockerfile").read_text()

    assert pyproject["project"]["requires-python"] == f">={python_version}"
    assert (project / ".python-version").read_text() == f"{python_version}\n"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{python_version.replace('.', '')}"
    assert pyproject["tool"]["mypy"]["python_version"] == python_version
    assert re.findall(r"^ARG PYTHON_VERSION=(\S+)$", dockerfile, re.MULTILINE) == [python_version]
    assert "FROM python:${PYTHON_VERSION}-" in dockerfile
    for workflow in sorted((project / ".github/workflows").glob("*.yml")):
        named = ci_pythons(yaml.safe_load(workflow.read_text()))
        assert set(named) <= {python_version}, f"{workflow.name} names {named}"
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert ci_pythons(ci), "the generated CI names no Python version"
    lock = project / "uv.lock"
    assert lock.is_file(), "no uv.lock recorded for this Python"
    assert tomllib.loads(lock.read_text())["requires-python"] == f">={python_version}"


def startapp_output(project: Path, dst: Path) -> Path:
    """The app template as `manage.py startapp orders` writes it (plain `{{ var }}`
    substitution is all it uses: no tags; checked)."""
    source = project / APP_TEMPLATE
    for path in sorted(source.rglob("*-tpl")):
        text = path.read_text()
        assert "{%" not in text, f"{path}: the substitution below handles variables only"
        for name, value in STARTAPP_CONTEXT.items():
            text = re.sub(r"\{\{ *" + name + r" *\}\}", value, text)
        assert "{{" not in text, f"{path}: unknown variable"
        target = dst / path.relative_to(source).with_name(path.name.removesuffix("-tpl"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return dst


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_generated_code_is_ruff_clean_for_its_target(
    render_for: Callable[[str], Path], python_version: str, tmp_path: Path
) -> None:
    project = render_for(python_version)
    work = tmp_path / "svc"
    shutil.copytree(project, work)
    app = startapp_output(work, work / "src/apps/orders")
    # What startapp's own _format() does to the new app, with the service's ruff settings.
    for args in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        assert ruff(*args, str(app), cwd=work).returncode == 0

    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = ruff(*args, cwd=work)
        assert result.returncode == 0, f"ruff {' '.join(args)} on py{python_version}:\n" + (
            result.stdout + result.stderr
        )


def test_harness_ruff_is_the_one_services_lock(render_for: Callable[[str], Path]) -> None:
    """The lint above means what the service's CI means only with the same ruff."""
    from importlib.metadata import version

    lock = tomllib.loads((render_for("3.13") / "uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    assert locked["ruff"] == version("ruff")
