"""Slow: database connections and timeouts (apps.core.database) on a running deployment.

The default render served by gunicorn with `config.settings.prod` (one worker, four
threads) and psycopg's pool (`DJANGO_DB_POOL=true`: the default under ASGI; WSGI's default,
persistent connections, meets a restart in tests/test_api_errors_prod.py), a private
PostgreSQL and redis-server, all on loopback. The test
writes a settings module and two probe views into the render (never into the template):
`/api/v1/probe/sleep/?seconds=N` runs `pg_sleep(N)`, `/api/v1/probe/lock/` takes a row
lock, both through the service's own connection handling and DRF exception handler.

- A query that runs past the default statement timeout (10 s) is cut off by PostgreSQL and
  answers 503 problem+json `database_timeout` with `Retry-After`, after about 10 s, not
  gunicorn's 30 s; the same worker goes on serving. A lock wait past the default lock
  timeout (3 s) answers the same way.
- The pool bounds the connections: 8 concurrent requests through a pool of at most 2
  connections all succeed, and PostgreSQL never sees more than 2 from the service.
- Connections follow how the service runs: with `DJANGO_DB_POOL` unset, gunicorn's gthread
  worker (config.wsgi) keeps persistent connections, its ASGI worker (config.asgi) uses
  the pool, and a query past the statement timeout answers 503 there too.
- The pool survives a PostgreSQL restart: the connections it held are dead, yet every
  request after the restart answers 200 (each connection is checked before use), from the
  same gunicorn process.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, find_uv, run_gate
from postgres import Cluster, postgres_cluster, start_server, stop_server
from production_services import (
    Response,
    Server,
    collectstatic,
    gunicorn,
    http_request,
    prod_env,
    redis_server,
    run_to_exit,
)

pytestmark = pytest.mark.slow

HOST = "api.example.com"
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}
DATABASE = "timeouts"
POOL_MAX = 2

PROBE_SETTINGS = """\
# Test only, written by tests/test_database_timeouts.py: prod settings plus probe views.
from config.settings.prod import *  # noqa: F403

