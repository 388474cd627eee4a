"""Slow: the limits on a hostile client hold in a rendered service run as in production.

gunicorn (the project's gunicorn.conf.py) with `config.settings.prod`, PostgreSQL and Redis
on loopback, driven with plain HTTP:

- Trusting no proxy (`DJANGO_TRUSTED_PROXIES=0`, the default): a client that rotates
  `X-Forwarded-For`, `Forwarded` or `X-Real-IP` on each request still exhausts the `anon`
  rate and the `auth` rate (and then the right password is throttled too).
- Behind one trusted proxy (`DJANGO_TRUSTED_PROXIES=1`): the address the proxy appended is
  the client; entries a client put in front of it change nothing, another client is not
  throttled.
- The admin log-in (at `DJANGO_ADMIN_URL`, not /admin/) locks an account after
  `LOGIN_FAILURE_LIMITS["account"]` failures and an address after `["address"]` failures
  over several accounts: the right password is refused while locked.

The rates and limits are read from the rendered settings, not repeated here.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, find_uv, run_gate
from postgres import Cluster, pg_cluster
from production_services import Server, collectstatic, gunicorn, prod_env, redis_server, run_to_exit

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

HOST = "api.example.com"  # prod's DJANGO_ALLOWED_HOSTS in the harness
ADMIN_URL = f"staff-{secrets.token_hex(4)}/"
PASSWORD = secrets.token_urlsafe(16)
TOKEN_PATH = "/api/v1/auth/token/"  # noqa: S105 - a URL path, not a secret
ANON_PATH = "/api/v1/schema/?format=json"  # open to anonymous clients: the anon rate applies


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(
    server: Server,
    path: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def spoofed(i: int) -> dict[str, str]:
    """A different claimed client address on every request, in every header a proxy uses."""
    return {
        "X-Forwarded-For": f"198.51.100.{i % 250 + 1}",
        "Forwarded": f"for=203.0.113.{i % 250 + 1};proto=https",
        "X-Real-IP": f"192.0.2.{i % 250 + 1}",
    }


def token(server: Server, email: str, password: str, headers: Mapping[str, str]) -> Reply:
    body = json.dumps({"email": email, "password": password}).encode()
    return request(
        server,
        TOKEN_PATH,
        {**headers, "Content-Type": "application/json"},
        method="POST",
        body=body,
    )


def flush(redis_url: str) -> None:
    """FLUSHALL, so each test starts with no throttle or lock-out counts."""
    parsed = urllib.parse.urlsplit(redis_url)
    with socket.create_connection((parsed.hostname, parsed.port), 5) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        assert sock.recv(64).startswith(b"+OK"), "Redis did not flush"


# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Service:
    project: Path
    env: dict[str, str]
    redis_url: str
    rates: dict[str, str]
    limits: dict[str, int] | None


SETTINGS_SCRIPT = """
import json
from django.conf import settings
print("SETTINGS", json.dumps({
    "rates": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    # Absent before the lock-out existed: the tests that need it fail, the others still run.
    "limits": getattr(settings, "LOGIN_FAILURE_LIMITS", None),
}))
"""

USERS_SCRIPT = f"""
from apps.users.models import User
for email in ("admin@example.com", "other-admin@example.com"):
    User.objects.create_superuser(email, {PASSWORD!r})
User.objects.create_user("client@example.com", {PASSWORD!r})
"""


def manage(service_project: Path, env: Mapping[str, str], *args: str) -> str:
    argv = [str(find_uv()), "run", "python", "manage.py", *args]
    result = run_to_exit(argv, service_project, env)
    if result.returncode:
        pytest.fail(f"manage.py {args[0]} exited {result.returncode}:\n{result.stdout}")
    return result.stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster) -> Iterator[Service]:
    # Any supported Python shows the same behaviour: the newest one this host has.
    # No metrics server: two gunicorns run at once here and would both bind its port.
    project = render(
        tmp_path_factory.mktemp("limits") / "svc", python_version=host_python(), observability=False
    )
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    with redis_server() as redis_url:
        env = prod_env(
            project,
            base_env(),
            pg_cluster.create_database("client_limits"),
            REDIS_URL=redis_url,
            DJANGO_ADMIN_URL=ADMIN_URL,
        )
        collectstatic(project, env)
        manage(project, env, "migrate", "--noinput")
        manage(project, env, "shell", "-c", USERS_SCRIPT)
        printed = manage(project, env, "shell", "-c", SETTINGS_SCRIPT)
        values = json.loads(re.search(r"^SETTINGS (.*)$", printed, re.MULTILINE)[1])  # type: ignore[index]
        yield Service(project, env, redis_url, values["rates"], values["limits"])


def rate_count(rate: str) -> int:
    """DRF's "10/minute" -> 10."""
    return int(rate.split("/")[0])


