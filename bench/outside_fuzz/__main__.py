"""Schemathesis's own CLI, from an environment of its own, against a live rendered service.

    uv run python -m bench.outside_fuzz [--python 3.13] [--auth jwt,session] [--max-examples 50]

What an outside reviewer runs, as opposed to the generated in-process fuzz test
(apps/core/tests/test_api_fuzz.py): the default render served by gunicorn with
`config.settings.prod` (API docs turned on, so the schema is served), a private PostgreSQL and
Redis on loopback; `schemathesis run` (the version the render locks, installed by `uv tool
run` away from the service's venv) reads the live `/api/v1/schema/` and sends every phase's
requests over HTTP with every check, once as a JWT client and once as a session client.
The throttles are the deployed ones: 429 is a documented answer.

The exclusions are the generated test's EXCLUDED, read from the render (one place says
which check is left out of which operation, and why). hooks.py gives requests real
credentials and rows that exist, so that valid writes can succeed.

Prints, per credential: requests sent, answers by status class, 5xx, failures by check,
the writes that succeeded at least once, and the products the run created; exits 1 if any
check failed or any answer was a 5xx. Figures come from this run only.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from gates import base_env, find_python, find_uv  # noqa: E402
from multi_instance import manage  # noqa: E402
from postgres import postgres_cluster  # noqa: E402
from production_services import gunicorn, prod_env, redis_server, run_to_exit  # noqa: E402

from bench.bench_multi_instance import render_service  # noqa: E402

HERE = Path(__file__).resolve().parent
USERS = 20  # the `user` rate is per user: spread the run over several
SESSIONS_PER_USER = 25  # spares: each generated log-out that succeeds ends one
FUZZ_TEST = Path("src/apps/core/tests/test_api_fuzz.py")

SEED_SCRIPT = """
import json
from datetime import timedelta
from django.test import Client
from apps.catalog.tests.factories import CategoryFactory, ProductFactory
from apps.users.tests.factories import UserFactory

categories = [CategoryFactory.create() for _ in range(2)]
published = ProductFactory.create_batch(5, category=categories[0], published=True)
users = []
for _ in range({users}):
    user = UserFactory.create()
    own = ProductFactory.create_batch(3, owner=user, category=categories[0])
    entry = {{"products": [product.pk for product in own], "sessions": []}}
    if {jwt}:
        from rest_framework_simplejwt.tokens import AccessToken
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(hours=2))  # the whole run; the server checks it
        entry["token"] = str(token)
    if {session}:
        for _ in range({sessions}):
            client = Client()
            client.force_login(user)
            entry["sessions"].append(client.cookies["sessionid"].value)
    users.append(entry)