ROOT_URLCONF = "timeouts_probe_urls"
"""

PROBE_URLS = '''\
"""Test only, written by tests/test_database_timeouts.py: views that hold the database."""

from django.db import connection, transaction
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.users.models import User
from config.urls import urlpatterns as service_urlpatterns


class Sleep(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [float(request.GET["seconds"])])
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        return Response({"backend": backend, "pooled": connection.pool is not None})


class Lock(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        with transaction.atomic():
            user = User.objects.select_for_update().get(email="locked@example.com")
        return Response({"id": user.pk})


urlpatterns = [
    path("api/v1/probe/sleep/", Sleep.as_view()),
    path("api/v1/probe/lock/", Lock.as_view()),
    *service_urlpatterns,
]
'''


@dataclass
class Deployment:
    server: Server
    cluster: Cluster
    project: Path
    env: dict[str, str]
    directory: Path


def get(deployment: Deployment, path: str) -> Response:
    return http_request(deployment.server.port, path, PROXIED, timeout=60)


def timed_get(deployment: Deployment, path: str) -> tuple[Response, float]:
    started = time.monotonic()
    response = get(deployment, path)
    return response, time.monotonic() - started


def assert_database_timeout(response: Response, log: str) -> None:
    seen = f"{response.status} {response.header('Content-Type')} {response.body[:300]!r}"
    assert response.status == 503, f"{seen}\n{log[-3000:]}"
    assert response.header("Content-Type") == "application/problem+json", seen
    document = json.loads(response.body)
    assert document["code"] == "database_timeout", seen
    assert document["status"] == 503, seen
    assert "statement" not in document["detail"], seen  # no database internals leak
    assert int(response.header("Retry-After") or 0) > 0, seen


def service_connections(cluster: Cluster) -> int:
    """Client connections to the service's database, this query's own excluded."""
    return int(
        cluster.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            DATABASE,
        )
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("timeouts")
    project = render(directory / "svc", python_version=host_python())
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    (project / "src" / "config" / "settings" / "timeouts_probe.py").write_text(PROBE_SETTINGS)
    (project / "src" / "timeouts_probe_urls.py").write_text(PROBE_URLS)
    with redis_server() as redis_url, postgres_cluster() as cluster:
        env = prod_env(
            project,
            base_env(),
            cluster.create_database(DATABASE),
            REDIS_URL=redis_url,
            DJANGO_SETTINGS_MODULE="config.settings.timeouts_probe",
            GUNICORN_THREADS="4",
            DJANGO_DB_POOL_MAX_SIZE=str(POOL_MAX),
            # The timeouts are prod's defaults: the environment sets none of them.
            DJANGO_DB_STATEMENT_TIMEOUT_MS="",
            DJANGO_DB_LOCK_TIMEOUT_MS="",
            DJANGO_DB_POOL="true",
        )
        collectstatic(project, env)
        uv = str(find_uv())
        for argv in (
            [uv, "run", "python", "manage.py", "migrate", "--noinput"],
            [uv, "run", "python", "manage.py", "shell", "-c",
             "from apps.users.models import User; "
             "User.objects.create_user(email='locked@example.com', password=None)"],
        ):  # fmt: skip
            result = run_to_exit(argv, project, env, timeout=300)
            assert result.returncode == 0, result.stdout
        with gunicorn(project, env, directory) as server:
            yield Deployment(server, cluster, project, env, directory)


def test_a_query_past_the_statement_timeout_is_a_503_and_the_worker_serves_on(
    deployment: Deployment,
) -> None:
    server = deployment.server
    pid = server.process.pid
    assert get(deployment, "/api/v1/probe/sleep/?seconds=0").status == 200

    response, elapsed = timed_get(deployment, "/api/v1/probe/sleep/?seconds=40")

    assert_database_timeout(response, server.log())
    # Cut off by the database at 10 s (the default), long before gunicorn's 30 s timeout.
    print(f"statement timeout: 503 after {elapsed:.2f} s")
    assert 9.5 <= elapsed < 20, f"answered after {elapsed:.2f} s"
    served = get(deployment, "/api/v1/probe/sleep/?seconds=0")
    assert served.status == 200, served.body
    assert server.process.pid == pid
    assert server.process.poll() is None
    assert "WORKER TIMEOUT" not in server.log()
    assert "Internal Server Error" not in server.log()


def test_a_lock_wait_past_the_lock_timeout_is_a_503(deployment: Deployment) -> None:
    cluster = deployment.cluster
    # Another session takes the row lock and keeps its transaction open until told to commit.
    holder = subprocess.Popen(
        [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DATABASE],
        env=cluster.client_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert holder.stdin is not None
    try:
        holder.stdin.write(
            "BEGIN;\nSELECT 1 FROM users_user WHERE email = 'locked@example.com' FOR UPDATE;\n"
        )
        holder.stdin.flush()
        deadline = time.monotonic() + 10
        while cluster.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction'",
            DATABASE,
        ) == "0":  # fmt: skip
            assert time.monotonic() < deadline, "the lock holder never took its lock"
            time.sleep(0.1)

        response, elapsed = timed_get(deployment, "/api/v1/probe/lock/")

        assert_database_timeout(response, deployment.server.log())
        print(f"lock timeout: 503 after {elapsed:.2f} s")
        assert 2.5 <= elapsed < 10, f"answered after {elapsed:.2f} s"  # the default 3 s
    finally:
        holder.communicate("COMMIT;\n", timeout=30)  # releases the lock, then psql exits
    assert holder.returncode == 0
    assert get(deployment, "/api/v1/probe/lock/").status == 200


def test_the_pool_bounds_connections_and_survives_a_restart(deployment: Deployment) -> None:
    server, cluster = deployment.server, deployment.cluster
    pid = server.process.pid
    statuses: list[int] = []
    peak = 0

    def request() -> None:
        statuses.append(get(deployment, "/api/v1/probe/sleep/?seconds=0.5").status)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, service_connections(cluster))
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    print(f"pool: 8 concurrent requests, {peak} connections at most (max_size {POOL_MAX})")
    assert statuses == [200] * 8, (statuses, server.log()[-3000:])
    assert 1 <= peak <= POOL_MAX

    before = {json.loads(get(deployment, "/api/v1/probe/sleep/?seconds=0").body)["backend"]}
    stop_server(cluster)
    start_server(cluster)

    after: list[Response] = [
        get(deployment, "/api/v1/probe/sleep/?seconds=0") for _ in range(2 * POOL_MAX)
    ]
    seen = [(r.status, r.body[:200]) for r in after]
    assert all(r.status == 200 for r in after), f"{seen}\n{server.log()[-3000:]}"
    backends = {json.loads(r.body)["backend"] for r in after}
    assert not backends & before, "served by a connection from before the restart"
    assert server.process.pid == pid
    assert server.process.poll() is None
    assert "Internal Server Error" not in server.log()


@pytest.mark.parametrize(
    ("app", "worker_class", "pooled"),
    [("config.wsgi", "gthread", False), ("config.asgi", "asgi", True)],
)
def test_connections_follow_how_the_service_runs(
    deployment: Deployment, app: str, worker_class: str, pooled: bool
) -> None:
    env = {**deployment.env, "GUNICORN_WORKER_CLASS": worker_class}
    del env["DJANGO_DB_POOL"]  # the entry point decides

    with gunicorn(deployment.project, env, deployment.directory, app=app) as server:
        served = http_request(server.port, "/api/v1/probe/sleep/?seconds=0", PROXIED, timeout=60)
        assert served.status == 200, f"{served.body[:300]!r}\n{server.log()[-3000:]}"
        assert json.loads(served.body)["pooled"] is pooled
        if worker_class == "asgi":
            started = time.monotonic()
            cut = http_request(server.port, "/api/v1/probe/sleep/?seconds=40", PROXIED, timeout=60)
            elapsed = time.monotonic() - started
            assert_database_timeout(cut, server.log())
            print(f"statement timeout under ASGI: 503 after {elapsed:.2f} s")
            assert 9.5 <= elapsed < 20, f"answered after {elapsed:.2f} s"
        assert "Internal Server Error" not in server.log()
