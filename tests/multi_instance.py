"""Several instances of one rendered service behind a load balancer, on loopback only.

Used by tests/test_multi_instance.py (slow) and bench/bench_multi_instance.py:

- :class:`Instance`: one gunicorn (the render's gunicorn.conf.py, prod settings) on a fixed
  loopback port, so that it can be stopped with SIGTERM and started again on the same port,
  as a replaced pod comes back behind the same Service;
- :class:`HAProxy`: Debian's haproxy in front, round-robin over the instances, health-checking
  `/readyz`, setting `X-Forwarded-Proto: https` and `X-Forwarded-For` (overwriting what the
  client sent: it is the one proxy `DJANGO_TRUSTED_PROXIES=1` trusts), retrying idempotent
  requests only, with its runtime API on a unix socket to drain and re-enable a server.
  One extra frontend per instance reaches that instance alone, through the same proxying,
  so a test can say "through A" and "through B";
- :class:`Loader`: threads sending requests through the load balancer until stopped, counting
  every request, failure (no answer or a status other than the expected one) and latency;
- :func:`rolling_restart`: for each instance in turn, drain it, SIGTERM it, wait until it
  is gone, start it again, wait until the balancer sees it healthy.

Every process is started in its own session and stopped by its own process id/group.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postgres import free_port
from production_services import run_to_exit, stop_group

# gunicorn's graceful_timeout is 30 s: a stop waits that long before SIGKILL.
GRACEFUL_STOP_SECONDS = 40

LOAD_USERS = 40  # the `user` throttle rate is per user: spread the load so none reaches it
PRODUCT_LIST = "/api/v1/catalog/products/"
START_TIMEOUT = 120  # seconds: two Django workers booting on a busy 2-core machine
HAPROXY = "/usr/sbin/haproxy"
HOST = "api.example.com"


def _wait(
    predicate: Callable[[], bool], timeout: float, what: str, detail: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} within {timeout}s:\n{detail()}")


def get(port: int, path: str, headers: Mapping[str, str] | None = None) -> int:
    """Status of one GET to 127.0.0.1:port (0 when nothing answers)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


# --------------------------------------------------------------------------- data

SEED_SCRIPT = """
import json
from apps.catalog.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User

category = CategoryFactory(slug="harness")
if not category.products.exists():
    ProductFactory.create_batch(30, category=category, published=True)
for index in range({users}):
    User.objects.get_or_create(email=f"load-{{index}}@example.com")
owner, created = User.objects.get_or_create(email="owner@example.com")
if created:
    owner.set_password("A-long-harness-passphrase-1")
    owner.save()
draft = ProductFactory(owner=owner, category=category, name="Blue Mug")
print("SEED " + json.dumps({{"draft": draft.pk, "category": category.pk}}))
"""

# Access tokens live 5 minutes (SIMPLE_JWT): each load gets fresh ones.
TOKENS_SCRIPT = """
import json
from apps.users.models import User
from rest_framework_simplejwt.tokens import RefreshToken

users = User.objects.filter(email__startswith="load-").order_by("pk")
print("TOKENS " + json.dumps([str(RefreshToken.for_user(user).access_token) for user in users]))
"""


def manage(project: Path, env: Mapping[str, str], *args: str, timeout: float = 120) -> str:
    """`manage.py ARGS` with the render's own Python; its output, or RuntimeError."""
    argv = [str(project / ".venv" / "bin" / "python"), "manage.py", *args]
    result = run_to_exit(argv, project, env, timeout=timeout)
    if result.returncode:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}"
        )
    return result.stdout


