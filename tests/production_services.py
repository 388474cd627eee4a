"""Run a rendered service the way production does, on loopback only, for the slow tests.

- :func:`prod_env`: the environment `config.settings.prod` needs (tests/gates.py's
  ``prod_check_env``), on top of the harness's clean ``base_env()``.
- :func:`gunicorn`: `uv run gunicorn --config gunicorn.conf.py config.wsgi` bound to a free
  loopback port, one worker; waits until it answers, and always stops it (SIGTERM to the
  process group it started, SIGKILL after a grace period).
- :func:`collectstatic`: what the Dockerfile's build stage runs, into the render's
  staticfiles/, so whitenoise serves the admin and API docs assets as in the image.
- :func:`redis_server`: Debian's `redis-server` on a free loopback port, no persistence.
- :class:`SmtpSink`: a minimal SMTP server on loopback that keeps what it is sent, so a
  background task's mail can be seen arriving.
- :func:`http_request`: one plain HTTP/1.1 request to 127.0.0.1, no redirects followed.

Every process is started in its own session and stopped by its own process id/group.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates import find_uv, prod_check_env
from postgres import free_port

START_TIMEOUT = 60  # seconds for gunicorn or redis to answer
STOP_TIMEOUT = 20


def prod_env(
    project: Path, base: Mapping[str, str], database_url: str, **overrides: str
) -> dict[str, str]:
    """``base`` plus every variable prod requires; ``overrides`` win (a value of "" unsets).

    The harness plays the TLS-terminating proxy (it sends `X-Forwarded-Proto: https`), so
    one trusted proxy is configured; tests of a service without one override it with "0".
    """
    env = {
        **base,
        **prod_check_env(project, database_url),
        "UV_LOCKED": "1",
        "DJANGO_TRUSTED_PROXIES": "1",
    }
    for key, value in overrides.items():
        if value == "":
            env.pop(key, None)
        else:
            env[key] = value
    return env


def unused_port() -> int:
    """A loopback port nothing listens on (probed free, then released)."""
    return free_port()


# --------------------------------------------------------------------------- processes


def stop_group(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group this harness started (its leader is ``process``), then
    SIGKILL whatever is left of it after ``timeout``."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    # The leader may be gone while a child lingers (a gunicorn worker): end the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with code {process.returncode} before answering:\n"
                + log.read_text(errors="replace")
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT}s:\n"
        + log.read_text(errors="replace")
    )


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def gunicorn_argv(app: str = "config.wsgi") -> list[str]:
    return [str(find_uv()), "run", "gunicorn", "--config", "gunicorn.conf.py", app]


@contextlib.contextmanager
def background(
    argv: list[str], cwd: Path, env: Mapping[str, str], log_file: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` in its own session, output to ``log_file``; always stop its group."""
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        stop_group(process)


@contextlib.contextmanager
def gunicorn(
    project: Path, env: Mapping[str, str], log_dir: Path, app: str = "config.wsgi"
) -> Iterator[Server]:
    """Serve ``project`` with its gunicorn.conf.py on a free loopback port, one worker.

    ``app="config.asgi"`` with ``GUNICORN_WORKER_CLASS=asgi`` in ``env`` serves it over ASGI.
    """
    port = free_port()
    log_file = log_dir / f"gunicorn-{port}.log"
    run_dir = Path(tempfile.mkdtemp(prefix="gunicorn-run-", dir=log_dir))
    run_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        # observability=true: the master's metrics server, on loopback and a port of its own
        # (the default 0.0.0.0:9464 would clash between servers run side by side).
        "METRICS_BIND": env.get("METRICS_BIND") or f"127.0.0.1:{free_port()}",
        # gunicorn's control socket goes to $XDG_RUNTIME_DIR (else ~/.gunicorn/, shared by
        # every gunicorn of the user): one directory per server, never the user's home.
        "XDG_RUNTIME_DIR": str(run_dir),
    }
    with background(gunicorn_argv(app), project, run_env, log_file) as process:
        _wait_for_port(port, process, log_file, "gunicorn")
        server = Server(port, process, log_file)
        # An allowed Host, so the probe leaves no DisallowedHost error in the log.
        _wait_until_serving(
            server, env.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0] or "localhost"
        )
        yield server


def _wait_until_serving(server: Server, host: str) -> None:
    """The master binds before its worker has loaded Django: wait for a first answer."""
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with code {server.process.returncode}:\n{server.log()}"
            )
        try:
            http_request(server.port, "/healthz", {"Host": host}, timeout=5)
            return
        except (OSError, http.client.HTTPException) as error:
            last = error
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn never answered ({last}):\n{server.log()}")


def collectstatic(project: Path, env: Mapping[str, str]) -> str:
    """`manage.py collectstatic --noinput` with ``env`` (prod settings), as the image does."""
    argv = [str(find_uv()), "run", "python", "manage.py", "collectstatic", "--noinput"]
    result = run_to_exit(argv, project, env)
    if result.returncode:
        raise RuntimeError(f"collectstatic failed ({result.returncode}):\n{result.stdout}")
    return result.stdout


def run_to_exit(
    argv: list[str], project: Path, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command in its own process group; on timeout, end that group and fail."""
    process = subprocess.Popen(
        argv, cwd=project, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process, timeout=5)
        output, _ = process.communicate()
        raise RuntimeError(f"{' '.join(argv)} did not exit within {timeout}s:\n{output}") from None
    finally:
        if process.poll() is None:
            stop_group(process)
    return subprocess.CompletedProcess(argv, process.returncode, output, "")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private Redis on a free loopback port; yields its URL. Fails if Redis is missing."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        raise RuntimeError(
            "redis-server not found: install Debian's redis-server package "
            "(apt-get install -y redis-server); prod settings cache in Redis"
        )
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="harness-redis-"))
    log_file = workdir / "redis.log"
    try:
        argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                "--appendonly", "no", "--dir", str(workdir)]  # fmt: skip
        with background(argv, workdir, os.environ, log_file) as process:
            _wait_for_port(port, process, log_file, "redis-server")
            yield f"redis://127.0.0.1:{port}/0"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def http_request(
    port: int,
    path: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    timeout: float = 10,
) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, headers=dict(headers or {}))
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


# --------------------------------------------------------------------------- SMTP


@dataclass
class Message:
    sender: str
    recipients: list[str]
    data: str


@dataclass
class SmtpSink:
    """Enough of SMTP (RFC 5321, no TLS, no auth) for Django's SMTP backend to deliver."""

    port: int = 0
    messages: list[Message] = field(default_factory=list)
    _server: socketserver.ThreadingTCPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> SmtpSink:
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 harness-smtp ready")
                sender, recipients = "", []
                while line := self.rfile.readline():
                    command = line.decode(errors="replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb in {"EHLO", "HELO"}:
                        self.reply("250 harness-smtp")
                    elif verb == "MAIL":
                        sender, recipients = command.partition(":")[2].strip(), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.partition(":")[2].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while (data := self.rfile.readline()) not in {b".\r\n", b".\n", b""}:
                            lines.append(data.decode(errors="replace"))
                        sink.messages.append(Message(sender, recipients, "".join(lines)))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    elif verb in {"RSET", "NOOP"}:
                        self.reply("250 OK")
                    else:
                        self.reply("502 Command not implemented")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
