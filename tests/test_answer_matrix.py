"""Every value of every question, in combination: fast checks on a pairwise set of renders,
and every gate on the answer sets at the extremes.

FAST: the choice and bool questions (api_auth, task_backend, use_cors, use_sentry, media_storage,
api_docs_in_production, example_app, python_version) are crossed pairwise: every pair of
values of every two questions is rendered at least once (a greedy all-pairs cover, a dozen
renders instead of the 288 of the full product). The free-text questions get non-default
values on some of those renders. Each render is checked without installing anything: no
Jinja left, every Python file compiles, the files each answer adds or removes are there or
not, and pyproject.toml and uv.lock carry exactly the packages the answers ask for.

SLOW: `uv sync --locked`, then every gate of STANDARDS.md (tests/gates.py, as
tests/test_gates.py runs them on the defaults), with everything on, and with everything
off (once with session auth, once with JWT only), and a mixed set, spread over the four
Pythons (3.14 and 3.15 in the sid root where the host has none: tests/sidroot.py).
"""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import QUESTIONS, question_values, render
from gates import SYNC_GATE, assert_gates_green, run_gate, venv_python_version
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from postgres import Cluster, pg_cluster
from sidroot import toolchain

__all__ = ["pg_cluster"]  # the fixture, imported to be used here


# The questions whose values are enumerable, crossed pairwise.
MATRIX_QUESTIONS = (
    "api_auth",
    "task_backend",
    "use_cors",
    "use_sentry",
    "media_storage",
    "observability",
    "api_docs_in_production",
    "example_app",
    "python_version",
)
# Free-text answers that differ from the defaults, given to every other matrix render.
CUSTOM_TEXT = {
    "project_name": "Stock Ledger",
    "project_slug": "stock_ledger",
    "description": "Keeps the stock ledger of every warehouse.",
    "author_name": "Ledger Team",
    "author_email": "ledger@example.org",
    "domain_name": "ledger.example.org",
}

# The package each answer adds; each must be declared and locked exactly when chosen.
ANSWER_PACKAGES = {
    "djangorestframework-simplejwt": lambda a: a["api_auth"] in {"jwt", "both"},
    "celery": lambda a: a["task_backend"] == "celery",
    "django-tasks-db": lambda a: a["task_backend"] == "django_tasks",
    "django-cors-headers": lambda a: a["use_cors"],
    "sentry-sdk": lambda a: a["use_sentry"],
    "django-storages": lambda a: a["media_storage"] == "s3",
    "opentelemetry-sdk": lambda a: a["observability"],
    "prometheus-client": lambda a: a["observability"],
    "opentelemetry-instrumentation-celery": lambda a: (
        a["observability"] and a["task_backend"] == "celery"
    ),
}
# Files each answer adds; each must exist exactly when chosen.
ANSWER_FILES = {
    "src/config/celery.py": lambda a: a["task_backend"] == "celery",
    "src/apps/users/session_views.py": lambda a: a["api_auth"] in {"session", "both"},
    "src/apps/users/tests/test_session_auth.py": lambda a: a["api_auth"] in {"session", "both"},
    "src/apps/users/tests/test_jwt_auth.py": lambda a: a["api_auth"] in {"jwt", "both"},
    "src/apps/core/telemetry.py": lambda a: a["observability"],
    "src/apps/core/metrics.py": lambda a: a["observability"],
    "src/apps/core/task_context.py": lambda a: a["observability"],
    "src/apps/core/tests/test_task_context.py": lambda a: (
        a["observability"] and a["task_backend"] == "django_tasks"
    ),
    "src/apps/catalog/models.py": lambda a: a["example_app"],
    "src/apps/catalog/tasks.py": lambda a: a["example_app"],
    "src/apps/catalog/tests/test_services.py": lambda a: a["example_app"],
}

JINJA_MARKERS = ("{{", "{%", "{#")
GITHUB_EXPRESSION_RE = re.compile(r"\$\{\{.*?\}\}")  # `${{ github.ref }}` stays in workflows


