"""Throwaway servers on loopback: PostgreSQL, Redis and gunicorn, stopped by their pids."""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .common import free_port, log, run


def stop_process(proc: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    """SIGTERM the process we started, then SIGKILL its own process group if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing its process group")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own group: started with a new session
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Postgres:
    bindir: Path
    root: Path
    port: int
    user: str
    password: str
    run_as: str | None

    @property
    def postmaster_pid(self) -> int:
        return int((self.root / "data" / "postmaster.pid").read_text().splitlines()[0])

    def url(self, database: str) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        env = {**os.environ, "PGPASSWORD": self.password}
        return run(
            [str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
             "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
            env=env, what="psql",
        ).strip()  # fmt: skip


def find_pg_bindir() -> Path:
    candidates = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found: install 15+")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """initdb + pg_ctl start on 127.0.0.1 in a temp dir; always pg_ctl stop and delete it."""
    bindir = find_pg_bindir()
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    pg = Postgres(bindir, root, free_port(), "bench", secrets.token_urlsafe(18), run_as)

    def as_server(argv: list[str]) -> list[str]:
        return ["runuser", "-u", run_as, "--", *argv] if run_as else argv

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    pid_file = root / "data" / "postmaster.pid"
    try:
        pwfile = root / "pwfile"
        pwfile.write_text(pg.password + "\n")
        (root / "socket").mkdir()
        if run_as:
            server_user = pwd.getpwnam(run_as)
            for path in (root, root / "socket", pwfile):
                os.chown(path, server_user.pw_uid, server_user.pw_gid)
        run(as_server([str(bindir / "initdb"), "-D", str(root / "data"), "-U", pg.user,
                       f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync"]), env=env, what="initdb")  # fmt: skip
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {pg.port} -c unix_socket_directories={root}/socket"
            # A throwaway cluster: durability only slows the seeding; reads are unaffected.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(as_server([str(bindir / "pg_ctl"), "start", "-D", str(root / "data"), "-w", "-t",
                       "60", "-l", str(root / "server.log"), "-o", options]),
            env=env, what="pg_ctl start")  # fmt: skip
        yield pg
    finally:
        if pid_file.exists():  # also after a start that timed out half-way
            try:
                stop = [str(bindir / "pg_ctl"), "stop", "-D", str(root / "data"), "-m", "fast"]
                run(as_server([*stop, "-w", "-t", "30"]), env=env, what="pg_ctl stop")
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                log(f"pg_ctl stop failed ({error}); SIGQUIT to the postmaster")
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGQUIT)
                    time.sleep(2)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """A throwaway Redis on 127.0.0.1, no persistence; stopped by its pid on exit."""
    port = free_port()
    binary = shutil.which("redis-server")
    assert binary
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        stop_process(proc, "redis-server")


# --------------------------------------------------------------------------- gunicorn


@contextlib.contextmanager
def gunicorn(
    service: Path, env: dict[str, str], args: argparse.Namespace
) -> Iterator[tuple[str, int]]:
    """The render's own gunicorn.conf.py (access log, keep-alive, worker recycling), with
    the bind address, worker class and pool size set here."""
    port = free_port()
    argv = [str(service / ".venv" / "bin" / "gunicorn"), "config.wsgi:application"]
    if (service / "gunicorn.conf.py").exists():
        argv += ["--config", "gunicorn.conf.py"]
    argv += ["--pythonpath", "src", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
             "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    if args.no_recycle:
        argv += ["--max-requests", "0"]
    logfile = service.parent / "gunicorn.log"
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=service, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{base}/healthz", timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{logfile.read_text()[-4000:]}")
            time.sleep(0.2)
        log(f"gunicorn pid {proc.pid} serving {base}: {' '.join(argv[1:])}")
        yield base, proc.pid
    finally:
        stop_process(proc, "gunicorn")