@pytest.fixture(scope="module")
def direct(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Clients connect straight to gunicorn: no forwarded header is to be believed.

    Without a proxy there is no TLS terminator either, so no https redirect.
    """
    env = {**service.env, "DJANGO_TRUSTED_PROXIES": "0", "DJANGO_SECURE_SSL_REDIRECT": "false"}
    with gunicorn(service.project, env, tmp_path_factory.mktemp("direct-logs")) as server:
        yield server


@pytest.fixture(scope="module")
def proxied(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Behind one TLS-terminating proxy that appends the client's address."""
    env = {**service.env, "DJANGO_TRUSTED_PROXIES": "1"}
    with gunicorn(service.project, env, tmp_path_factory.mktemp("proxied-logs")) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_cache(service: Service) -> None:
    flush(service.redis_url)


def statuses(replies: list[Reply]) -> list[int]:
    return [reply.status for reply in replies]


# --------------------------------------------------------------------------- no proxy


def test_rotating_forwarded_headers_does_not_escape_the_anon_rate(
    service: Service, direct: Server
) -> None:
    allowed = rate_count(service.rates["anon"])

    replies = [request(direct, ANON_PATH, spoofed(i)) for i in range(allowed + 1)]

    assert set(statuses(replies[:allowed])) == {200}, statuses(replies)
    assert replies[-1].status == 429, f"{statuses(replies)}\n{direct.log()[-3000:]}"


def test_rotating_forwarded_headers_does_not_escape_the_auth_rate(
    service: Service, direct: Server
) -> None:
    allowed = rate_count(service.rates["auth"])

    wrong = [token(direct, "client@example.com", f"wrong-{i}", spoofed(i)) for i in range(allowed)]
    right = token(direct, "client@example.com", PASSWORD, spoofed(allowed))

    assert set(statuses(wrong)) == {401}, statuses(wrong)
    assert right.status == 429, f"the right password got through: {right.status} {right.body!r}"


# --------------------------------------------------------------------------- one proxy


def test_behind_one_proxy_the_address_it_appended_is_the_client(
    service: Service, proxied: Server
) -> None:
    allowed = rate_count(service.rates["auth"])
    through_proxy = {"X-Forwarded-Proto": "https"}
    client = "203.0.113.7"
    # Guesses at an account that does not exist: the lock-out of client@ stays out of this.

    used_up = [
        token(proxied, "guess@example.com", "wrong", {**through_proxy, "X-Forwarded-For": client})
        for _ in range(allowed)
    ]
    # The client writes its own entries first; the proxy appends the address it saw.
    forged = token(
        proxied,
        "guess@example.com",
        PASSWORD,
        {**through_proxy, "X-Forwarded-For": f"10.9.8.7, 192.0.2.1, {client}"},
    )
    other = token(
        proxied, "client@example.com", PASSWORD, {**through_proxy, "X-Forwarded-For": "203.0.113.8"}
    )

    assert set(statuses(used_up)) == {401}, statuses(used_up)
    assert forged.status == 429, f"forged entries escaped the rate: {forged.status}"
    assert other.status == 200, f"another client was throttled: {other.status} {other.body!r}"


# --------------------------------------------------------------------------- admin log-in


def admin_login(server: Server, email: str, password: str, headers: Mapping[str, str]) -> Reply:
    path = f"/{ADMIN_URL}login/"
    page = request(server, path, headers)
    assert page.status == 200, f"GET {path}: {page.status}\n{server.log()[-3000:]}"
    cookie = next(
        value.split(";")[0]
        for name, value in page.headers.items()
        if name.lower() == "set-cookie" and value.startswith("csrftoken=")
    )
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert match, "no CSRF token in the admin log-in form"
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": match[1].decode(),
            "username": email,
            "password": password,
            "next": f"/{ADMIN_URL}",
        }
    ).encode()
    return request(
        server,
        path,
        {**headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
        body=form,
    )


def test_the_admin_is_not_at_the_well_known_path(direct: Server) -> None:
    assert request(direct, "/admin/login/").status == 404
    assert request(direct, f"/{ADMIN_URL}login/").status == 200


def test_admin_log_in_locks_the_account_after_the_limit(service: Service, direct: Server) -> None:
    assert service.limits, "no LOGIN_FAILURE_LIMITS in the settings"
    limit = service.limits["account"]

    wrong = [
        admin_login(direct, "admin@example.com", f"wrong-{i}", spoofed(i)) for i in range(limit)
    ]
    right = admin_login(direct, "admin@example.com", PASSWORD, spoofed(limit))
    other_account = admin_login(direct, "other-admin@example.com", PASSWORD, spoofed(0))

    assert set(statuses(wrong)) == {200}, statuses(wrong)  # the form again, with an error
    assert right.status == 200, f"locked account logged in: {right.status} {right.headers}"
    assert other_account.status == 302, "another account was locked out with this one"


def test_admin_log_in_locks_the_address_after_the_limit(service: Service, direct: Server) -> None:
    assert service.limits, "no LOGIN_FAILURE_LIMITS in the settings"
    per_account = service.limits["account"]
    limit = service.limits["address"]
    assert limit > per_account, "the address limit spans several accounts"

    # Under the per-account limit for each guessed account, over the limit for the address.
    wrong = [
        admin_login(direct, f"guess-{i // (per_account - 1)}@example.com", "wrong", spoofed(i))
        for i in range(limit)
    ]
    right = admin_login(direct, "other-admin@example.com", PASSWORD, spoofed(limit))

    assert set(statuses(wrong)) == {200}, statuses(wrong)
    assert right.status == 200, f"locked address logged in: {right.status} {right.headers}"


def test_the_token_endpoint_shares_the_account_lock(service: Service, proxied: Server) -> None:
    """The lock is per account, whatever door: failures from many addresses lock it too."""
    assert service.limits, "no LOGIN_FAILURE_LIMITS in the settings"
    limit = service.limits["account"]
    through_proxy = {"X-Forwarded-Proto": "https"}

    wrong = [
        token(
            proxied,
            "client@example.com",
            "wrong",
            {**through_proxy, "X-Forwarded-For": f"198.51.100.{i + 1}"},
        )
        for i in range(limit)
    ]
    right = token(
        proxied, "client@example.com", PASSWORD, {**through_proxy, "X-Forwarded-For": "192.0.2.99"}
    )

    assert set(statuses(wrong)) == {401}, statuses(wrong)
    assert right.status == 401, f"locked account got tokens: {right.status} {right.body!r}"
