import ast
import importlib.util
import keyword
import re
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands.startapp import Command as DjangoStartAppCommand

APPS_DIR = Path(__file__).resolve().parents[3]
APP_TEMPLATE = APPS_DIR / "core" / "app_template"
SETTINGS_FILE = APPS_DIR.parent / "config" / "settings" / "base.py"
URLS_FILE = APPS_DIR.parent / "config" / "urls.py"
APP_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Command(DjangoStartAppCommand):
    """Django's `startapp`, creating `src/apps/<name>/` from the project's layered template.

    The new app has a model with its QuerySet, services, selectors, serializers, a filter
    set, a viewset with its router, admin, an initial migration and tests, all of which
    pass the project's gates as generated. It then registers the app: appends it to
    `INSTALLED_APPS` in src/config/settings/base.py and its urls to the `api_v1` list in
    src/config/urls.py (once; ruff-formatted). With `--no-register`, or when a list is not
    found as a plain list literal, it prints the lines to add instead. The import contracts
    in pyproject.toml cover every app under apps.* already.
    """

    help = (
        "Creates a domain app in src/apps/<name>/ with models, querysets, services, "
        "selectors, serializers, filters, views, urls, admin and tests."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--model",
            help="Name of the app's first model, e.g. Order (default: the app name, singular).",
        )
        parser.add_argument(
            "--no-register",
            action="store_true",
            help="Do not edit settings and urls; print the two lines to add instead.",
        )

    # Django's startapp takes only **options; the stubs know TemplateCommand's signature.
    def handle(self, **options: Any) -> None:  # type: ignore[override]
        name: str = options["name"]
        if not APP_NAME.fullmatch(name) or keyword.iskeyword(name):
            raise CommandError(f"'{name}' is not a valid app name: use lowercase snake_case.")
        target = APPS_DIR / name
        if target.exists():
            raise CommandError(f"src/apps/{name}/ already exists.")
        if options["directory"] is not None or options["template"] is not None:
            raise CommandError("This project's startapp always uses src/apps/ and its template.")

        model = options["model"] or _singular(name).title().replace("_", "")
        if not model.isidentifier() or not model[0].isupper():
            raise CommandError(f"'{model}' is not a model class name (use CamelCase).")
        model_snake = re.sub(r"(?<!^)(?=[A-Z])", "_", model).lower()

        target.mkdir()
        try:
            super().handle(
                **options
                | {
                    "directory": str(target),
                    "template": str(APP_TEMPLATE),
                    "extensions": ["py"],
                    "model": model,
                    "model_snake": model_snake,
                    "model_verbose_plural": f"{model_snake.replace('_', ' ')}s",
                }
            )
        except BaseException:
            # Leave nothing half-made behind.
            for path in sorted(target.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            target.rmdir()
            raise

        _format([target])
        self.stdout.write(f"Created src/apps/{name}/.")
        entries = [
            Entry(
                SETTINGS_FILE, "src/config/settings/base.py", "INSTALLED_APPS", f'"apps.{name}",'
            ),
            Entry(
                URLS_FILE,
                "src/config/urls.py",
                "api_v1",
                f'path("{name}/", include("apps.{name}.urls")),',
            ),
        ]
        for entry in entries:
            self.stdout.write(entry.print_line() if options["no_register"] else entry.register())


class Entry:
    """One line `startapp` adds as the last item of a list literal assigned to `variable`."""

    def __init__(self, path: Path, label: str, variable: str, line: str) -> None:
        self.path = path
        self.label = label
        self.variable = variable
        self.line = line

    @property
    def where(self) -> str:
        return f"{self.label}, in {self.variable}"

    def print_line(self) -> str:
        return f"  Add to {self.where}:  {self.line}"

    def register(self) -> str:
        source = self.path.read_text()
        lines = source.splitlines(keepends=True)
        found = _list_assigned_to(source, self.variable)
        # Only a list whose `]` closes it on a line of its own: the line goes right above.
        if found is None or found.end_lineno is None or lines[found.end_lineno - 1].strip() != "]":
            return f"  {self.variable} is not a multi-line list; {self.print_line().strip()}"
        if any(self.line in line for line in lines[found.lineno - 1 : found.end_lineno]):
            return f"  Already in {self.where}:  {self.line}"
        lines.insert(found.end_lineno - 1, f"    {self.line}\n")
        self.path.write_text("".join(lines))
        _format([self.path])
        return f"  Registered in {self.where}:  {self.line}"


def _list_assigned_to(source: str, variable: str) -> ast.List | None:
    targets: list[ast.expr]
    value: ast.expr | None
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        named = any(isinstance(target, ast.Name) and target.id == variable for target in targets)
        if named and isinstance(value, ast.List):
            return value
    return None


def _format(paths: list[Path]) -> None:
    """Sort imports and format like the rest of the project (ruff is a dev dependency)."""
    if importlib.util.find_spec("ruff") is None:
        return
    for command in (["check", "--fix", "--select", "I"], ["format"]):
        subprocess.run(  # noqa: S603  (fixed arguments, no shell)
            [sys.executable, "-m", "ruff", *command, "--quiet", *map(str, paths)], check=True
        )


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return f"{name[:-3]}y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name
