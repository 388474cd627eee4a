"""Slow: the rendered service run the way production runs it, on loopback only.

- A real gunicorn process (the project's gunicorn.conf.py, one gthread worker) with
  `config.settings.prod`: /healthz answers 200 to a request the TLS proxy forwarded (Host
  the public name, `X-Forwarded-Proto: https`) and the response carries HSTS (>= 1 year,
  subdomains, preload), a CSP, nosniff, `X-Frame-Options: DENY`, a Referrer-Policy and the
  request id; plain http elsewhere is redirected to https. REDIS_URL points at a port
  nothing listens on: /healthz does no I/O, and /readyz says the cache is down.
- Prod refuses to start without each required variable, naming it.
- django-tasks-db: the catalog's publish service enqueues the notification task in
  PostgreSQL; `manage.py db_worker --batch` runs it; the row ends SUCCESSFUL and the mail
  reaches an SMTP server on loopback.
- Celery: the generated publish test runs the task eagerly (the broker is unreachable, so
  only an eager run can pass), and a real `celery worker` runs the task from Redis.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, find_uv, run_gate
from postgres import Cluster, pg_cluster
from production_services import (
    Server,
    SmtpSink,
    background,
    collectstatic,
    gunicorn,
    gunicorn_argv,
    http_request,
    prod_env,
    redis_server,
    run_to_exit,
    unused_port,
)

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

HOST = "api.example.com"  # the default domain_name, and prod's DJANGO_ALLOWED_HOSTS here
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}
REQUIRED_IN_PROD = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_ADMIN_URL",
    "REDIS_URL",
)


def synced_render(directory: Path, **answers: Any) -> Path:
    project = render(directory / "svc", **{"python_version": host_python(), **answers})
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    return project


def manage(project: Path, env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`uv run python manage.py ARGS`; fails the test with the output unless it exits 0."""
    argv = [str(find_uv()), "run", "python", "manage.py", *args]
    result = run_to_exit(argv, project, env, timeout=timeout)
    if result.returncode:
        pytest.fail(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}",
            pytrace=False,
        )
    return result.stdout


