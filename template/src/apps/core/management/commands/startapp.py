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
APP_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Command(DjangoStartAppCommand):
    """Django's `startapp`, creating `src/apps/<name>/` from the project's layered template.

    The new app has a model with its QuerySet, services, selectors, serializers, a filter
    set, a viewset with its router, admin, an initial migration and tests, all of which
    pass the project's gates as generated. The command prints the two lines that register
    the app; adding them is the one step left to the developer.
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

        _format(target)
        self.stdout.write(f"Created src/apps/{name}/. Register it with these two lines:")
        self.stdout.write(f'  src/config/settings/base.py, in INSTALLED_APPS:  "apps.{name}",')
        self.stdout.write(
            f'  src/config/urls.py, in api_v1:  path("{name}/", include("apps.{name}.urls")),'
        )


def _format(app_dir: Path) -> None:
    """Sort imports and format like the rest of the project (ruff is a dev dependency)."""
    if importlib.util.find_spec("ruff") is None:
        return
    for command in (["check", "--fix", "--select", "I"], ["format"]):
        subprocess.run(  # noqa: S603  (fixed arguments, no shell)
            [sys.executable, "-m", "ruff", *command, "--quiet", str(app_dir)], check=True
        )


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return f"{name[:-3]}y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name
