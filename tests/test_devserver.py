"""Slow: the README's run command, `manage.py devserver`, on a fresh machine.

A fresh default render, synced with a world-readable copy of the interpreter and handed to
an unprivileged user (the setup of tests/test_unprivileged.py), run with an empty
environment: no DATABASE_URL, no server running, only the PostgreSQL binaries.

- `python manage.py devserver` creates a cluster in `.pgdata/`, migrates, and serves
  `/healthz` and `/api/v1/schema/`; it says where the data lives and how to reset it. On
  Ctrl-C (SIGINT to its process group, as a terminal sends) it exits and leaves no
  PostgreSQL process behind.
- Run again, it reuses `.pgdata/` (nothing left to migrate) and stops the same way on
  SIGTERM (a process manager, `docker stop`).
- As root with no DATABASE_URL, and with no PostgreSQL binaries, it stops at once with one
  line saying what to do, and starts nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from postgres import find_pg_bindir
from production_services import unused_port
from test_unprivileged import (
    IS_ROOT,
    Service,
    _mount_namespaces_work,
    _one_line_explanation,
    as_user,
    hand_over,
    postgres_processes_of,
    run,
    service,
    transcript,
    unprivileged_user,
)

__all__ = ["service"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

START_TIMEOUT = 180  # seconds: initdb, migrate and the first request on a shared machine
STOP_TIMEOUT = 60


def devserver_argv(service: Service, port: int) -> list[str]:
    return [
        str(service.project / ".venv/bin/python"),
        "manage.py",
        "devserver",
        f"127.0.0.1:{port}",
    ]


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback)
        return response.status, response.headers.get("Content-Type", ""), response.read()


@contextmanager
def devserver(service: Service, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The command as the unprivileged user, in a session of its own (its own terminal)."""
    user = unprivileged_user()
    port = unused_port()
    path = f"{find_pg_bindir()}:/usr/bin:/bin"
    argv = as_user(user.pw_name, service.minimal_env(path), devserver_argv(service, port))
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=service.project,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_serving(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"devserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"devserver did not serve /healthz in {START_TIMEOUT}s:\n{log.read_text()}")


def devserver_pid(process: subprocess.Popen[bytes]) -> int:
    """The command's own process: as root, runuser's child."""
    if not IS_ROOT:
        return process.pid
    children = subprocess.run(
        ["ps", "--ppid", str(process.pid), "-o", "pid="], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(children) == 1, f"runuser has children {children}"
    return int(children[0])


def stop(process: subprocess.Popen[bytes], signum: int, log: Path, *, group: bool) -> None:
    """SIGINT to the process group, as Ctrl-C in a terminal; or to the process alone, as a
    process manager does (runuser, on SIGTERM, would kill its child 2 s later by itself)."""
    if group:
        os.killpg(process.pid, signum)
    else:
        os.kill(devserver_pid(process), signum)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"devserver did not stop on {signal.Signals(signum).name}:\n{log.read_text()}")


def assert_no_cluster_left(log: Path) -> None:
    uid = unprivileged_user().pw_uid
    deadline = time.monotonic() + 10
    while (left := postgres_processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"PostgreSQL still running after devserver exited: {left}\n{log.read_text()}"


def test_devserver_runs_the_service_on_a_cluster_of_its_own_and_stops_it(
    service: Service, tmp_path: Path
) -> None:
    hand_over(service.project, unprivileged_user())
    log = tmp_path / "first.log"
    with devserver(service, log) as (process, port):
        wait_until_serving(process, port, log)
        status, content_type, body = get(f"http://127.0.0.1:{port}/api/v1/schema/")
        assert status == 200
        assert "openapi" in content_type, content_type
        assert b"/api/v1/users/me/" in body
        stop(process, signal.SIGINT, log, group=True)
    output = log.read_text()
    assert (service.project / ".pgdata" / "data" / "PG_VERSION").is_file(), output
    assert f"data in {service.project}/.pgdata/data" in output, output
    assert "delete .pgdata/" in output, output
    assert "Applying users.0001_initial... OK" in output, output
    assert "Traceback" not in output, output
    assert_no_cluster_left(log)

    log = tmp_path / "second.log"
    with devserver(service, log) as (process, port):
        wait_until_serving(process, port, log)
        stop(process, signal.SIGTERM, log, group=False)
    output = log.read_text()
    assert "No migrations to apply." in output, output
    assert "Traceback" not in output, output
    assert_no_cluster_left(log)


@pytest.mark.skipif(not IS_ROOT, reason="only root is refused by initdb")
def test_as_root_without_database_url_devserver_says_what_to_do(service: Service) -> None:
    path = f"{find_pg_bindir()}:/usr/bin:/bin"
    argv = devserver_argv(service, unused_port())
    result = run(argv, cwd=service.project, env=service.minimal_env(path))

    assert result.returncode != 0, transcript(result)
    line = _one_line_explanation(result.stdout + result.stderr, "DATABASE_URL", "root")
    assert "non-root" in line, line


def test_without_postgres_binaries_devserver_says_what_to_do(service: Service) -> None:
    if not _mount_namespaces_work():
        pytest.skip("cannot hide the PostgreSQL binaries: needs root and a mount namespace")
    user = unprivileged_user()
    hand_over(service.project, user)
    hidden = find_pg_bindir().parent.parent
    argv = [
        "unshare", "--mount", "--propagation", "private", "--",
        "sh", "-c", 'mount -t tmpfs tmpfs "$1" && shift && exec "$@"', "sh", str(hidden),
        *as_user(
            user.pw_name,
            service.minimal_env("/usr/bin:/bin"),
            devserver_argv(service, unused_port()),
        ),
    ]  # fmt: skip
    result = run(argv, cwd=service.project, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})

    assert result.returncode != 0, transcript(result)
    line = _one_line_explanation(result.stdout + result.stderr, "DATABASE_URL")
    assert "PostgreSQL" in line, line
    assert "root" not in line, f"the message blames root for missing binaries: {line}"
