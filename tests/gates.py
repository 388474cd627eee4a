"""The gates a generated service must pass, and the toolchain that runs them.

Shared by tests/test_gates.py, tests/test_unprivileged.py and bench/bench_render.py so the
tests and the benchmark time exactly the same commands.

Every command runs through uv, called by absolute path (a pyenv shim named ``uv`` would
resolve against the rendered ``.python-version`` and fail), with ``UV_PYTHON_DOWNLOADS=never``
and the real interpreters' directories first on PATH (pyenv shims removed: uv cannot query
them), ``VIRTUAL_ENV`` unset, and the user's uv cache shared by every render.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidroot import SidRoot

GATE_TIMEOUT = 900  # seconds; a cold `uv sync` on a slow network is the longest
# Variables of the harness's own process that must not leak into a generated project's.
LEAKY_VARIABLES = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON",
    "UV_LOCKED",
    "UV_FROZEN",
    "UV_NO_SYNC",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "COVERAGE_PROCESS_START",
    "COVERAGE_FILE",
    "COVERAGE_RCFILE",
)
WARNING_RE = re.compile(r"\bwarning\b", re.IGNORECASE)
PYTEST_SUMMARY_RE = re.compile(r"^=+ (?P<body>.*\bin [\d.]+s.*) =+$", re.MULTILINE)


# --------------------------------------------------------------------------- toolchain


def _is_shim(path: str | Path) -> bool:
    return "/.pyenv/shims" in str(path) or "/.asdf/shims" in str(path)


@cache
def find_uv() -> Path:
    """The real uv binary: the one installed in the harness's venv, else uv on PATH."""
    try:
        import uv  # the `uv` PyPI package, a dev dependency of this repo

        found = Path(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        on_path = shutil.which("uv")
        if on_path is None:
            raise RuntimeError("uv not found: install it (it is a dev dependency)") from None
        found = Path(on_path)
        if _is_shim(found) and shutil.which("pyenv"):
            found = Path(_output(["pyenv", "which", "uv"]))
    return found.resolve()


def _output(argv: list[str], env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def _version_of(python: Path) -> str | None:
    try:
        out = _output([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    except (OSError, RuntimeError):
        return None
    return out


def clean_path(extra_first: list[Path] | None = None) -> str:
    """PATH without version-manager shims, with ``extra_first`` in front."""
    parts = [str(path) for path in extra_first or []]
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and not _is_shim(entry) and entry not in parts:
            parts.append(entry)
    return os.pathsep.join(parts)


@cache
def find_python(version: str) -> Path:
    """A real (non-shim) interpreter for ``3.X``: uv's discovery, else pyenv's versions."""
    candidates: list[Path] = []
    env = {**os.environ, "PATH": clean_path(), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    with contextlib.suppress(RuntimeError):
        candidates.append(
            Path(_output([str(find_uv()), "python", "find", "--system", version], env=env))
        )
    if shutil.which("pyenv"):
        try:
            latest = _output(["pyenv", "latest", version])
            prefix = Path(_output(["pyenv", "prefix", latest]))
            candidates.append(prefix / "bin" / f"python{version}")
        except RuntimeError:
            pass
    for candidate in candidates:
        if candidate.exists() and not _is_shim(candidate) and _version_of(candidate) == version:
            # The install's own bin/, not a venv's: what a fresh machine would have on PATH.
            base = _output([str(candidate), "-c", "import sys; print(sys.base_prefix)"])
            real = Path(base) / "bin" / f"python{version}"
            return real if real.exists() else candidate
    raise RuntimeError(
        f"No Python {version} interpreter found (tried uv python find and pyenv); "
        "the slow tests need it installed."
    )


def uv_cache_dir() -> Path:
    """The uv cache every render shares: UV_CACHE_DIR, else the user's default cache."""
    return Path(_output([str(find_uv()), "cache", "dir"]))


def base_env(pythons: list[str] | None = None) -> dict[str, str]:
    """The environment for every command run in a generated project."""
    pythons = pythons or ["3.13", "3.12"]
    env = {key: value for key, value in os.environ.items() if key not in LEAKY_VARIABLES}
    env["PATH"] = clean_path([find_python(version).parent for version in pythons])
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_CACHE_DIR"] = str(uv_cache_dir())  # one cache for every render, named explicitly
    env["UV_NO_PROGRESS"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    return env


# --------------------------------------------------------------------------- the gates


type Checker = Callable[[str], str | None]


def no_warnings(output: str) -> str | None:
    lines = [line for line in output.splitlines() if WARNING_RE.search(line)]
    if lines:
        return "warning lines in the output:\n  " + "\n  ".join(lines)
    return None


def contains(text: str) -> Checker:
    def check(output: str) -> str | None:
        if text not in output:
            return f"expected {text!r} in the output"
        return no_warnings(output)

    return check


def pytest_all_passed(output: str) -> str | None:
    """The summary line reports passes and nothing else: no skip, xfail, warning or error."""
    summaries = PYTEST_SUMMARY_RE.findall(output)
    if not summaries:
        return "no pytest summary line found"
    summary = summaries[-1]
    if not re.search(r"\b\d+ passed\b", summary):
        return f"no passed tests in the summary: {summary!r}"
    bad = re.findall(
        r"\b\d+ (failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|rerun)\b", summary
    )
    if bad:
        return f"the summary reports {', '.join(sorted(set(bad)))}: {summary!r}"
    if "warnings summary" in output:
        return "pytest printed a warnings summary"
    if re.search(r"(?im)^SKIPPED\b", output):
        return "pytest reports skipped tests"
    return None


@dataclass(frozen=True)
class Gate:
    name: str
    argv: list[str]  # after `uv`
    env: dict[str, str] = field(default_factory=dict)  # on top of base_env()
    check: Checker = no_warnings


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    problem: str | None  # None when the gate is green

    @property
    def ok(self) -> bool:
        return self.problem is None

    def report(self) -> str:
        command = "uv " + " ".join(self.gate.argv)
        settings = " ".join(f"{key}=..." for key in sorted(self.gate.env))
        return (
            f"GATE {self.gate.name!r} FAILED: {self.problem}\n"
            f"  command: {settings} {command}\n  exit code: {self.returncode}, "
            f"{self.seconds:.1f}s\n"
            f"----- stdout -----\n{self.stdout}\n----- stderr -----\n{self.stderr}\n"
        )


def prod_check_env(project: Path, database_url: str) -> dict[str, str]:
    """What config.settings.prod requires, per the rendered .env.example."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": _random_secret(),
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "api.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://api.example.com",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_ADMIN_URL": "staff-harness/",
        # media_storage=s3: placeholders; nothing connects to the store at start-up.
        "S3_BUCKET_NAME": "media",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "S3_REGION_NAME": "us-east-1",
        "S3_ACCESS_KEY_ID": "harness",
        "S3_SECRET_ACCESS_KEY": "harness-secret",
    }
    required = required_in_prod(project)
    missing = required - env.keys()
    if missing:
        raise RuntimeError(
            f"The rendered .env.example lists required variables the harness does not set: "
            f"{sorted(missing)}; add them to tests/gates.py"
        )
    return env


def _random_secret() -> str:
    import secrets

    return secrets.token_urlsafe(64)  # 86 characters, well past check --deploy's 50


def required_in_prod(project: Path) -> set[str]:
    """Variables in .env.example's "Required in production" section."""
    example = project / ".env.example"
    if not example.exists():
        return set()
    required: set[str] = set()
    in_required = False
    for line in example.read_text().splitlines():
        if line.startswith("# ---"):
            in_required = "required" in line.lower()
            continue
        if in_required and (match := re.match(r"([A-Z][A-Z0-9_]*)=", line)):
            required.add(match.group(1))
    return required


def project_gates(project: Path, database_url: str, schema_file: Path) -> list[Gate]:
    """Every gate after `uv sync --locked`, in the generated CI's order and environment."""
    test_settings = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url}
    return [
        Gate("ruff check", ["run", "ruff", "check", "."], check=contains("All checks passed")),
        Gate("ruff format", ["run", "ruff", "format", "--check", "."]),
        Gate("mypy", ["run", "mypy"], check=contains("Success: no issues found")),
        # The project is not an installed package: lint-imports finds `apps` through src/.
        Gate(
            "lint-imports",
            ["run", "lint-imports"],
            env={"PYTHONPATH": "src"},
            check=contains("Contracts: 3 kept, 0 broken."),
        ),
        Gate(
            "check --deploy",
            ["run", "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            env=prod_check_env(project, database_url),
            check=contains("System check identified no issues"),
        ),
        Gate(
            "makemigrations",
            ["run", "python", "manage.py", "makemigrations", "--check", "--dry-run"],
            env=test_settings,
            check=contains("No changes detected"),
        ),
        Gate(
            "spectacular",
            [
                *["run", "python", "manage.py", "spectacular", "--validate", "--fail-on-warn"],
                "--file",
                str(schema_file),
            ],
            env=test_settings,
        ),
        Gate(
            "pytest", ["run", "pytest"], env={"DATABASE_URL": database_url}, check=pytest_all_passed
        ),
    ]


SYNC_GATE = Gate("uv sync", ["sync", "--locked"])


def run_gate(
    gate: Gate, project: Path, env: Mapping[str, str], root: SidRoot | None = None
) -> GateResult:
    """``uv <gate.argv>`` in ``project``; with ``root``, inside that sid root (tests/sidroot.py:
    ``project`` and any path in the command lie inside it, ``env`` is added to its own)."""
    started = time.perf_counter()
    gate_env = {**env, **gate.env, "UV_LOCKED": "1"}  # `uv run` must never touch uv.lock
    try:
        if root is not None:
            inside = str(root.path)
            argv = [root.inside(Path(a)) if a.startswith(inside) else a for a in gate.argv]
            result = root.run(["uv", *argv], cwd=project, env=gate_env, timeout=GATE_TIMEOUT)
        else:
            result = subprocess.run(
                [str(find_uv()), *gate.argv],
                cwd=project,
                env=gate_env,
                capture_output=True,
                text=True,
                check=False,
                timeout=GATE_TIMEOUT,
            )
        returncode, stdout, stderr = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as error:
        returncode = -1
        stdout = _text(error.stdout)
        stderr = _text(error.stderr) + f"\n(timed out after {GATE_TIMEOUT}s)"
    seconds = time.perf_counter() - started
    problem = f"exit code {returncode}" if returncode else gate.check(stdout + "\n" + stderr)
    return GateResult(gate, returncode, stdout, stderr, seconds, problem)


def assert_gates_green(
    project: Path,
    database_url: str,
    schema_file: Path,
    env: Mapping[str, str],
    *,
    label: str,
    root: SidRoot | None = None,
) -> list[GateResult]:
    """Run every gate after `uv sync` (each even when an earlier one failed) and fail the
    test with the name, command and full output of each gate that failed."""
    import pytest  # only the tests call this; the benchmark times gates one by one

    results = [
        run_gate(gate, project, env, root)
        for gate in project_gates(project, database_url, schema_file)
    ]
    failures = [result.report() for result in results if not result.ok]
    if failures:
        pytest.fail(
            f"{len(failures)} of {len(results) + 1} gates failed {label}:\n\n"
            + "\n".join(failures),
            pytrace=False,
        )
    return results


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def venv_python_version(project: Path, root: SidRoot | None = None) -> str | None:
    if root is not None:
        script = "import sys; print('%d.%d' % sys.version_info[:2])"
        result = root.run([".venv/bin/python", "-c", script], cwd=project)
        return result.stdout.strip() if result.returncode == 0 else None
    return _version_of(project / ".venv" / "bin" / "python")