def json_lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return entries


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def default_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The defaults (django-tasks-db), rendered, synced and collected once for this module."""
    project = synced_render(tmp_path_factory.mktemp("prod-default"))
    collectstatic(project, prod_env(project, base_env(), "postgres://collectstatic@127.0.0.1/none"))
    return project


@pytest.fixture(scope="module")
def prod_server(
    default_service: Path, pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """gunicorn with prod settings; Redis deliberately unreachable."""
    env = prod_env(
        default_service,
        base_env(),
        pg_cluster.create_database("prod_headers"),
        REDIS_URL=f"redis://127.0.0.1:{unused_port()}/0",
    )
    with gunicorn(default_service, env, tmp_path_factory.mktemp("gunicorn-logs")) as server:
        yield server


# --------------------------------------------------------------------------- headers


def test_healthz_through_the_https_proxy_carries_every_security_header(
    prod_server: Server,
) -> None:
    response = http_request(prod_server.port, "/healthz", PROXIED)

    assert response.status == 200, f"{response.status} {response.body!r}\n{prod_server.log()}"
    assert json.loads(response.body) == {"status": "ok"}
    problems = []
    hsts = response.header("Strict-Transport-Security") or ""
    max_age = re.search(r"max-age=(\d+)", hsts)
    if not max_age or int(max_age[1]) < 31_536_000:
        problems.append(f"HSTS max-age under a year: {hsts!r}")
    for directive in ("includeSubDomains", "preload"):
        if directive.lower() not in hsts.lower():
            problems.append(f"HSTS without {directive}: {hsts!r}")
    csp = response.header("Content-Security-Policy") or ""
    if "default-src 'none'" not in csp or "frame-ancestors 'none'" not in csp:
        problems.append(f"Content-Security-Policy is not the strict policy: {csp!r}")
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append(f"Content-Security-Policy allows unsafe sources: {csp!r}")
    expected_exact = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
    for name, value in expected_exact.items():
        if response.header(name) != value:
            problems.append(f"{name}: {response.header(name)!r}, expected {value!r}")
    if not response.header("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", response.header("X-Request-ID") or ""):
        problems.append(f"X-Request-ID: {response.header('X-Request-ID')!r}")
    assert problems == [], "\n".join(problems) + f"\nall headers:\n{response.headers}"


def test_the_request_id_is_kept_from_the_caller_and_on_its_json_log_lines(
    prod_server: Server,
) -> None:
    """STANDARDS.md: JSON logs in prod with the request id on every line (and the header)."""
    request_id = f"harness-{secrets.token_hex(8)}"
    path = f"/no-such-page-{request_id}/"
    response = http_request(prod_server.port, path, {**PROXIED, "X-Request-ID": request_id})
    assert response.status == 404
    assert response.header("X-Request-ID") == request_id

    generated = http_request(prod_server.port, "/healthz", PROXIED).header("X-Request-ID")
    assert generated
    assert generated != request_id

    about_request: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5  # the worker's stream handler may lag the response
    while not about_request and time.monotonic() < deadline:
        about_request = [e for e in json_lines(prod_server.log()) if path in str(e.get("message"))]
        time.sleep(0.1)
    assert about_request, f"no JSON log line about {path}:\n{prod_server.log()}"
    assert {"timestamp", "level", "logger", "message"} <= about_request[0].keys()
    without_id = [e for e in about_request if e.get("request_id") != request_id]
    assert without_id == [], f"log lines of request {request_id} without its id"


def test_plain_http_is_redirected_to_https(prod_server: Server) -> None:
    response = http_request(prod_server.port, "/api/v1/schema/?format=json", {"Host": HOST})

    assert response.status == 301, f"{response.status}: {response.headers}"
    assert response.header("Location") == f"https://{HOST}/api/v1/schema/?format=json"


def test_probes_answer_over_plain_http_and_readyz_reports_the_missing_cache(
    prod_server: Server,
) -> None:
    """Load balancers probe over http on the private network (SECURE_REDIRECT_EXEMPT)."""
    alive = http_request(prod_server.port, "/healthz", {"Host": HOST})
    ready = http_request(prod_server.port, "/readyz", PROXIED)

    assert alive.status == 200
    assert ready.status == 503
    assert json.loads(ready.body) == {
        "status": "unavailable",
        "checks": {"database": True, "cache": False},
    }


def test_an_unknown_host_is_refused(prod_server: Server) -> None:
    response = http_request(
        prod_server.port, "/healthz", {"Host": "evil.example.net", "X-Forwarded-Proto": "https"}
    )
    assert response.status == 400


def test_docs_pages_are_off_in_prod_by_default(prod_server: Server) -> None:
    """api_docs_in_production defaults to false: no Swagger page in prod."""
    assert http_request(prod_server.port, "/api/v1/docs/", PROXIED).status == 404


# --------------------------------------------------------------------------- start-up


@pytest.mark.parametrize("variable", REQUIRED_IN_PROD)
def test_prod_refuses_to_start_without(
    variable: str, default_service: Path, pg_cluster: Cluster
) -> None:
    env = prod_env(default_service, base_env(), pg_cluster.url("postgres"), **{variable: ""})
    env |= {"GUNICORN_BIND": f"127.0.0.1:{unused_port()}", "GUNICORN_WORKERS": "1"}
    assert variable not in env

    result = run_to_exit(gunicorn_argv(), default_service, env, timeout=90)

    assert result.returncode != 0, f"gunicorn started without {variable}:\n{result.stdout}"
    assert f'Environment variable "{variable}" not set' in result.stdout, result.stdout


# --------------------------------------------------------------------------- django-tasks-db


PUBLISH_SCRIPT = """
from decimal import Decimal
from apps.catalog.models import Category
from apps.catalog.services import create_product, publish_product
from apps.users.models import User
from django_tasks_db.models import DBTaskResult

