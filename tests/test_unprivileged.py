"""Slow: the generated `pytest` with no variables at all, as a fresh machine would run it.

STANDARDS: `uv run pytest` works with PostgreSQL installed, no server running and no
variables set; the generated conftest starts a throwaway cluster. `initdb` refuses root, and
this machine and CI run as root with the interpreters under /root (unreadable by others), so:

- a copy of the host's Python installation goes to a world-readable directory (it is built
  shared: the copy runs with LD_LIBRARY_PATH=<copy>/lib), a service is rendered next to it
  and synced as root (UV_LINK_MODE=copy, so no file is a hard link into root's uv cache),
  then handed to an unprivileged user who runs its tests with an empty environment;
- as root with no DATABASE_URL, the tests stop at once with one line saying what to do;
- with no PostgreSQL binaries at all (hidden by a private mount namespace) and no
  DATABASE_URL, they stop with one line naming the binaries and DATABASE_URL.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import host_python, render
from gates import Gate, base_env, find_python, pytest_all_passed, run_gate
from postgres import find_pg_bindir

pytestmark = pytest.mark.slow
IS_ROOT = os.geteuid() == 0

UNPRIVILEGED_USERS = ("nobody",)
RUN_TIMEOUT = 600


@dataclass(frozen=True)
class Service:
    root: Path  # world-readable directory holding the interpreter copy and the project
    python_prefix: Path
    project: Path

    def minimal_env(self, path: str) -> dict[str, str]:
        """All a fresh login would have: no DATABASE_URL, no DJANGO_*, no uv, no venv."""
        return {
            "HOME": str(self.project),
            "PATH": path,
            "LD_LIBRARY_PATH": str(self.python_prefix / "lib"),
            "LANG": "C.UTF-8",
        }

    @property
    def pytest_argv(self) -> list[str]:
        return [str(self.project / ".venv" / "bin" / "python"), "-m", "pytest"]


def unprivileged_user() -> pwd.struct_passwd:
    """`nobody` when the harness is root; the current user otherwise."""
    if not IS_ROOT:
        return pwd.getpwuid(os.geteuid())
    for name in UNPRIVILEGED_USERS:
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        if user.pw_uid != 0:
            return user
    pytest.fail(f"no unprivileged OS user found (tried {', '.join(UNPRIVILEGED_USERS)})")


def hand_over(project: Path, user: pwd.struct_passwd) -> None:
    """Give the project to `user` (again each time: a root run may have left files in it)."""
    if IS_ROOT:
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(project)], check=True)


def as_user(user: str, env: dict[str, str], argv: list[str]) -> list[str]:
    """`argv` as `user`, with exactly `env` (env -i drops everything runuser would keep)."""
    switch = ["runuser", "-u", user, "--"] if IS_ROOT else []
    return [
        *switch,
        "env",
        "-i",
        *(f"{key}={value}" for key, value in env.items()),
        *argv,
    ]


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT
    )


def transcript(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"command: {' '.join(result.args)}\nexit code: {result.returncode}\n"
        f"----- stdout -----\n{result.stdout}\n----- stderr -----\n{result.stderr}"
    )


def postgres_processes_of(uid: int) -> list[str]:
    """Live PostgreSQL processes of `uid` (an exited one awaiting its reaper is not live)."""
    result = subprocess.run(
        ["ps", "-u", str(uid), "-o", "pid=,stat=,args="],
        capture_output=True,
        text=True,
        check=False,
    )
    return [
        line.strip()
        for line in result.stdout.splitlines()
        if "postgres" in line and not line.split()[1].startswith("Z")
    ]


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    """A service on the host's Python, synced with a world-readable copy of the interpreter."""
    root = Path(tempfile.mkdtemp(prefix="harness-unprivileged-"))
    try:
        root.chmod(0o755)
        real_python = find_python(host_python())
        prefix = root / "python"
        # cp -a keeps the installation's symlinks and modes exactly.
        subprocess.run(["cp", "-a", str(real_python.parent.parent), str(prefix)], check=True)
        python = prefix / "bin" / f"python{host_python()}"
        project = render(root / "svc", python_version=host_python())
        sync = Gate(
            "uv sync (interpreter copy)",
            ["sync", "--locked", "--python", str(python)],
            env={"UV_LINK_MODE": "copy", "LD_LIBRARY_PATH": str(prefix / "lib")},
        )
        synced = run_gate(sync, project, base_env())
        if not synced.ok:
            pytest.fail(synced.report(), pytrace=False)
        venv_python = (project / ".venv" / "bin" / "python").resolve()
        assert venv_python.is_relative_to(prefix), f"the venv uses {venv_python}, not the copy"
        yield Service(root=root, python_prefix=prefix, project=project)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_generated_pytest_starts_its_own_cluster_as_an_unprivileged_user(
    service: Service,
) -> None:
    user = unprivileged_user()
    hand_over(service.project, user)
    path = f"{find_pg_bindir()}:/usr/bin:/bin"
    result = run(
        as_user(user.pw_name, service.minimal_env(path), service.pytest_argv),
        cwd=service.project,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )

    assert result.returncode == 0, transcript(result)
    problem = pytest_all_passed(result.stdout + result.stderr)
    assert problem is None, f"{problem}\n{transcript(result)}"
    assert "DATABASE_URL" not in result.stdout + result.stderr, transcript(result)
    leftovers = postgres_processes_of(user.pw_uid)
    assert not leftovers, f"the generated tests left their cluster running: {leftovers}"


