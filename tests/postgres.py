"""A throwaway PostgreSQL cluster for the harness: the server the slow gates test against.

``postgres_cluster()`` runs ``initdb`` and ``pg_ctl`` in a fresh temporary directory, starts
a server on 127.0.0.1 (a free port; its unix socket stays inside that directory), creates a
superuser with a random password, yields a :class:`Cluster` with its ``DATABASE_URL``, and
always stops the server (``pg_ctl stop -m fast``) and removes the directory afterwards.

``initdb`` refuses to run as root, and this machine and its CI run as root: as root every
PostgreSQL command runs as the ``postgres`` OS user (``runuser -u postgres``) in a directory
owned by it. As any other user they run directly.

Test modules use the session fixture ``pg_cluster`` by importing it
(``from postgres import pg_cluster``); scripts use the context manager.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_OS_USER = "postgres"  # runs the server when the harness is root
SUPERUSER = "harness"
START_TIMEOUT = 60  # seconds
# A database the generated tests use gets Django's "test_" prefix, and PostgreSQL stops
# identifiers at 63 characters: 58 is the longest name a gated render can be given.
IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]{0,57}")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries, or a user allowed to run them, are missing."""


def find_pg_bindir() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: from PATH, else the newest Debian package."""
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    candidates = sorted(
        (path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda bindir: int(bindir.parent.name) if bindir.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under "
            "/usr/lib/postgresql/*/bin: install PostgreSQL 15+."
        )
    return candidates[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    bindir: Path
    root: Path  # temporary directory holding data/, the socket and the server log
    host: str
    port: int
    user: str
    password: str
    run_as: str | None  # OS user the server runs as, when the harness had to switch

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    @property
    def database_url(self) -> str:
        return self.url()

    def client_env(self) -> dict[str, str]:
        """Environment for libpq clients (psql, createdb) that reach this server over TCP."""
        return {
            **os.environ,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
        }

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command over TCP with the superuser's password; return its output."""
        result = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-d", database, "-c", sql],
            env=self.client_env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"psql {sql!r} failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL, so runs never share one."""
        if not IDENTIFIER_RE.fullmatch(name):
            raise ValueError(
                f"not a plain PostgreSQL identifier of at most 58 characters: {name!r}"
            )
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def server_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError as error:
            return f"(no server log: {error})"


def _as_server_user(run_as: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", run_as, "--", *argv] if run_as else argv


def _run(run_as: str | None, argv: list[str], what: str, cluster_log: Path | None = None) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
    }
    result = subprocess.run(
        _as_server_user(run_as, argv),
        env=env, capture_output=True, text=True, check=False, timeout=START_TIMEOUT + 30,
    )  # fmt: skip
    if result.returncode:
        log = ""
        if cluster_log is not None and cluster_log.exists():
            log = "\n--- server log ---\n" + cluster_log.read_text(errors="replace")
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{result.stdout}{result.stderr}{log}"
        )


def _stop(cluster: Cluster) -> None:
    """Stop the server fast; if pg_ctl cannot, kill the postmaster by its recorded pid."""
    pid_file = cluster.data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        _run(
            cluster.run_as,
            [str(cluster.bindir / "pg_ctl"), "stop", "-D", str(cluster.data_dir),
             "-m", "fast", "-w", "-t", "30"],
            "pg_ctl stop",
        )  # fmt: skip
    except (RuntimeError, subprocess.TimeoutExpired):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of the postmaster and children
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)


def stop_server(cluster: Cluster) -> None:
    """Stop a running cluster's server (an outage, for tests); start_server() brings it back."""
    _stop(cluster)


def start_server(cluster: Cluster) -> None:
    """Start the cluster's server on its own port and wait until it accepts connections."""
    options = " ".join(
        [
            "-c listen_addresses=127.0.0.1",
            f"-p {cluster.port}",
            f"-c unix_socket_directories={cluster.socket_dir}",
            # A throwaway cluster: durability buys nothing, speed does.
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
        ]
    )
    _run(
        cluster.run_as,
        [str(cluster.bindir / "pg_ctl"), "start", "-D", str(cluster.data_dir), "-w",
         "-t", str(START_TIMEOUT), "-l", str(cluster.log_file), "-o", options],
        "pg_ctl start",
        cluster.log_file,
    )  # fmt: skip


@contextlib.contextmanager
def postgres_cluster(parent: Path | None = None) -> Iterator[Cluster]:
    """Start a private PostgreSQL server; stop it and delete its files on exit, always."""
    bindir = find_pg_bindir()
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam(SERVER_OS_USER)
        except KeyError as error:
            raise PostgresUnavailable(
                f"running as root and there is no {SERVER_OS_USER!r} OS user to run initdb as"
            ) from error
        run_as = SERVER_OS_USER
    root = Path(tempfile.mkdtemp(prefix="harness-pg-", dir=parent))
    try:
        (root / "socket").mkdir()
        password = secrets.token_urlsafe(24)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        if run_as:
            for path in (root, root / "socket", pwfile):
                os.chown(path, server_user.pw_uid, server_user.pw_gid)
        # initdb needs its parent directory traversable by the server user; mkdtemp's
        # directories are 0700, owned by it from here on.
        root.chmod(0o700)
        _run(
            run_as,
            [str(bindir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER,
             f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            "initdb",
        )  # fmt: skip
        pwfile.unlink()
        last_error: Exception | None = None
        for _attempt in range(3):  # a free port can be taken between probe and bind
            cluster = Cluster(
                bindir=bindir, root=root, host="127.0.0.1", port=free_port(),
                user=SUPERUSER, password=password, run_as=run_as,
            )  # fmt: skip
            try:
                start_server(cluster)
            except RuntimeError as error:
                last_error = error
                _stop(cluster)
                continue
            break
        else:
            raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")
        try:
            yield cluster
        finally:
            _stop(cluster)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One PostgreSQL server for the whole session (per xdist worker); stopped at the end."""
    try:
        with postgres_cluster() as cluster:
            yield cluster
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)  # slow tests never skip: missing means broken
