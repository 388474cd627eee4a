"""Slow: the error contract under /api/ and the dependency-outage policy, on a real deployment.

The default render (session and JWT) served by gunicorn with `config.settings.prod`, a private
PostgreSQL and a private redis-server, all on loopback:

- every error under /api/ is `application/problem+json` with a stable `code`: an unknown
  route (404), a 5 MB body (413), a Host not in ALLOWED_HOSTS (400), an invalid JWT (401
  `token_not_valid` with a clean message, never a Python repr);
- Redis stopped mid-run: the API still answers (throttles fail open, docs/operations.md),
  never a 500 or an HTML page, and /readyz names the cache;
- PostgreSQL stopped: 503 problem+json `database_unavailable` with `Retry-After`, for data
  and for auth endpoints alike;
- both back: the same gunicorn process serves normally again, without a restart;
- what the schema calls invalid (an unknown ordering, an empty filter, a value of another
  JSON type, a form body) is a 400 or 415 problem, never silently taken.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, find_uv, run_gate
from postgres import Cluster, postgres_cluster, start_server, stop_server
from production_services import (
    Response,
    Server,
    background,
    collectstatic,
    gunicorn,
    http_request,
    prod_env,
    run_to_exit,
    unused_port,
)

pytestmark = pytest.mark.slow

HOST = "api.example.com"
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}
PROBLEM = "application/problem+json"
PASSWORD = secrets.token_urlsafe(16)
EMAIL = "owner@example.com"


class Redis:
    """redis-server on one fixed loopback port, stopped and started again by the test."""

    def __init__(self) -> None:
        self.port = unused_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="harness-redis-"))
        self._running: contextlib.ExitStack | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        stack = contextlib.ExitStack()
        log = self.workdir / "redis.log"
        process = stack.enter_context(
            background(argv, self.workdir, {"PATH": "/usr/bin:/bin"}, log)
        )
        self._running = stack
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "redis-server did not listen"
            time.sleep(0.1)

    def stop(self) -> None:
        """End the redis-server this object started (its own process group)."""
        if self._running is not None:
            self._running.close()
            self._running = None


def api(
    server: Server, path: str, method: str = "GET", body: bytes | None = None, **headers: str
) -> Response:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        all_headers = {**PROXIED, **headers}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        # The server may answer (413) and close before reading the whole body: read it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method, path, body=body, headers=all_headers)
        answer = connection.getresponse()
        return Response(answer.status, answer.headers, answer.read())
    finally:
        connection.close()


def problem(response: Response, status: int, code: str, log: str = "") -> dict[str, Any]:
    """Assert ``response`` is a problem document with ``status`` and ``code``; return it."""
    seen = f"{response.status} {response.header('Content-Type')} {response.body[:300]!r}"
    assert response.status == status, f"{seen}\n{log[-3000:]}"
    assert response.header("Content-Type") == PROBLEM, seen
    document = json.loads(response.body)
    assert document["status"] == status, seen
    assert document["code"] == code, seen
    assert isinstance(document["detail"], str), seen
    assert "ErrorDetail" not in document["detail"], seen
    assert "{" not in document["detail"], seen
    return document


def token(server: Server) -> Response:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    return api(server, "/api/v1/auth/token/", "POST", body)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Cluster, Redis]]:
    directory = tmp_path_factory.mktemp("api-errors")
    project = render(directory / "svc", api_auth="both", python_version=host_python())
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    redis = Redis()
    try:
        redis.start()
        with postgres_cluster() as cluster:
            env = prod_env(
                project, base_env(), cluster.create_database("api_errors"), REDIS_URL=redis.url
            )
            collectstatic(project, env)
            uv = str(find_uv())
            for argv in (
                [uv, "run", "python", "manage.py", "migrate", "--noinput"],
                [uv, "run", "python", "manage.py", "shell", "-c",
                 "from apps.users.models import User; "
                 f"User.objects.create_user(email={EMAIL!r}, password={PASSWORD!r})"],
            ):  # fmt: skip
                result = run_to_exit(argv, project, env, timeout=300)
                assert result.returncode == 0, result.stdout
            with gunicorn(project, env, directory) as server:
                yield server, cluster, redis
    finally:
        redis.stop()
        shutil.rmtree(redis.workdir, ignore_errors=True)


def test_errors_under_api_are_problem_documents(
    deployment: tuple[Server, Cluster, Redis],
) -> None:
    server, _, _ = deployment

    problem(api(server, "/api/v1/nope/"), 404, "not_found", server.log())
    # The token endpoint reads the body of anyone's request: no credentials needed to send one.
    big = b'{"email": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    problem(api(server, "/api/v1/auth/token/", "POST", big), 413, "request_too_large")
    problem(api(server, "/api/v1/catalog/products/", Host="evil.example.net"), 400, "invalid_host")
    bad_jwt = api(server, "/api/v1/catalog/products/", Authorization="Bearer not.a.token")
    document = problem(bad_jwt, 401, "token_not_valid")
    assert document["detail"] == "Given token not valid for any token type"
    # Outside /api/, Django's own pages stay.
    page = http_request(server.port, "/no-such-page/", PROXIED)
    assert page.status == 404
    assert "problem+json" not in (page.header("Content-Type") or "")


def test_what_the_schema_calls_invalid_is_refused_not_ignored(
    deployment: tuple[Server, Cluster, Redis],
) -> None:
    # What the outside schemathesis run (bench/outside_fuzz) found answered 200/201: an
    # unknown ordering, an empty filter, a number for a text field, a string for an id.
    server, _, _ = deployment
    bearer = {"Authorization": f"Bearer {json.loads(token(server).body)['access']}"}
    products = "/api/v1/catalog/products/"

    for query, field, code in [
        ("?ordering=owner__password", "ordering", "invalid_ordering"),
        ("?ordering=name%00", "ordering", "invalid_ordering"),
        ("?min_price=", "min_price", "blank"),
    ]:
        document = problem(api(server, products + query, **bearer), 400, "validation_error")
        assert document["errors"][field][0]["code"] == code, query
    body = json.dumps({"name": 0, "category": "1", "price": "9.50"}).encode()
    document = problem(api(server, products, "POST", body, **bearer), 400, "validation_error")
    assert {field: errors[0]["code"] for field, errors in document["errors"].items()} == {
        "name": "invalid",
        "category": "invalid",
    }
    form = api(server, products, "POST", b"name=Mug", **bearer,
               **{"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    problem(form, 415, "unsupported_media_type")


def test_outages_answer_in_the_contract_and_recover_without_a_restart(
    deployment: tuple[Server, Cluster, Redis],
) -> None:
    server, cluster, redis = deployment
    pid = server.process.pid
    access = json.loads(token(server).body)["access"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert api(server, "/api/v1/catalog/products/", **bearer).status == 200

    # The cache goes away: throttled requests are still served, and fast.
    redis.stop()
    started = time.monotonic()
    for _ in range(5):
        served = api(server, "/api/v1/catalog/products/", **bearer)
        assert served.status == 200, (
            f"{served.status} {served.body[:300]!r}\n{server.log()[-3000:]}"
        )
    assert (time.monotonic() - started) / 5 < 2.5, "a cache outage slows every request"
    assert token(server).status == 200
    problem(api(server, "/api/v1/nope/"), 404, "not_found")
    ready = http_request(server.port, "/readyz", PROXIED)
    assert ready.status == 503
    assert json.loads(ready.body)["checks"] == {"database": True, "cache": False}

    # The database goes away too: 503 problem documents with Retry-After, auth included.
    stop_server(cluster)
    try:
        for response in (
            api(server, "/api/v1/catalog/products/", **bearer),
            api(server, "/api/v1/users/me/", **bearer),
            token(server),
        ):
            document = problem(response, 503, "database_unavailable", server.log())
            assert response.header("Retry-After") == "5", document
    finally:
        start_server(cluster)

    # Both back: the same gunicorn process serves again.
    redis.start()
    deadline = time.monotonic() + 30
    while http_request(server.port, "/readyz", PROXIED).status != 200:
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.5)
    assert api(server, "/api/v1/catalog/products/", **bearer).status == 200
    assert token(server).status == 200
    assert server.process.pid == pid
    assert server.process.poll() is None
    assert "Internal Server Error" not in server.log()
