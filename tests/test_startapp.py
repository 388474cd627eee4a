"""Slow: `manage.py startapp` scaffolds an app that passes every gate untouched.

For the default render and for `example_app=false`, rendered and synced once each:

- `uv run python manage.py startapp orders` (the project's own command, default settings as
  a developer runs it) creates `src/apps/orders/` and registers it itself (one line into
  `INSTALLED_APPS` in `src/config/settings/base.py`, one into the `api_v1` list in
  `src/config/urls.py`); with no manual step the test runs every gate of tests/gates.py
  (ruff, format, mypy, the import contracts, check --deploy, makemigrations --check,
  spectacular, the generated pytest with its coverage floor): all green, no warning; the
  new app's tests are among those that ran and its routes are in the OpenAPI schema.
- Names that must be refused: an existing app (`users`) and a name that shadows an
  importable module (`json`) fail with a message that says why, and leave no directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import host_python, render
from gates import SYNC_GATE, Gate, assert_gates_green, base_env, run_gate
from postgres import Cluster, pg_cluster

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

REGISTERED = (
    '  Registered in src/config/settings/base.py, in INSTALLED_APPS:  "apps.orders",',
    '  Registered in src/config/urls.py, in api_v1:  path("orders/", include("apps.orders.urls")),',
)
REGISTRY_FILES = ("src/config/settings/base.py", "src/config/urls.py")
# The newest Python this machine can test (the default may be newer).
PYTHON = {"python_version": host_python()}
RENDERS: dict[str, dict[str, Any]] = {
    "default": PYTHON,
    "no-example-app": {**PYTHON, "example_app": False},
}


@pytest.fixture(scope="module", params=list(RENDERS))
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, isolated_copier: None
) -> Path:
    answers = RENDERS[request.param]
    project = render(tmp_path_factory.mktemp(f"startapp-{request.param}") / "svc", **answers)
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    has_catalog = (project / "src/apps/catalog").exists()
    assert has_catalog == answers.get("example_app", True)
    return project


def manage(project: Path, *args: str) -> tuple[int, str]:
    """`uv run python manage.py ...` with the project's default (dev) settings."""
    result = run_gate(Gate("manage.py", ["run", "python", "manage.py", *args]), project, base_env())
    return result.returncode, result.stdout + result.stderr


def app_dirs(project: Path) -> dict[str, list[str]]:
    """Each app directory under src/apps/ with its files, to prove nothing was left behind."""
    apps_dir = project / "src/apps"
    return {
        child.name: sorted(str(p.relative_to(child)) for p in child.rglob("*") if p.is_file())
        for child in apps_dir.iterdir()
        if child.is_dir() and child.name != "__pycache__"
    } | {name: [(project / name).read_text()] for name in REGISTRY_FILES}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("users", "src/apps/users/ already exists.", id="existing-app"),
        pytest.param(
            "json",
            "'json' conflicts with the name of an existing Python module",
            id="shadows-a-module",
        ),
    ],
)
def test_refused_names_leave_nothing_behind(service: Path, name: str, message: str) -> None:
    before = app_dirs(service)

    returncode, output = manage(service, "startapp", name)

    assert returncode != 0, f"startapp {name} was accepted:\n{output}"
    assert f"CommandError: {message}" in output, output
    assert "Traceback" not in output, f"a clear message, not a crash:\n{output}"
    assert app_dirs(service) == before, f"startapp {name} changed src/apps/, settings or urls"


def test_startapp_orders_passes_every_gate(
    service: Path, pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = base_env()
    lock_before = (service / "uv.lock").read_bytes()

    returncode, output = manage(service, "startapp", "orders")
    assert returncode == 0, output
    assert (service / "src/apps/orders/tests/test_api.py").is_file(), output

    for line in REGISTERED:
        assert line in output.splitlines(), f"startapp did not say {line!r}:\n{output}"
    assert '    "apps.orders",\n]' in (service / REGISTRY_FILES[0]).read_text()
    assert 'include("apps.orders.urls")' in (service / REGISTRY_FILES[1]).read_text()

    name = "startapp_" + re.sub(r"\W", "_", service.parent.name).lower()
    database_url = pg_cluster.create_database(name[:58])
    schema = tmp_path_factory.mktemp("schema") / "schema.yaml"
    results = assert_gates_green(service, database_url, schema, env, label="after startapp orders")
    pytest_output = next(r.stdout for r in results if r.gate.name == "pytest")
    assert "src/apps/orders/tests/test_api.py" in pytest_output, "the new app's tests did not run"
    paths = yaml.safe_load(schema.read_text())["paths"]
    assert "/api/v1/orders/orders/" in paths, f"the orders routes are not served: {sorted(paths)}"
    assert (service / "uv.lock").read_bytes() == lock_before, "a gate rewrote uv.lock"