print("SEED " + json.dumps({{
    "categories": [category.pk for category in categories],
    "published": [product.pk for product in published],
    "users": users,
}}))
"""

COUNT_SCRIPT = """
from apps.catalog.models import Product
print("PRODUCTS", Product.objects.count())
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.outside_fuzz", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--python", default="3.13", help="python_version of the render")
    parser.add_argument("--auth", default="jwt,session", help="credentials to run with, in order")
    parser.add_argument("--max-examples", type=int, default=50, help="per operation and phase")
    parser.add_argument("--workers", default="2", help="schemathesis workers (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args()


def log(message: str) -> None:
    print(f"[outside-fuzz] {message}", file=sys.stderr, flush=True)


def locked_version(project: Path, package: str) -> str:
    lock = (project / "uv.lock").read_text()
    match = re.search(rf'\nname = "{re.escape(package)}"\nversion = "([^"]+)"', lock)
    if match is None:
        raise RuntimeError(f"{package} is not in {project}/uv.lock")
    return match.group(1)


def excluded_checks(project: Path) -> dict[str, dict[str, str]]:
    """The generated fuzz test's EXCLUDED: {"METHOD /path": {check: reason}}."""
    tree = ast.parse((project / FUZZ_TEST).read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "EXCLUDED":
            assert node.value is not None
            return dict(ast.literal_eval(node.value))
    raise RuntimeError(f"no EXCLUDED in {FUZZ_TEST}")


def config_file(path: Path, excluded: dict[str, dict[str, str]]) -> Path:
    """schemathesis.toml: every check, the exclusions per operation with their reasons."""
    lines = ["checks.enabled = true", ""]
    for label, checks in sorted(excluded.items()):
        method, operation_path = label.split(" ", 1)
        for check, reason in sorted(checks.items()):
            lines += [
                f"# {reason}",
                "[[operations]]",
                f"include-method = {json.dumps(method)}",
                f"include-path = {json.dumps(operation_path)}",
                f"checks.{check}.enabled = false",
                "",
            ]
    path.write_text("\n".join(lines))
    return path


def seed(project: Path, env: dict[str, str], auth: list[str]) -> dict[str, Any]:
    script = SEED_SCRIPT.format(
        users=USERS, jwt="jwt" in auth, session="session" in auth, sessions=SESSIONS_PER_USER
    )
    output = manage(project, env, "shell", "-c", script, timeout=600)
    return dict(json.loads(output.split("SEED ", 1)[1]))


def product_count(project: Path, env: dict[str, str]) -> int:
    return int(manage(project, env, "shell", "-c", COUNT_SCRIPT).split("PRODUCTS", 1)[1])


def failures_by_check(junit: Path) -> Counter[str]:
    """Failures in schemathesis's JUnit report, by check ("ST201 Schema-violating request
    accepted"): each failure's text lists the checks it failed as "- <code> <title>"."""
    import xml.etree.ElementTree as ET

    found: Counter[str] = Counter()
    report = ET.parse(junit)  # noqa: S314 - this run's own report
    for failure in report.iter("failure"):
        text = failure.text or ""
        checks = re.findall(r"^- ([A-Z]+\d+ .+)$", text, re.MULTILINE)
        found.update(checks or [failure.get("message", "(unnamed)")])
    return found


def run_schemathesis(
    *, project: Path, port: int, auth: str, seeded: dict[str, Any], args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:  # fmt: skip
    out = workdir / f"report-{auth}"
    out.mkdir()
    users = []
    for entry in seeded["users"]:
        for session in entry["sessions"] if auth == "session" else [None]:
            users.append({**entry, "session": session})
    state = {
        "auth": auth,
        "seed": args.seed,
        "origin": f"https://127.0.0.1:{port}",
        "users": users,
        "categories": seeded["categories"],
        "published": seeded["published"],
        "counts": str(out / "counts.json"),
    }
    (out / "state.json").write_text(json.dumps(state))
    version = locked_version(project, "schemathesis")
    argv = [
        str(find_uv()), "tool", "run", "--python", str(find_python(args.python)),
        "--from", f"schemathesis=={version}", "schemathesis",
        "--config-file", str(config_file(out / "schemathesis.toml", excluded_checks(project))),
        "run", f"http://127.0.0.1:{port}/api/v1/schema/",
        "--max-examples", str(args.max_examples), "--seed", str(args.seed),
        "--workers", args.workers, "--header", "X-Forwarded-Proto: https",
        "--continue-on-failure", "--no-color", "--report", "junit",
        "--report-junit-path", str(out / "junit.xml"),
    ]  # fmt: skip
    env = {
        **base_env(),
        "SCHEMATHESIS_HOOKS": "hooks",
        "PYTHONPATH": str(HERE),
        "OUTSIDE_FUZZ_STATE": str(out / "state.json"),
    }
    started = time.monotonic()
    result = run_to_exit(argv, workdir, env, timeout=3600)
    elapsed = time.monotonic() - started
    (out / "schemathesis.log").write_text(result.stdout)
    counts = json.loads((out / "counts.json").read_text())
    statuses: Counter[str] = Counter()
    succeeded = set()
    for key, number in counts.items():
        label, status = key.rsplit(" ", 1)
        statuses[f"{status[0]}xx"] += number
        if status.startswith("2") and not label.startswith("GET"):
            succeeded.add(label)
    return {
        "auth": auth,
        "exit": result.returncode,
        "seconds": round(elapsed, 1),
        "requests": sum(counts.values()),
        "by_status_class": dict(sorted(statuses.items())),
        "server_errors": statuses["5xx"],
        "failures_by_check": dict(failures_by_check(out / "junit.xml")),
        "writes_succeeded": sorted(succeeded),
        "summary": result.stdout.strip().splitlines()[-12:],
        "report": str(out),
    }


def main() -> int:
    args = parse_args()
    auths = [auth.strip() for auth in args.auth.split(",") if auth.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="outside-fuzz-"))
    log(f"work directory {workdir}")
    results = []
    try:
        project = render_service(workdir, args.python)
        with postgres_cluster() as cluster, redis_server() as redis_url:
            env = prod_env(
                project, base_env(), cluster.create_database("outside_fuzz"),
                REDIS_URL=redis_url, DJANGO_API_DOCS_ENABLED="true",
                DJANGO_ALLOWED_HOSTS="127.0.0.1",
            )  # fmt: skip
            manage(project, env, "migrate", "--noinput")
            seeded = seed(project, env, auths)
            with gunicorn(project, env, workdir) as server:
                for auth in auths:
                    before = product_count(project, env)
                    log(f"schemathesis run as a {auth} client")
                    result = run_schemathesis(
                        project=project, port=server.port, auth=auth, seeded=seeded,
                        args=args, workdir=workdir,
                    )  # fmt: skip
                    result["products_created"] = product_count(project, env) - before
                    results.append(result)
                    print(json.dumps(result, indent=2), flush=True)
                tracebacks = server.log().count("Traceback")
        print(json.dumps({"server_tracebacks": tracebacks}), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = tracebacks or any(
        r["exit"] or r["server_errors"] or r["failures_by_check"] for r in results
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