def _one_line_explanation(output: str, *required: str) -> str:
    lines = [line for line in output.splitlines() if all(word in line for word in required)]
    assert lines, f"no line mentions all of {required}:\n{output}"
    assert "Traceback" not in output, f"a traceback instead of an explanation:\n{output}"
    print(lines[0])  # shown with -rP: the message a user would see
    return lines[0]


@pytest.mark.skipif(not IS_ROOT, reason="only root is refused by initdb")
def test_as_root_without_database_url_the_tests_say_what_to_do(service: Service) -> None:
    path = f"{find_pg_bindir()}:/usr/bin:/bin"
    result = run(service.pytest_argv, cwd=service.project, env=service.minimal_env(path))

    assert result.returncode != 0, transcript(result)
    line = _one_line_explanation(result.stdout + result.stderr, "DATABASE_URL", "root")
    assert "non-root" in line or "not root" in line or "unprivileged" in line, line


def _mount_namespaces_work() -> bool:
    if not IS_ROOT or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "mount", "-t", "tmpfs",
         "tmpfs", "/mnt"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def test_without_postgres_binaries_or_database_url_the_tests_say_what_to_do(
    service: Service,
) -> None:
    if not _mount_namespaces_work():
        pytest.skip("cannot hide the PostgreSQL binaries: needs root and a mount namespace")
    user = unprivileged_user()
    hand_over(service.project, user)
    # The generated conftest looks on PATH and under /usr/lib/postgresql/*/bin: hide that
    # tree behind an empty tmpfs in a private mount namespace, and keep PATH to the basics.
    hidden = find_pg_bindir().parent.parent
    argv = [
        "unshare", "--mount", "--propagation", "private", "--",
        "sh", "-c", 'mount -t tmpfs tmpfs "$1" && shift && exec "$@"', "sh", str(hidden),
        *as_user(user.pw_name, service.minimal_env("/usr/bin:/bin"), service.pytest_argv),
    ]  # fmt: skip
    result = run(argv, cwd=service.project, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})

    assert result.returncode != 0, transcript(result)
    line = _one_line_explanation(result.stdout + result.stderr, "DATABASE_URL")
    assert "initdb" in line or "PostgreSQL" in line, line
    assert "root" not in line, f"the message blames root for missing binaries: {line}"
