"""Slow: two instances of one render behave as one service (tests/multi_instance.py).

One render with the default answers, prod settings, two gunicorn instances (A, B) behind
HAProxy on loopback (round-robin, `/readyz` health checks, `X-Forwarded-Proto: https` and
`X-Forwarded-For` set by the proxy, `DJANGO_TRUSTED_PROXIES=1`), one PostgreSQL, one Redis,
one `db_worker`, an SMTP sink:

- a session created through A is honoured through B, and a log-out through B ends it for A;
- a JWT refresh token blacklisted through A is refused through B;
- the `auth` throttle counts requests through A and B together (the rate holds in total);
- a task queued through A (publishing a product) is run by the worker: its mail arrives;
- rolling restart under load: drain A at the balancer, SIGTERM it, wait until it exited,
  start it, wait until the balancer sees it healthy, then B; and once more without the
  drain (SIGTERM alone, the balancer's health checks and retries of idempotent requests):
  every request answered 200;
- an additive migration applied while both instances serve under load: every request
  answered 200, and the migration recorded.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, run_gate
from multi_instance import (
    HOST,
    PRODUCT_LIST,
    HAProxy,
    Instance,
    Loader,
    balanced,
    load_headers,
    manage,
    rolling_restart,
    seed,
)
from postgres import Cluster, pg_cluster
from production_services import SmtpSink, background, prod_env, redis_server

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

# A steady load, not the most the machine can take: the instances must boot beside it.
LOAD = {"concurrency": 8, "pause": 0.05}

ADDITIVE_MIGRATION = '''\
"""Harness only: an additive change applied while the service serves."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "{previous}")]

    operations = [
        # db_default: rows the running (older) code inserts get the value from PostgreSQL.
        migrations.AddField(
            model_name="product",
            name="harness_note",
            field=models.TextField(blank=True, default="", db_default=""),
        ),
    ]
