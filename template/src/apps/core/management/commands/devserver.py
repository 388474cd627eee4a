"""`manage.py devserver`: migrate and serve, with a project-local PostgreSQL when needed.

With `DATABASE_URL` set (in the environment or `.env`) it migrates that database and runs
`runserver`. Without it, it starts a private cluster in `.pgdata/` (git-ignored) with the
PostgreSQL server binaries, as the tests do: created on first use, kept between runs (your
data stays), listening on 127.0.0.1 only with a generated password, and stopped again when
the server exits. A cluster already running there (another devserver) is reused and left
running. Delete `.pgdata/` while no devserver runs to start from an empty database.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import psycopg
from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import (
    Command as RunserverCommand,
)
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg import sql

# Set by Django's autoreloader in the child process that actually serves.
AUTORELOAD_CHILD = "RUN_MAIN"
START_TIMEOUT = 60  # seconds for pg_ctl to see the server accept connections
SUPERUSER = "dev"


def find_pg_bindir() -> Path | None:
    """pg_ctl's directory: on PATH, else the newest Debian/Ubuntu server package's."""
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


class LocalCluster:
    """A PostgreSQL cluster in `root`: data in `root/data`, its log in `root/server.log`."""

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root = root
        self.bindir = bindir
        self.data = root / "data"
        self.log = root / "server.log"
        self._password_file = root / "password"
        self._port_file = root / "port"

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  (fixed program, arguments built here)
            [str(self.bindir / "pg_ctl"), *args, "-D", str(self.data)],
            capture_output=True,
            text=True,
            check=False,
        )

    @property
    def password(self) -> str:
        return self._password_file.read_text().strip()

    @property
    def port(self) -> int:
        return int(self._port_file.read_text())

    def running(self) -> bool:
        return self.data.is_dir() and self._pg_ctl("status").returncode == 0

    def initialise(self) -> None:
        """initdb once: password authentication only, owner-only files."""
        self.root.mkdir(mode=0o700, exist_ok=True)
        self._password_file.write_text(secrets.token_urlsafe(24))
        self._password_file.chmod(0o600)
        result = subprocess.run(  # noqa: S603  (fixed program, arguments built here)
            [
                str(self.bindir / "initdb"),
                "--pgdata", str(self.data),
                "--username", SUPERUSER,
                "--pwfile", str(self._password_file),
                "--auth", "scram-sha-256",
                "--encoding", "UTF8",
                "--locale", "C.UTF-8",
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise CommandError(f"initdb failed: {result.stderr.strip()}")

    def start(self) -> None:
        """Start on the port used last time when it is still free, else on a free one."""
        port = self.port if self._port_file.exists() and _port_is_free(self.port) else None
        self._port_file.write_text(str(port or _free_port()))
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        result = self._pg_ctl(
            "start", "--wait", f"--timeout={START_TIMEOUT}", "-l", str(self.log), "-o", options
        )
        if result.returncode != 0:
            raise CommandError(
                f"PostgreSQL did not start ({result.stdout.strip()}); see {self.log}."
            )

    def stop(self) -> None:
        self._pg_ctl("stop", "--wait", "--mode=fast")

    def ensure_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if exists is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def url(self, database: str) -> str:
        return f"postgres://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _local_bindir() -> Path:
    """The server binaries' directory, or one line that says what to do instead."""
    bindir = find_pg_bindir()
    if bindir is None:
        raise CommandError(
            "No PostgreSQL server binaries (pg_ctl, initdb) found and DATABASE_URL is not set: "
            "install PostgreSQL 15+ or set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB in .env."
        )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise CommandError(
            "Running as root without DATABASE_URL: initdb refuses to run as root, so no local "
            "cluster can start. Run as a non-root user, or set "
            "DATABASE_URL=postgres://USER:PASSWORD@HOST/DB in .env."
        )
    return bindir


def _exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    # Unwind through `finally`, so the cluster this command started is stopped.
    raise SystemExit(128 + signum)


class Command(RunserverCommand):
    help = (
        "Migrates and runs the development server; without DATABASE_URL, on a PostgreSQL "
        "cluster of its own in .pgdata/. Takes runserver's arguments."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if os.environ.get(AUTORELOAD_CHILD):
            # The autoreloader's serving child: the parent set DATABASE_URL and migrated.
            super().handle(*args, **options)
            return
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        if os.environ.get("DATABASE_URL"):
            self._migrate_and_serve(*args, **options)
            return

        cluster = LocalCluster(Path(settings.BASE_DIR) / ".pgdata", _local_bindir())
        started_here = not cluster.running()
        if started_here:
            if not cluster.data.is_dir():
                cluster.initialise()
            cluster.start()
        try:
            name = str(settings.DATABASES["default"]["NAME"])
            cluster.ensure_database(name)
            # In-process for migrate, and inherited by the autoreloader's child.
            os.environ["DATABASE_URL"] = cluster.url(name)
            settings.DATABASES["default"].update(
                HOST="127.0.0.1", PORT=cluster.port, USER=SUPERUSER, PASSWORD=cluster.password
            )
            reused = "" if started_here else " (already running: left running on exit)"
            self.stdout.write(
                f"PostgreSQL for development on 127.0.0.1:{cluster.port}{reused}, data in "
                f"{cluster.data}, log in {cluster.log}. To start from an empty database, "
                "stop the server and delete .pgdata/."
            )
            self._migrate_and_serve(*args, **options)
        finally:
            if started_here:
                cluster.stop()

    def _migrate_and_serve(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
        super().handle(*args, **options)