def pairwise(factors: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """A small set of rows that holds every pair of values of every two factors (greedy).

    Deterministic: the first row is every factor's first value (the defaults), then each
    row is the candidate of the full product that covers the most pairs not yet covered.
    """
    names = list(factors)
    uncovered = {
        ((a, va), (b, vb))
        for a, b in itertools.combinations(names, 2)
        for va in factors[a]
        for vb in factors[b]
    }
    candidates = [
        dict(zip(names, row, strict=True)) for row in itertools.product(*factors.values())
    ]

    def pairs_of(row: dict[str, Any]) -> set[tuple[tuple[str, Any], tuple[str, Any]]]:
        return {((a, row[a]), (b, row[b])) for a, b in itertools.combinations(names, 2)}

    rows = [candidates[0]]
    uncovered -= pairs_of(candidates[0])
    while uncovered:
        best = max(candidates, key=lambda row: len(pairs_of(row) & uncovered))
        rows.append(best)
        uncovered -= pairs_of(best)
    return rows


MATRIX = pairwise({name: question_values(name) for name in MATRIX_QUESTIONS})


def case_id(answers: dict[str, Any]) -> str:
    parts = [
        f"auth={answers['api_auth']}",
        answers["task_backend"],
        *(name.removeprefix("use_") for name in ("use_cors", "use_sentry") if answers[name]),
        *(["s3"] if answers["media_storage"] == "s3" else []),
        *(["otel"] if answers["observability"] else []),
        *(["docs"] if answers["api_docs_in_production"] else []),
        *(["example"] if answers["example_app"] else []),
        f"py{answers['python_version']}",
    ]
    return "-".join(parts)


def matrix_answers(index: int) -> dict[str, Any]:
    answers = dict(MATRIX[index])
    if index % 2:  # every other render also changes every free-text answer
        answers |= CUSTOM_TEXT
    return answers


def expected(answers: dict[str, Any]) -> dict[str, Any]:
    """The full answers: the defaults of copier.yml overridden by ``answers``."""
    full = {name: spec.get("default") for name, spec in QUESTIONS.items()}
    full |= answers
    if "project_slug" not in answers:
        full["project_slug"] = "my_service"  # derived from the default project name
    return full


def text_files(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".venv" not in path.parts:
            data = path.read_bytes()
            if b"\0" not in data:
                yield path.relative_to(root).as_posix(), data.decode()


def module_assignments(path: Path) -> dict[str, Any]:
    """Top-level `NAME = <literal>` assignments of a settings module, evaluated safely."""
    values: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    values[target.id] = ast.unparse(value)
    return values


def lock_package_names(project: Path) -> set[str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {canonicalize_name(package["name"]) for package in lock["package"]}


# --------------------------------------------------------------------------------- fast


def test_the_matrix_covers_every_value_and_every_pair() -> None:
    """The greedy cover is complete, and small enough to stay a fast test."""
    for name in MATRIX_QUESTIONS:
        assert {repr(row[name]) for row in MATRIX} == {repr(v) for v in question_values(name)}
    for a, b in itertools.combinations(MATRIX_QUESTIONS, 2):
        seen = {(repr(row[a]), repr(row[b])) for row in MATRIX}
        wanted = {(repr(va), repr(vb)) for va in question_values(a) for vb in question_values(b)}
        assert seen == wanted, f"pairs of {a} x {b} missing: {sorted(wanted - seen)}"
    assert MATRIX[0] == {name: QUESTIONS[name]["default"] for name in MATRIX_QUESTIONS}
    assert len(MATRIX) <= 14


@pytest.fixture(scope="module")
def matrix_render(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """Each matrix row rendered once per module."""
    renders: dict[int, Path] = {}

    def get(index: int) -> Path:
        if index not in renders:
            parent = tmp_path_factory.mktemp(f"matrix{index}")
            renders[index] = render(parent / "service", **matrix_answers(index))
        return renders[index]

    return get


@pytest.mark.parametrize("index", range(len(MATRIX)), ids=[case_id(row) for row in MATRIX])
def test_render_is_complete_and_fits_its_answers(
    index: int, matrix_render: Callable[[int], Path]
) -> None:
    answers = expected(matrix_answers(index))
    project = matrix_render(index)
    problems: list[str] = []

    # No Jinja left in a name or a file (startapp's own `-tpl` templates aside).
    for relative, text in text_files(project):
        if relative.endswith(".jinja") or any(mark in relative for mark in JINJA_MARKERS):
            problems.append(f"{relative}: unrendered file name")
        if relative.endswith("-tpl"):
            continue
        if relative.startswith(".github/"):
            text = GITHUB_EXPRESSION_RE.sub("", text)
        for number, line in enumerate(text.splitlines(), start=1):
            if any(mark in line for mark in JINJA_MARKERS):
                problems.append(f"{relative}:{number}: Jinja left: {line.strip()}")

    # Every Python file compiles.
    for path in sorted(project.rglob("*.py")):
        try:
            compile(path.read_text(), str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            problems.append(f"{path.relative_to(project)}: does not compile: {error}")

    # ruff (the harness's, with the service's settings) is clean on every combination: a
    # blank line that only one answer adds is found here in seconds, not in a gated render.
    for args in (["format", "--check", "--no-cache", "."], ["check", "--no-cache", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            problems.append(f"ruff {args[0]}:\n{result.stdout}{result.stderr}")

    # The files each answer adds are there exactly when it is chosen.
    for relative, wanted in ANSWER_FILES.items():
        if (project / relative).is_file() != bool(wanted(answers)):
            state = "missing" if wanted(answers) else "present but not asked for"
            problems.append(f"{relative}: {state}")
    if not answers["example_app"] and (project / "src/apps/catalog").exists():
        problems.append("src/apps/catalog: present with example_app=false")
    if not (project / "uv.lock").is_file():
        problems.append("uv.lock: missing")

    # Declared dependencies and locked packages follow the answers.
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    declared = {
        canonicalize_name(Requirement(line).name) for line in pyproject["project"]["dependencies"]
    }
    locked = lock_package_names(project) if (project / "uv.lock").is_file() else None
    for package, wanted in ANSWER_PACKAGES.items():
        if (package in declared) != bool(wanted(answers)):
            problems.append(f"pyproject.toml: {package} declared={package in declared}")
        if locked is not None and (package in locked) != bool(wanted(answers)):
            problems.append(f"uv.lock: {package} locked={package in locked}")
    if locked is not None:
        missing = sorted(declared - locked)
        if missing:
            problems.append(f"uv.lock: declared dependencies not locked: {missing}")
        lock = tomllib.loads((project / "uv.lock").read_text())
        if lock["requires-python"] != f">={answers['python_version']}":
            problems.append(f"uv.lock: requires-python {lock['requires-python']!r}")
    if pyproject["project"]["name"] != answers["project_slug"].replace("_", "-"):
        problems.append(f"pyproject.toml: name {pyproject['project']['name']!r}")

    # Settings follow the answers.
    base = module_assignments(project / "src/config/settings/base.py")
    apps = base["INSTALLED_APPS"]
    middleware = base["MIDDLEWARE"]
    auth_classes = base["REST_FRAMEWORK"]["DEFAULT_AUTHENTICATION_CLASSES"]
    use_jwt = answers["api_auth"] in {"jwt", "both"}
    use_session = answers["api_auth"] in {"session", "both"}
    settings_expectations = {
        "INSTALLED_APPS has the JWT blacklist": (
            "rest_framework_simplejwt.token_blacklist" in apps,
            use_jwt,
        ),
        "JWT authentication class": (
            "rest_framework_simplejwt.authentication.JWTAuthentication" in auth_classes,
            use_jwt,
        ),
        "session authentication class": (
            any(name.endswith("SessionAuthentication") for name in auth_classes),
            use_session,
        ),
        "SIMPLE_JWT": ("SIMPLE_JWT" in base, use_jwt),
        "INSTALLED_APPS has corsheaders": ("corsheaders" in apps, answers["use_cors"]),
        "CorsMiddleware": (
            "corsheaders.middleware.CorsMiddleware" in middleware,
            answers["use_cors"],
        ),
        "CORS_ALLOWED_ORIGINS": ("CORS_ALLOWED_ORIGINS" in base, answers["use_cors"]),
        "INSTALLED_APPS has django_tasks_db": (
            "django_tasks_db" in apps,
            answers["task_backend"] == "django_tasks",
        ),
        "CELERY_* settings": (
            any(name.startswith("CELERY_") for name in base),
            answers["task_backend"] == "celery",
        ),
        "INSTALLED_APPS has apps.catalog": ("apps.catalog" in apps, answers["example_app"]),
    }
    for what, (found, wanted) in settings_expectations.items():
        if found != bool(wanted):
            problems.append(f"base.py: {what}: found={found}, wanted={bool(wanted)}")
    if "CORS_ALLOW_ALL_ORIGINS" in base:
        problems.append("base.py: CORS_ALLOW_ALL_ORIGINS is set")

    prod_text = (project / "src/config/settings/prod.py").read_text()
    if ("sentry_sdk.init(" in prod_text) != answers["use_sentry"]:
        problems.append(f"prod.py: sentry_sdk.init present={'sentry_sdk.init(' in prod_text}")
    docs_default = re.search(r'env\.bool\("DJANGO_API_DOCS_ENABLED", default=(\w+)\)', prod_text)
    if not docs_default or docs_default[1] != str(answers["api_docs_in_production"]):
        problems.append(f"prod.py: DJANGO_API_DOCS_ENABLED default is {docs_default}")
    example_env = (project / ".env.example").read_text()
    docs_line = f"DJANGO_API_DOCS_ENABLED={str(answers['api_docs_in_production']).lower()}"
    if docs_line not in example_env.splitlines():
        problems.append(f".env.example: no line {docs_line!r}")
    if ("SENTRY_DSN=" in example_env) != answers["use_sentry"]:
        problems.append(".env.example: SENTRY_DSN does not follow use_sentry")
    if ("DJANGO_CORS_ALLOWED_ORIGINS=" in example_env) != answers["use_cors"]:
        problems.append(".env.example: DJANGO_CORS_ALLOWED_ORIGINS does not follow use_cors")
    s3 = answers["media_storage"] == "s3"
    if ("storages.backends.s3.S3Storage" in prod_text) != s3:
        problems.append("prod.py: the S3 storage does not follow media_storage")
    if ("S3_BUCKET_NAME=" in example_env) != s3 or ("DJANGO_MEDIA_ROOT=" in example_env) == s3:
        problems.append(".env.example: S3_*/DJANGO_MEDIA_ROOT do not follow media_storage")

    urls_text = (project / "src/config/urls.py").read_text()
    if ('include("apps.catalog.urls")' in urls_text) != answers["example_app"]:
        problems.append("urls.py: the catalog routes do not follow example_app")

    # The example task is sent the way the chosen runner expects.
    if answers["example_app"]:
        tasks = (project / "src/apps/catalog/tasks.py").read_text()
        services = (project / "src/apps/catalog/services.py").read_text()
        if answers["task_backend"] == "celery":
            wanted_bits = [("tasks.py", tasks, "@shared_task"), ("services.py", services, ".delay")]
        else:
            wanted_bits = [("tasks.py", tasks, "@task"), ("services.py", services, ".enqueue")]
        for name, text, bit in wanted_bits:
            if bit not in text:
                problems.append(f"catalog/{name}: no {bit!r} for {answers['task_backend']}")

    # Free-text answers reach the files that show them.
    readme = (project / "README.md").read_text()
    if answers["project_name"] not in readme:
        problems.append(f"README.md does not name {answers['project_name']!r}")
    if f"DJANGO_ALLOWED_HOSTS={answers['domain_name']}" not in example_env.splitlines():
        problems.append(f".env.example: DJANGO_ALLOWED_HOSTS is not {answers['domain_name']}")
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for name in QUESTIONS:
        if recorded.get(name) != answers[name]:
            problems.append(f".copier-answers.yml: {name}={recorded.get(name)!r}")

    assert problems == [], f"{case_id(answers)}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------- slow

# The defaults are gated on every Python by tests/test_gates.py; not again here. The other
# sets are spread over the Pythons so each runs at least one non-default set (3.14 and 3.15
# in the sid root where the host has no interpreter: tests/sidroot.py).
GATE_SETS = {
    "everything-on-py3.15": {
        "api_auth": "both",
        "task_backend": "celery",
        "use_cors": True,
        "use_sentry": True,
        "media_storage": "s3",
        "observability": True,
        "api_docs_in_production": True,
        "example_app": True,
        "python_version": "3.15",
    },
    "everything-off-session-py3.12": {
        "api_auth": "session",
        "task_backend": "django_tasks",
        "use_cors": False,
        "use_sentry": False,
        "media_storage": "local",
        "observability": False,
        "api_docs_in_production": False,
        "example_app": False,
        "python_version": "3.12",
    },
    "everything-off-jwt-py3.13": {
        "api_auth": "jwt",
        "task_backend": "django_tasks",
        "use_cors": False,
        "use_sentry": False,
        "media_storage": "local",
        "observability": False,
        "api_docs_in_production": False,
        "example_app": False,
        "python_version": "3.13",
    },
    "session-celery-cors-s3-py3.14": {
        "api_auth": "session",
        "task_backend": "celery",
        "use_cors": True,
        "use_sentry": False,
        "media_storage": "s3",
        "observability": False,
        "api_docs_in_production": True,
        "example_app": True,
        "python_version": "3.14",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "answers"), GATE_SETS.items(), ids=GATE_SETS.keys())
def test_every_gate_is_green_on(
    name: str, answers: dict[str, Any], tmp_path: Path, pg_cluster: Cluster
) -> None:
    python_version = answers["python_version"]
    with toolchain(python_version, tmp_path) as (workdir, env, root):
        project = render(workdir / "svc", **answers)

        synced = run_gate(SYNC_GATE, project, env, root)
        if not synced.ok:
            pytest.fail(synced.report(), pytrace=False)
        assert venv_python_version(project, root) == python_version
        lock_before = (project / "uv.lock").read_bytes()

        database_url = pg_cluster.create_database(re.sub(r"[^a-z0-9]+", "_", f"matrix_{name}"))
        results = assert_gates_green(
            project, database_url, workdir / "schema.yaml", env, label=f"for {answers}", root=root
        )
        assert (project / "uv.lock").read_bytes() == lock_before, "a gate rewrote uv.lock"
    if answers.get("example_app", True):
        # The example app's service tests ran (the task among them, in-process), and passed.
        assert re.search(
            r"^src/apps/catalog/tests/test_services\.py \.+", results[-1].stdout, re.MULTILINE
        ), f"the catalog service tests did not run:\n{results[-1].stdout}"