'''


NOTE_SCRIPT = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT harness_note FROM catalog_product WHERE id = %s", [{id}])
    print("NOTE", repr(cursor.fetchone()[0]))
"""


@dataclass
class Stack:
    project: Path
    env: dict[str, str]
    haproxy: HAProxy
    instances: list[Instance]
    redis_url: str
    smtp: SmtpSink
    seed: dict[str, Any]

    def manage(self, *args: str, timeout: float = 120) -> str:
        try:
            return manage(self.project, self.env, *args, timeout=timeout)
        except RuntimeError as error:
            pytest.fail(str(error), pytrace=False)

    def auth_headers(self) -> list[dict[str, str]]:
        return load_headers(self.project, self.env)

    def via(self, name: str) -> int:
        """The balancer's port that reaches instance ``name`` alone."""
        return self.haproxy.ports[name]

    def flush_cache(self) -> None:
        subprocess.run(
            ["redis-cli", "-u", self.redis_url, "flushdb"], check=True, capture_output=True
        )

    def logs(self) -> str:
        return "\n".join(f"--- {i.name}\n{i.log()}" for i in self.instances)


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], http.client.HTTPMessage]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        sent = {"Host": HOST, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        try:
            payload = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            payload = {"raw": raw[:300].decode(errors="replace")}
        return response.status, payload, response.headers
    finally:
        connection.close()


@pytest.fixture(scope="module")
def stack(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("multi")
    project = render(workdir / "svc", python_version=host_python())
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    with redis_server() as redis_url, SmtpSink() as smtp:
        env = prod_env(
            project,
            base_env(),
            pg_cluster.create_database("multi_instance"),
            REDIS_URL=redis_url,
            DJANGO_TRUSTED_PROXIES="1",
            DJANGO_SMTP_HOST="127.0.0.1",
            DJANGO_SMTP_PORT=str(smtp.port),
            DJANGO_SMTP_USE_TLS="false",
        )
        manage(project, env, "migrate", "--noinput")
        seeded = seed(project, env)
        instances = [
            Instance(name, project, env, workdir / f"gunicorn-{name}.log") for name in ("a", "b")
        ]
        worker_argv = [str(project / ".venv/bin/python"), "manage.py", "db_worker"]
        with (
            background(worker_argv, project, env, workdir / "worker.log"),
            balanced(instances, workdir) as haproxy,
        ):
            yield Stack(project, env, haproxy, instances, redis_url, smtp, seeded)


# --------------------------------------------------------------------------- shared state


def test_a_session_created_through_a_works_through_b(stack: Stack) -> None:
    a, b = stack.via("a"), stack.via("b")
    status, body, headers = request(a, "GET", "/api/v1/auth/csrf/")
    assert status == 200, body
    csrf_cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", ""))
    assert csrf_cookie, headers
    secure = {"Origin": f"https://{HOST}", "Referer": f"https://{HOST}/"}
    cookie = f"csrftoken={csrf_cookie[1]}"
    status, body, headers = request(
        a, "POST", "/api/v1/auth/session/login/",
        {"email": "owner@example.com", "password": "A-long-harness-passphrase-1"},
        {**secure, "Cookie": cookie, "X-CSRFToken": body["csrf_token"]},
    )  # fmt: skip
    assert status == 200, body
    session = re.search(r"sessionid=([^;]+)", ", ".join(headers.get_all("Set-Cookie") or []))
    assert session, headers
    new_csrf = re.search(r"csrftoken=([^;]+)", ", ".join(headers.get_all("Set-Cookie") or []))
    cookies = f"sessionid={session[1]}; csrftoken={(new_csrf or csrf_cookie)[1]}"

    status, body, _ = request(b, "GET", "/api/v1/users/me/", headers={"Cookie": cookies})
    assert status == 200, body
    assert body["email"] == "owner@example.com"

    token = (new_csrf or csrf_cookie)[1]
    status, body, _ = request(
        b, "POST", "/api/v1/auth/session/logout/", None,
        {**secure, "Cookie": cookies, "X-CSRFToken": token},
    )  # fmt: skip
    assert status == 204, body
    status, _, _ = request(a, "GET", "/api/v1/users/me/", headers={"Cookie": cookies})
    assert status in {401, 403}, "the session logged out through B still works through A"


def test_a_refresh_token_blacklisted_through_a_is_refused_through_b(stack: Stack) -> None:
    stack.flush_cache()  # the throttle counters of earlier tests
    a, b = stack.via("a"), stack.via("b")
    credentials = {"email": "owner@example.com", "password": "A-long-harness-passphrase-1"}
    status, pair, _ = request(a, "POST", "/api/v1/auth/token/", credentials)
    assert status == 200, pair
    status, refreshed, _ = request(
        b, "POST", "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}
    )
    assert status == 200, refreshed
    current = refreshed["refresh"]  # rotation: B blacklisted the first one already
    status, body, _ = request(a, "POST", "/api/v1/auth/token/blacklist/", {"refresh": current})
    assert status == 200, body
    status, body, _ = request(b, "POST", "/api/v1/auth/token/refresh/", {"refresh": current})
    assert status == 401, body
    status, body, _ = request(
        b, "POST", "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}
    )
    assert status == 401, body


def test_the_auth_throttle_counts_across_instances(stack: Stack) -> None:
    stack.flush_cache()
    rate = int(
        stack.manage(
            "shell", "-c",
            "from django.conf import settings;"
            "print('RATE', settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['auth'])",
        ).split("RATE ", 1)[1].split("/")[0]
    )  # fmt: skip
    statuses = []
    for attempt in range(rate + 4):
        port = stack.via("a" if attempt % 2 == 0 else "b")
        status, _, _ = request(port, "POST", "/api/v1/auth/token/refresh/", {"refresh": "x"})
        statuses.append(status)
    # A per-instance counter would allow 2 x rate before the first 429.
    assert statuses[:rate] == [401] * rate, statuses
    assert statuses[rate:] == [429] * 4, statuses


def test_a_task_queued_through_a_is_run_by_the_worker(stack: Stack) -> None:
    token = stack.manage(
        "shell", "-c",
        "from apps.users.models import User;"
        "from rest_framework_simplejwt.tokens import RefreshToken;"
        "print('TOKEN', RefreshToken.for_user(User.objects.get(email='owner@example.com'))"
        ".access_token)",
    ).split("TOKEN ", 1)[1].strip()  # fmt: skip
    path = f"/api/v1/catalog/products/{stack.seed['draft']}/publish/"
    status, body, _ = request(
        stack.via("a"), "POST", path, None, {"Authorization": f"Bearer {token}"}
    )
    assert status == 200, body
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stack.smtp.messages:
        time.sleep(0.5)
    assert [m.recipients for m in stack.smtp.messages] == [["owner@example.com"]]
    assert "Blue Mug" in stack.smtp.messages[0].data


# --------------------------------------------------------------------------- under load


@pytest.mark.parametrize("drain", [True, False], ids=["drained", "sigterm-only"])
def test_rolling_restart_under_load_fails_no_request(
    stack: Stack, drain: bool, record_property: Any
) -> None:
    lb = stack.haproxy.lb_port
    with Loader(lb, PRODUCT_LIST, stack.auth_headers(), **LOAD) as loader:
        time.sleep(2)
        before = loader.sent
        started = time.monotonic()
        steps = rolling_restart(stack.haproxy, stack.instances, drain=drain)
        time.sleep(2)
        seconds = time.monotonic() - started
    summary = loader.summary(seconds + 4)
    record_property("rolling_restart", {"drain": drain, **summary, "steps": steps})
    print(f"rolling restart (drain={drain}): {summary} {steps}")
    assert before > 0, "the loader sent nothing before the restart"
    assert all(instance.starts >= 2 for instance in stack.instances)
    assert loader.sent > before + 50, f"too little load during the restart: {summary}"
    assert not loader.failures, (
        f"{len(loader.failures)} of {loader.sent} requests failed:\n"
        + "\n".join(loader.failures[:20])
        + "\n"
        + stack.logs()
    )


def test_an_additive_migration_while_serving_fails_no_request(stack: Stack) -> None:
    migrations = stack.project / "src" / "apps" / "catalog" / "migrations"
    previous = sorted(p.stem for p in migrations.glob("0*.py"))[-1]
    (migrations / "9000_harness_additive.py").write_text(
        ADDITIVE_MIGRATION.format(previous=previous)
    )
    with Loader(stack.haproxy.lb_port, PRODUCT_LIST, stack.auth_headers(), **LOAD) as loader:
        time.sleep(2)
        before = loader.sent
        output = stack.manage("migrate", "--noinput", "catalog")
        time.sleep(2)
    assert "Applying catalog.9000_harness_additive... OK" in output, output
    assert loader.sent > before, "the loader sent nothing while migrating"
    assert not loader.failures, (
        f"{len(loader.failures)} of {loader.sent} requests failed:\n"
        + "\n".join(loader.failures[:20])
    )
    # The running code, which knows nothing of the new column, still inserts products:
    # PostgreSQL fills the column with its default.
    product = {"name": "Harness Kettle", "category": stack.seed["category"], "price": "12.50"}
    status, body, _ = request(
        stack.haproxy.lb_port, "POST", PRODUCT_LIST, product, stack.auth_headers()[0]
    )
    assert status == 201, body
    note = stack.manage("shell", "-c", NOTE_SCRIPT.format(id=int(body["id"])))
    assert "NOTE ''" in note, note