def seed(project: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """30 published products, the load users, an owner with a draft product."""
    output = manage(project, env, "shell", "-c", SEED_SCRIPT.format(users=LOAD_USERS))
    return dict(json.loads(output.split("SEED ", 1)[1]))


def load_headers(project: Path, env: Mapping[str, str]) -> list[dict[str, str]]:
    """A fresh access token for each load user, as Authorization headers."""
    output = manage(project, env, "shell", "-c", TOKENS_SCRIPT)
    tokens = json.loads(output.split("TOKENS ", 1)[1])
    if len(tokens) != LOAD_USERS:
        raise RuntimeError(f"{len(tokens)} load users, expected {LOAD_USERS}: seed first")
    return [{"Authorization": f"Bearer {token}"} for token in tokens]


# --------------------------------------------------------------------------- gunicorn


@dataclass
class Instance:
    """One gunicorn of ``project`` on 127.0.0.1:``port`` (two gthread workers)."""

    name: str
    project: Path
    env: Mapping[str, str]
    log_file: Path
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)  # observability=true serves metrics
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        run_dir = self.log_file.parent / f"run-{self.name}"
        run_dir.mkdir(exist_ok=True)
        env = {
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            # As deploy/k8s's ConfigMap: with one worker, the instance stops accepting while
            # that worker is replaced (max_requests), and round-robin recycles both together.
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "4",
            "METRICS_BIND": f"127.0.0.1:{self.metrics_port}",
            "XDG_RUNTIME_DIR": str(run_dir),
        }
        gunicorn = self.project / ".venv" / "bin" / "gunicorn"
        with self.log_file.open("ab") as log:
            # gunicorn itself, not `uv run`: SIGTERM must reach the master, as in a pod.
            self.process = subprocess.Popen(
                [str(gunicorn), "--config", "gunicorn.conf.py", "config.wsgi"],
                cwd=self.project, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        self.starts += 1
        _wait(self._serving, START_TIMEOUT, f"gunicorn {self.name} did not serve", self.log)

    def _serving(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"gunicorn {self.name} exited:\n{self.log()}")
        return get(self.port, "/healthz") == 200

    def terminate(self) -> float:
        """SIGTERM the master (graceful: in-flight requests finish); seconds until it exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(45)  # graceful_timeout is 30
        stop_group(
            self.process, timeout=GRACEFUL_STOP_SECONDS
        )  # nothing of it may linger on the port
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, timeout=GRACEFUL_STOP_SECONDS)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-6000:]


# --------------------------------------------------------------------------- HAProxy


HAPROXY_CONFIG = """\
global
    stats socket {socket} mode 600 level admin
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s
    option http-buffer-request
    # A request that never reached a server (refused connection) goes to another one; an
    # idempotent request whose server closed without answering is retried. A write is never
    # sent twice: layer-7 retries are off for every method but GET and HEAD.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # As the pods' readiness probe: a check may take 3 s (a busy instance answers /readyz
    # after the requests queued before it), two failures in a row take a server out.
    timeout check 3s
    default-server inter 1s fall 2 rise 1

frontend lb
    bind 127.0.0.1:{lb_port}
{proxying}
    default_backend web
{instance_frontends}
backend web
    balance roundrobin
{health}
{servers}
{instance_backends}
"""

PROXYING = """\
    http-request disable-l7-retry unless METH_GET
    # TLS ends here: the one proxy hop the service trusts sets both headers itself.
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-For %[src]"""

HEALTH = f"""\
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host {HOST}
    http-check expect status 200"""


@dataclass
class HAProxy:
    instances: Sequence[Instance]
    workdir: Path
    lb_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=dict)  # a frontend per instance
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.workdir / "haproxy.sock"

    def config(self) -> str:
        self.ports = {instance.name: free_port() for instance in self.instances}
        frontends, backends = [], []
        for instance in self.instances:
            frontends.append(
                f"\nfrontend only_{instance.name}\n    bind 127.0.0.1:{self.ports[instance.name]}\n"
                f"{PROXYING}\n    default_backend only_{instance.name}\n"
            )
            backends.append(
                f"\nbackend only_{instance.name}\n{HEALTH}\n"
                f"    server {instance.name} 127.0.0.1:{instance.port} check\n"
            )
        return HAPROXY_CONFIG.format(
            socket=self.socket_path,
            lb_port=self.lb_port,
            proxying=PROXYING,
            instance_frontends="".join(frontends),
            health=HEALTH,
            servers="\n".join(
                f"    server {i.name} 127.0.0.1:{i.port} check" for i in self.instances
            ),
            instance_backends="".join(backends),
        )

    def start(self) -> None:
        if not Path(HAPROXY).exists():
            raise RuntimeError("haproxy not found: apt-get install -y haproxy (Debian's package)")
        config = self.workdir / "haproxy.cfg"
        config.write_text(self.config())
        check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"haproxy refused its configuration:\n{check.stdout}{check.stderr}")
        log_file = self.workdir / "haproxy.log"
        with log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(config)], cwd=self.workdir, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        _wait(self._listening, START_TIMEOUT, "haproxy opened no runtime API socket", self.log)
        for instance in self.instances:
            self.wait_status(instance.name, "UP")

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"haproxy exited:\n{self.log()}")
        return self.socket_path.exists()

    def log(self) -> str:
        return (self.workdir / "haproxy.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, timeout=10)

    def command(self, line: str) -> str:
        """One runtime API command (HAProxy management guide, "Unix Socket commands")."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stat(self, server: str, backend: str = "web") -> dict[str, str]:
        rows = csv.DictReader(io.StringIO(self.command("show stat").lstrip("# ")))
        for row in rows:
            if row["pxname"] == backend and row["svname"] == server:
                return row
        raise KeyError(f"{backend}/{server} not in HAProxy's stats")

    def set_state(self, server: str, state: str) -> None:
        answer = self.command(f"set server web/{server} state {state}").strip()
        if answer:
            raise RuntimeError(f"haproxy: set server web/{server} state {state}: {answer}")

    def wait_status(self, server: str, status: str, timeout: float = START_TIMEOUT) -> None:
        _wait(
            lambda: self.stat(server)["status"] == status,
            timeout,
            f"haproxy never saw web/{server} {status}",
            lambda: str(self.stat(server)),
        )

    def wait_idle(self, server: str, timeout: float = 35) -> None:
        """Until the drained server has no request in flight (the preStop pause's job)."""
        _wait(
            lambda: self.stat(server)["scur"] == "0",
            timeout,
            f"web/{server} still had requests in flight",
            lambda: str(self.stat(server)),
        )


def rolling_restart(
    haproxy: HAProxy, instances: Sequence[Instance], drain: bool = True
) -> list[dict[str, Any]]:
    """Each instance in turn: (drain,) SIGTERM, wait until it is gone, start, wait until UP."""
    steps = []
    for instance in instances:
        if drain:
            haproxy.set_state(instance.name, "drain")
            haproxy.wait_idle(instance.name)
        seconds = instance.terminate()
        instance.start()
        if drain:
            haproxy.set_state(instance.name, "ready")
        haproxy.wait_status(instance.name, "UP")
        steps.append({"instance": instance.name, "shutdown_seconds": round(seconds, 2)})
    return steps


@contextlib.contextmanager
def balanced(instances: Sequence[Instance], workdir: Path) -> Iterator[HAProxy]:
    """Start every instance and HAProxy in front; always stop them all."""
    haproxy = HAProxy(instances, workdir)
    try:
        for instance in instances:
            instance.start()
        haproxy.start()
        yield haproxy
    finally:
        haproxy.stop()
        for instance in instances:
            instance.stop()


# --------------------------------------------------------------------------- load


@dataclass
class Loader:
    """``concurrency`` threads sending GET ``path`` through 127.0.0.1:``port`` until stopped,
    each on its own keep-alive connection; ``headers`` are used in turn (one per user, so
    that no user reaches its throttle rate)."""

    port: int
    path: str
    headers: Sequence[Mapping[str, str]]
    concurrency: int = 8
    expect: int = 200
    pause: float = 0.0  # seconds each thread waits between requests (a steady, not maximal, load)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sent(self) -> int:
        return len(self.latencies) + len(self.failures)

    def _run(self, index: int) -> None:
        headers = {"Host": HOST, **self.headers[index % len(self.headers)]}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status != self.expect:
                    raise RuntimeError(f"status {response.status}: {body[:200]!r}")
            except (OSError, http.client.HTTPException, RuntimeError) as error:
                with self._lock:
                    self.failures.append(f"{time.strftime('%X')} {type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self._stop.wait(self.pause)  # a failing target is not hammered
                continue
            with self._lock:
                self.latencies.append(time.perf_counter() - started)
            if self.pause:
                self._stop.wait(self.pause)
        connection.close()

    def __enter__(self) -> Loader:
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(35)

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def percentile(p: float) -> float:
            if not ordered:
                return float("nan")
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

        return {
            "requests": self.sent,
            "failed": len(self.failures),
            "requests_per_second": round(self.sent / seconds, 1),
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
        }
