"""Regenerate the lock files that rendered services ship: one per Python x dependency profile.

    uv run python scripts/relock.py            # re-resolve what pyproject changes need (all)
    uv run python scripts/relock.py --upgrade  # move every pin to the newest allowed version
    uv run python scripts/relock.py --check    # exit 1 if any lock is stale (CI)
    uv run python scripts/relock.py --upgrade-package pyyaml  # one pin, in every lock
    uv run python scripts/relock.py --python 3.13 --profile jwt-tasksdb-otel  # only these

For each `python_version` choice in copier.yml and each dependency profile (every
combination of PROFILE_PARTS in extensions/context.py), the template's pyproject.toml is
rendered with a placeholder project name (only that file: nothing else feeds `uv lock`),
the recorded lock (or, for a new combination, the nearest recorded one, so its pins carry
over) is put next to it, `uv lock` runs, and the result is stored as
`extensions/locks/py3XX-<profile>.idx` over content-addressed blocks (docs/locking.md).
Locks run in parallel (--jobs). A Python without a real interpreter on the host (3.14 and
3.15 here) is locked inside the Debian sid root of scripts/sidroot.sh (tests/sidroot.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "extensions"))
sys.path.insert(0, str(REPO_ROOT / "tests"))

import sidroot  # noqa: E402
from context import (  # noqa: E402
    BLOCKS_DIR,
    LOCK_NAME_PLACEHOLDER,
    LOCKS_DIR,
    dependency_profile,
    load_lock,
    lock_path,
    profile_answers,
    store_lock,
)

# Only these files of the template are rendered: the lock depends on nothing else.
RENDERED = ("pyproject.toml.jinja", ".python-version.jinja")


@dataclass
class Job:
    python_version: str
    answers: dict[str, Any]
    project: Path | None = None
    in_root: bool = False

    @property
    def profile(self) -> str:
        return dependency_profile(self.answers)

    @property
    def label(self) -> str:
        return f"python {self.python_version} {self.profile}"


def python_choices() -> list[str]:
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    return [str(choice) for choice in questions["python_version"]["choices"]]


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            sys.exit("uv is not installed")
        return found


def template_snapshot() -> Path:
    """The working tree's copier.yml, extensions/ and the rendered files, in a plain folder:
    Copier renders a folder without cloning it, and uncommitted changes are what is locked."""
    snapshot = Path(tempfile.mkdtemp(prefix="relock-template-"))
    shutil.copy2(REPO_ROOT / "copier.yml", snapshot / "copier.yml")
    shutil.copytree(REPO_ROOT / "extensions", snapshot / "extensions")
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    subdirectory = questions.get("_subdirectory", "")
    (snapshot / subdirectory).mkdir(parents=True, exist_ok=True)
    for name in RENDERED:
        shutil.copy2(REPO_ROOT / subdirectory / name, snapshot / subdirectory / name)
    return snapshot


def job_data(job: Job) -> dict[str, Any]:
    return {
        "project_slug": LOCK_NAME_PLACEHOLDER.replace("-", "_"),
        "python_version": job.python_version,
        **job.answers,
    }


def copier_render(snapshot: Path, dst: Path, job: Job) -> None:
    """The files of RENDERED, as `copier copy` writes them (about 1 s a render)."""
    from copier import run_copy

    run_copy(
        str(snapshot),
        str(dst),
        data=job_data(job),
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )


class DirectRenderer:
    """The files of RENDERED through Jinja with copier.yml's _envops and the template's own
    context hook (extensions/context.py), without Copier's per-render overhead: 256 renders
    in a few seconds instead of four minutes. main() checks it against copier_render on the
    first job and falls back to Copier on any difference or error."""

    def __init__(self, snapshot: Path) -> None:
        import importlib

        import jinja2

        config = yaml.safe_load((snapshot / "copier.yml").read_text())
        envops = dict(config.get("_envops", {}))
        if isinstance(envops.get("undefined"), str):
            module, _, name = envops["undefined"].rpartition(".")
            envops["undefined"] = getattr(importlib.import_module(module), name)
        extensions = []
        for spec in config.get("_jinja_extensions", []):
            path, _, name = spec.partition(":")
            if name:  # extensions/<file>.py:<Class>, as copier-template-extensions loads it
                extensions.append(getattr(_load_module(snapshot / path), name))
        self.env = jinja2.Environment(  # noqa: S701  (TOML and dotfiles, not HTML)
            loader=jinja2.FileSystemLoader(snapshot / config.get("_subdirectory", "")),
            extensions=extensions,
            **envops,
        )
        self.questions = {k: v for k, v in config.items() if not k.startswith("_")}

    def render(self, dst: Path, job: Job) -> None:
        data = job_data(job)
        context: dict[str, Any] = {"_copier_conf": {}}
        for name, spec in self.questions.items():  # in order: defaults may use earlier ones
            if name in data:
                context[name] = data[name]
            elif isinstance(spec.get("default"), str) and "{" in spec["default"]:
                context[name] = self.env.from_string(spec["default"]).render(context)
            else:
                context[name] = spec.get("default")
        dst.mkdir(parents=True, exist_ok=True)
        for name in RENDERED:
            text = self.env.get_template(name).render(context)
            (dst / name.removesuffix(".jinja")).write_text(text)


def _load_module(path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"relock_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_renderer(snapshot: Path, probe: Job) -> Any:
    """DirectRenderer when it writes what Copier writes for ``probe``, else Copier."""
    with tempfile.TemporaryDirectory() as tmp:
        copier_render(snapshot, Path(tmp) / "copier", probe)
        try:
            direct = DirectRenderer(snapshot)
            direct.render(Path(tmp) / "direct", probe)
            same = all(
                (Path(tmp) / "copier" / n.removesuffix(".jinja")).read_bytes()
                == (Path(tmp) / "direct" / n.removesuffix(".jinja")).read_bytes()
                for n in RENDERED
            )
        except Exception as error:  # any failure: Copier renders instead
            print(f"direct render failed ({error!r}): rendering with Copier", file=sys.stderr)
            same = False
        if not same:
            print("direct render differs from Copier's: rendering with Copier", file=sys.stderr)
    if same:
        return direct.render
    return lambda dst, job: copier_render(snapshot, dst, job)


def recorded(python_version: str, profile: str) -> str | None:
    path = lock_path(python_version, profile)
    return load_lock(path) if path.exists() else None


def seed(job: Job, choices: list[str]) -> str | None:
    """The recorded lock to start from: this combination's, else the nearest recorded one
    (same profile on the nearest Python, else the most parts in common on this Python)."""
    if (text := recorded(job.python_version, job.profile)) is not None:
        return text
    order = sorted(choices, key=lambda v: abs(choices.index(v) - choices.index(job.python_version)))
    for version in order:
        if (text := recorded(version, job.profile)) is not None:
            return text
    parts = set(job.profile.split("-"))
    candidates = sorted(
        (len(parts ^ set(path.stem.split("-", 1)[1].split("-"))), path.name, path)
        for version in order
        for path in LOCKS_DIR.glob(f"py{version.replace('.', '')}-*.idx")
    )
    return load_lock(candidates[0][2]) if candidates else None


def lock(
    job: Job,
    root: sidroot.SidRoot | None,
    *,
    upgrade: bool,
    check: bool,
    upgrade_packages: list[str] | None = None,
) -> bool:
    assert job.project is not None
    command = ["uv", "lock"]
    if check:
        command.append("--check")
    if upgrade:
        command.append("--upgrade")
    for package in upgrade_packages or []:
        command.extend(["--upgrade-package", package])
    started = time.monotonic()
    if job.in_root:
        assert root is not None
        result = root.run(command, cwd=job.project, timeout=900)
    else:
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
        env.pop("VIRTUAL_ENV", None)
        result = subprocess.run(
            [uv_binary(), *command[1:]],
            cwd=job.project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    output = (result.stdout + result.stderr).strip()
    summary = output.splitlines()[-1] if output else ""
    where = " (sid root)" if job.in_root else ""
    elapsed = time.monotonic() - started
    print(f"{job.label}: {' '.join(command[1:])}{where}: {summary} [{elapsed:.1f}s]", flush=True)
    if result.returncode != 0:
        if not check:
            print(output, file=sys.stderr)
        return False
    if not check:
        text = (job.project / "uv.lock").read_text()
        target = lock_path(job.python_version, job.profile)
        if recorded(job.python_version, job.profile) != text:
            store_lock(text, target)
    return True


def collect_garbage() -> int:
    """Remove blocks no index lists (after a full run only: a partial run cannot know)."""
    wanted = {name for index in LOCKS_DIR.glob("*.idx") for name in index.read_text().split()}
    removed = 0
    for block in BLOCKS_DIR.glob("*.toml"):
        if block.stem not in wanted:
            block.unlink()
            removed += 1
    return removed


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
    parser.add_argument(
        "--upgrade-package",
        action="append",
        metavar="NAME",
        help="move this package's pin to the newest allowed version (repeatable)",
    )
    parser.add_argument(
        "--jobs", type=int, default=max(2, os.cpu_count() or 1), help="locks run at once"
    )
    args = parser.parse_args()
    started = time.monotonic()
    os.environ.setdefault("COPIER_SETTINGS_PATH", _empty_copier_settings())
    choices = python_choices()
    unknown = set(args.python or []) - set(choices)
    if unknown:
        parser.error(f"not a python_version choice: {sorted(unknown)}")
    jobs = [
        Job(version, answers)
        for version in choices
        if not args.python or version in args.python
        for answers in profile_answers()
        if not args.profile or dependency_profile(answers) in args.profile
    ]
    if not jobs:
        parser.error("no lock matches --python/--profile")

    uv = uv_binary()
    on_host = {
        version: sidroot.host_python(version, uv) for version in {j.python_version for j in jobs}
    }
    needs_root = sorted(version for version, found in on_host.items() if not found)
    unreachable = [
        v for v in needs_root if v not in sidroot.ROOT_PYTHONS or not sidroot.can_build()
    ]
    if unreachable:
        print(
            f"no interpreter for Python {', '.join(unreachable)} here (uv finds none, and the "
            "sid root needs root and debootstrap): those locks cannot be made",
            file=sys.stderr,
        )
        return 1

    with contextlib.ExitStack() as stack:
        root = stack.enter_context(sidroot.SidRoot.open(uv)) if needs_root else None
        host_tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="relock-")))
        root_tmp = root.workdir() if root else None
        if root_tmp is not None:
            stack.callback(shutil.rmtree, root_tmp, ignore_errors=True)
        snapshot = template_snapshot()
        stack.callback(shutil.rmtree, snapshot, ignore_errors=True)

        # Renders run in this process, one after the other (Copier is not thread-safe).
        render = make_renderer(snapshot, jobs[0])
        for number, job in enumerate(jobs):
            job.in_root = not on_host[job.python_version]
            parent = root_tmp if job.in_root and root_tmp else host_tmp
            job.project = parent / f"{number:03d}-py{job.python_version}-{job.profile}"
            render(job.project, job)
            text = (
                seed(job, choices) if not args.check else recorded(job.python_version, job.profile)
            )
            if text is not None:
                (job.project / "uv.lock").write_text(text)
        rendered_at = time.monotonic()
        print(f"{len(jobs)} renders in {rendered_at - started:.1f}s", flush=True)

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(
                pool.map(
                    lambda job: lock(
                        job,
                        root,
                        upgrade=args.upgrade,
                        check=args.check,
                        upgrade_packages=args.upgrade_package,
                    ),
                    jobs,
                )
            )
    if not args.check and not args.python and not args.profile and all(results):
        removed = collect_garbage()
        if removed:
            print(f"removed {removed} blocks no lock lists")
    failed = [job.label for job, ok in zip(jobs, results, strict=True) if not ok]
    print(
        f"{len(jobs) - len(failed)}/{len(jobs)} locks "
        f"{'current' if args.check else 'recorded'} in {time.monotonic() - started:.0f}s"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def _empty_copier_settings() -> str:
    path = Path(tempfile.mkdtemp()) / "copier-settings.yml"
    path.write_text("{}\n")
    return str(path)


if __name__ == "__main__":
    raise SystemExit(main())
