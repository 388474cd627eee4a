"""Regenerate the lock files that rendered services ship, one per Python choice.

    uv run python scripts/relock.py            # re-resolve only what pyproject changes need
    uv run python scripts/relock.py --upgrade  # move every pin to the newest allowed version
    uv run python scripts/relock.py --check    # exit 1 if any lock is stale (CI)
    uv run python scripts/relock.py --python 3.13 --profile jwt-tasksdb  # only these

For each `python_version` choice in copier.yml and each dependency profile (the answers
that add packages: see `dependency_profile` in extensions/context.py) the template is
rendered with a placeholder project name, `uv lock` runs in the render, and the result is
stored as `extensions/locks/py3XX-<profile>.lock`. extensions/context.py renames the
placeholder to the real project when a service is generated, so `uv sync --locked` in a
new service installs exactly the versions the template's own slow tests ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "extensions"))

from context import LOCK_NAME_PLACEHOLDER, dependency_profile, lock_path  # noqa: E402

# One answer set per dependency profile; `both` locks like `jwt`.
PROFILE_ANSWERS = [
    {"api_auth": auth, "task_backend": tasks, "use_cors": cors, "use_sentry": sentry}
    for auth in ("session", "jwt")
    for tasks in ("django_tasks", "celery")
    for cors in (False, True)
    for sentry in (False, True)
]


def python_choices() -> list[str]:
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    return [str(choice) for choice in questions["python_version"]["choices"]]


def render(dst: Path, answers: dict[str, object]) -> None:
    from copier import run_copy

    run_copy(
        str(REPO_ROOT),
        str(dst),
        data={"project_slug": LOCK_NAME_PLACEHOLDER.replace("-", "_"), **answers},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",
    )


def interpreter_available(python_version: str) -> bool:
    result = subprocess.run(
        [uv_binary(), "python", "find", "--no-project", python_version],
        capture_output=True,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    return result.returncode == 0


def relock(answers: dict[str, object], *, upgrade: bool, check: bool) -> bool:
    """Lock one Python choice and profile; with `check`, only report whether it is current."""
    python_version = str(answers["python_version"])
    profile = dependency_profile(answers)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "service"
        render(project, answers)
        lock = project / "uv.lock"  # absent on the first run: nothing recorded yet
        command = [uv_binary(), "lock"]
        if check:
            command.append("--check")
        if upgrade:
            command.append("--upgrade")
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        env.pop("VIRTUAL_ENV", None)
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        summary = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        print(f"python {python_version} {profile}: {' '.join(command[1:])}: {summary}")
        if result.returncode != 0:
            return False
        if not check:
            target = lock_path(python_version, profile)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(lock, target)
        return True


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            sys.exit("uv is not installed")
        return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="upgrade every pin")
    parser.add_argument("--check", action="store_true", help="fail if a lock is stale")
    parser.add_argument(
        "--python", action="append", help="only this python_version choice (repeatable)"
    )
    parser.add_argument(
        "--profile", action="append", help="only this dependency profile (repeatable)"
    )
    args = parser.parse_args()
    os.environ.setdefault("COPIER_SETTINGS_PATH", _empty_copier_settings())
    results = []
    for version in python_choices():
        if args.python and version not in args.python:
            continue
        if not interpreter_available(version):
            # uv resolves a project only with an interpreter its requires-python accepts.
            # Without one there is no lock to record: services on this version are
            # generated without uv.lock and create it with their first `uv lock`.
            print(f"python {version}: no interpreter here, no lock recorded")
            continue
        for answers in PROFILE_ANSWERS:
            full = {"python_version": version, **answers}
            if args.profile and dependency_profile(full) not in args.profile:
                continue
            results.append(relock(full, upgrade=args.upgrade, check=args.check))
    return 0 if all(results) else 1


def _empty_copier_settings() -> str:
    path = Path(tempfile.mkdtemp()) / "copier-settings.yml"
    path.write_text("{}\n")
    return str(path)


if __name__ == "__main__":
    raise SystemExit(main())