owner = User.objects.create_user("owner@example.com", "a-long-enough-password-123")
category = Category.objects.create(name="Mugs", slug="mugs")
product = create_product(owner=owner, category=category, name="Blue Mug", price=Decimal("9.50"))
publish_product(product_id=product.pk, actor=owner)
print("QUEUED", [(r.task_path, r.status) for r in DBTaskResult.objects.all()])
"""

RESULT_SCRIPT = """
from django_tasks_db.models import DBTaskResult
rows = DBTaskResult.objects.all()
print("RESULTS", [(r.task_path, r.status, r.exception_class_path) for r in rows])
"""


def test_db_worker_runs_the_task_the_publish_service_enqueued(
    default_service: Path, pg_cluster: Cluster
) -> None:
    with SmtpSink() as smtp:
        env = prod_env(
            default_service,
            base_env(),
            pg_cluster.create_database("prod_tasks"),
            REDIS_URL=f"redis://127.0.0.1:{unused_port()}/0",
            DJANGO_SMTP_HOST="127.0.0.1",
            DJANGO_SMTP_PORT=str(smtp.port),
            DJANGO_SMTP_USE_TLS="false",
        )
        manage(default_service, env, "migrate", "--noinput")

        queued = manage(default_service, env, "shell", "-c", PUBLISH_SCRIPT)
        assert "QUEUED [('apps.catalog.tasks.notify_product_published', 'READY')]" in queued
        assert smtp.messages == [], "the task ran before a worker took it"

        worker = manage(
            default_service, env, "db_worker", "--batch", "--no-startup-delay", "--verbosity", "2"
        )

        results = manage(default_service, env, "shell", "-c", RESULT_SCRIPT)
        assert (
            "RESULTS [('apps.catalog.tasks.notify_product_published', 'SUCCESSFUL', '')]" in results
        ), f"worker output:\n{worker}\nresults:\n{results}"
        assert [m.recipients for m in smtp.messages] == [["owner@example.com"]], worker
        assert "Blue Mug" in smtp.messages[0].data


# --------------------------------------------------------------------------- Celery


@pytest.fixture(scope="module")
def celery_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_render(tmp_path_factory.mktemp("prod-celery"), task_backend="celery")


def test_celery_variant_runs_the_publish_task_eagerly_in_its_tests(
    celery_service: Path, pg_cluster: Cluster
) -> None:
    tasks = (celery_service / "src/apps/catalog/tasks.py").read_text()
    services = (celery_service / "src/apps/catalog/services.py").read_text()
    assert "from celery import shared_task" in tasks
    assert "@shared_task" in tasks
    assert "notify_product_published.delay" in services
    assert (
        "CELERY_TASK_ALWAYS_EAGER = True"
        in (celery_service / "src/config/settings/test.py").read_text()
    )

    # No broker answers at this address: only an eager (in-process) run can pass.
    env = {
        **base_env(),
        "DATABASE_URL": pg_cluster.create_database("celery_eager"),
        "REDIS_URL": f"redis://127.0.0.1:{unused_port()}/0",
        "UV_LOCKED": "1",
    }
    argv = [
        str(find_uv()), "run", "pytest", "src/apps/catalog/tests/test_services.py",
        "-k", "publish_product_notifies", "--no-cov", "-p", "no:cacheprovider", "-v",
    ]  # fmt: skip
    result = run_to_exit(argv, celery_service, env, timeout=180)

    assert result.returncode == 0, result.stdout
    assert re.search(r"test_publish_product_notifies_the_owner_after_commit PASSED", result.stdout)
    assert re.search(r"=+ 1 passed", result.stdout), result.stdout


CELERY_PUBLISH_SCRIPT = """
from decimal import Decimal
from apps.catalog.models import Category
from apps.catalog.services import create_product, publish_product
from apps.users.models import User

owner = User.objects.create_user("owner@example.com", "a-long-enough-password-123")
category = Category.objects.create(name="Mugs", slug="mugs")
product = create_product(owner=owner, category=category, name="Blue Mug", price=Decimal("9.50"))
publish_product(product_id=product.pk, actor=owner)
print("SENT")
"""


def test_celery_worker_runs_the_task_from_redis(
    celery_service: Path, pg_cluster: Cluster, tmp_path: Path
) -> None:
    """The worker command of compose.yaml and the README, against a real Redis broker."""
    with redis_server() as redis_url, SmtpSink() as smtp:
        env = prod_env(
            celery_service,
            base_env(),
            pg_cluster.create_database("celery_worker"),
            REDIS_URL=redis_url,
            DJANGO_SMTP_HOST="127.0.0.1",
            DJANGO_SMTP_PORT=str(smtp.port),
            DJANGO_SMTP_USE_TLS="false",
        )
        manage(celery_service, env, "migrate", "--noinput")
        assert "SENT" in manage(celery_service, env, "shell", "-c", CELERY_PUBLISH_SCRIPT)
        assert smtp.messages == [], "the task ran in the web process, not in a worker"

        log_file = tmp_path / "celery.log"
        argv = [str(find_uv()), "run", "celery", "--workdir", "src", "--app", "config",
                "worker", "--loglevel", "INFO", "--pool", "solo", "--without-heartbeat",
                "--without-gossip", "--without-mingle"]  # fmt: skip
        with background(argv, celery_service, env, log_file) as worker:
            deadline = time.monotonic() + 60
            while not smtp.messages and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.2)
        output = log_file.read_text(errors="replace")
        assert [m.recipients for m in smtp.messages] == [["owner@example.com"]], output
        assert "apps.catalog.tasks.notify_product_published" in output
        assert re.search(r"notify_product_published\[[^\]]+\] succeeded", output), output
