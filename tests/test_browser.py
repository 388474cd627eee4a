"""Slow: the API docs pages, served by gunicorn with prod settings, in headless Chromium.

A service rendered with `api_docs_in_production=true` runs as production runs it: the
static files collected (as the Dockerfile does) and served by whitenoise, gunicorn with the
project's gunicorn.conf.py, `config.settings.prod` with PostgreSQL (the harness cluster) and
Redis (a private redis-server: DRF's throttles use the cache on every API request).

How the page is reached "through the TLS proxy": Chromium sends `X-Forwarded-Proto: https`
with every request of the tab (DevTools' Network.setExtraHTTPHeaders), exactly what the
proxy adds, so the prod settings stay untouched: SECURE_SSL_REDIRECT stays on, cookies stay
Secure, HSTS is sent. A redirect to https anywhere (the page, an asset, the schema fetch)
would break the page and fail the test. The tab's origin is http://127.0.0.1:PORT (added to
DJANGO_ALLOWED_HOSTS for that): a CSP's 'self' matches the page's own origin, so the verdict
is the one a browser on https://api.example.com would reach, without Chromium's https
upgrades of non-local hostnames getting in the way.

Each page must render its operations and record zero Content Security Policy violations:
`securitypolicyviolation` events (a listener installed before the page's own scripts),
DevTools' CSP issues, and console/log lines about the policy. Chromium is Debian's
/usr/bin/chromium; missing, the test fails with the command that installs it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, run_gate
from postgres import Cluster, pg_cluster
from production_browser import ChromiumMissing, chromium, chromium_binary
from production_services import (
    Server,
    collectstatic,
    gunicorn,
    http_request,
    prod_env,
    redis_server,
)

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

DOCS_PAGES = {
    # name: (path, JavaScript that counts the rendered operations)
    "swagger": ("/api/v1/docs/", "document.querySelectorAll('.opblock').length"),
}
IGNORED_ERRORS: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster) -> Iterator[Server]:
    try:
        chromium_binary()  # fail before minutes of set-up, with the install command
    except ChromiumMissing as error:
        pytest.fail(str(error), pytrace=False)
    workdir = tmp_path_factory.mktemp("browser")
    project = render(workdir / "svc", python_version=host_python(), api_docs_in_production=True)
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    with redis_server() as redis_url:
        env = prod_env(
            project,
            base_env(),
            pg_cluster.create_database("browser_docs"),
            REDIS_URL=redis_url,
            DJANGO_ALLOWED_HOSTS="api.example.com,127.0.0.1",
        )
        assert "DJANGO_API_DOCS_ENABLED" not in env  # the answer's default decides
        collectstatic(project, env)
        with gunicorn(project, env, workdir) as server:
            yield server


@pytest.mark.parametrize("page_name", DOCS_PAGES)
def test_docs_page_renders_its_operations_under_the_strict_csp(
    page_name: str, docs_server: Server, tmp_path: Path
) -> None:
    path, count_operations = DOCS_PAGES[page_name]
    url = f"http://127.0.0.1:{docs_server.port}{path}"
    served = http_request(docs_server.port, path, {"X-Forwarded-Proto": "https"})
    assert served.status == 200, served.body[:500]
    csp = served.header("Content-Security-Policy") or ""
    assert "script-src 'self'" in csp, csp
    assert "'unsafe-eval'" not in csp, csp

    with chromium({"X-Forwarded-Proto": "https"}, tmp_path) as page:
        page.navigate(url)
        try:
            operations = page.wait_for(count_operations, timeout=30)
        except TimeoutError:
            page.screenshot(tmp_path / f"{page_name}.png")
            pytest.fail(
                f"{page_name}: no operation rendered in 30s (screenshot {tmp_path}).\n"
                f"CSP: {page.csp_problems()}\nerrors: {page.errors()}\n"
                f"server log:\n{docs_server.log()[-4000:]}",
                pytrace=False,
            )
        page.wait_for("document.readyState === 'complete'", timeout=10)
        time.sleep(0.5)  # let late loads (fonts, images, the worker) report
        violations = page.csp_problems()
        errors = [e for e in page.errors() if not any(s in e for s in IGNORED_ERRORS)]
        schema = [r for r in page.responses() if r["url"].split("?")[0].endswith("/schema/")]

    assert operations >= 5, f"{page_name}: only {operations} operations rendered"
    assert [r["status"] for r in schema] == [200], f"{page_name}: schema fetches {schema}"
    assert violations == [], f"{page_name} ({path}) violates the CSP {csp!r}:\n" + "\n".join(
        violations
    )
    assert errors == [], f"{page_name}: errors in the page:\n" + "\n".join(errors)
