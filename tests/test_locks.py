"""The recorded locks (extensions/locks/, docs/locking.md).

FAST: the store is sound: every Python choice x dependency profile has an index, every block
an index lists exists and is named by its content's hash, splitting a lock into blocks and
joining them gives it back byte for byte, and PROFILE_PARTS names 64 distinct profiles.

SLOW: `scripts/relock.py --check`: every recorded lock is still what `uv lock` writes for
its render (3.14 and 3.15 inside the sid root), so a service's `uv sync --locked` installs
the versions the gates ran.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import QUESTIONS, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "extensions"))

import context

PYTHON_CHOICES = tuple(str(choice) for choice in QUESTIONS["python_version"]["choices"])
PROFILES = sorted({context.dependency_profile(a) for a in context.profile_answers()})


def test_profile_parts_cover_every_answer_of_their_questions() -> None:
    for part in context.PROFILE_PARTS:
        spec = QUESTIONS[part.question]
        if spec.get("type") == "bool":
            values: list[object] = [True, False]
        else:
            choices = spec["choices"]
            values = list(choices.values()) if isinstance(choices, dict) else list(choices)
        assert set(part.parts) == set(values), part.question
        if part.absent is not None:
            assert part.absent in part.parts, part.question
    # Every combination of distinct parts is one profile, and names never collide.
    distinct = 1
    for part in context.PROFILE_PARTS:
        distinct *= len(set(part.parts.values()))
    assert len(context.profile_answers()) == distinct == len(PROFILES)


def test_every_python_and_profile_has_a_recorded_lock() -> None:
    missing = [
        f"py{version}-{profile}"
        for version in PYTHON_CHOICES
        for profile in PROFILES
        if not context.lock_path(version, profile).is_file()
    ]
    assert missing == [], f"no lock recorded (run scripts/relock.py): {missing}"
    expected = {context.lock_path(v, p).name for v in PYTHON_CHOICES for p in PROFILES}
    recorded = {path.name for path in context.LOCKS_DIR.glob("*.idx")}
    assert recorded - expected == set(), "indexes for no Python choice or profile"
    assert not list(context.LOCKS_DIR.glob("*.lock")), "locks in the old one-file format"


def test_blocks_are_content_addressed_and_every_listed_block_exists() -> None:
    listed = {
        name for index in context.LOCKS_DIR.glob("*.idx") for name in index.read_text().split()
    }
    stored = {path.stem: path for path in context.BLOCKS_DIR.glob("*.toml")}
    assert listed - stored.keys() == set(), "indexes list blocks that are not stored"
    assert stored.keys() - listed == set(), "blocks no index lists (relock.py removes them)"
    for name, path in stored.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == name, path.name


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_reassembled_locks_are_whole_locks(python_version: str) -> None:
    """Each index: a header for this Python, then package entries, one of them the
    placeholder project; every block valid TOML (each parsed once, not once per lock)."""
    blocks = {path.stem: path.read_text() for path in context.BLOCKS_DIR.glob("*.toml")}
    packages = package_blocks()
    indexes = sorted(context.LOCKS_DIR.glob(f"py{python_version.replace('.', '')}-*.idx"))
    assert indexes
    for index in indexes:
        names = index.read_text().split()
        header = tomllib.loads(blocks[names[0]])
        assert header["requires-python"] == f">={python_version}", index.name
        assert "package" not in header, index.name
        assert all(name in packages for name in names[1:]), index.name
        roots = [
            packages[n]["name"] for n in names[1:] if packages[n]["source"] == {"virtual": "."}
        ]
        assert roots == [context.LOCK_NAME_PLACEHOLDER], index.name
        listed = [packages[n]["name"] for n in names[1:]]
        assert listed == sorted(listed), f"{index.name}: packages out of uv's order"


def package_blocks() -> dict[str, dict[str, Any]]:
    """Each stored [[package]] block, parsed once (the same entry serves many locks)."""
    parsed = {}
    for path in context.BLOCKS_DIR.glob("*.toml"):
        text = path.read_text()
        if text.startswith("[[package]]\n"):
            parsed[path.stem] = tomllib.loads(text)["package"][0]
    return parsed


def locked_packages(python_version: str) -> dict[str, list[dict[str, Any]]]:
    """Every lock of one Python: its index name -> its package entries."""
    blocks = package_blocks()
    return {
        index.name: [blocks[name] for name in index.read_text().split() if name in blocks]
        for index in context.LOCKS_DIR.glob(f"py{python_version.replace('.', '')}-*.idx")
    }


# Packages with no wheel for a Python, built from their sdist there (docs/locking.md).
BUILT_FROM_SDIST: dict[str, set[str]] = {}


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_every_locked_package_has_a_wheel_for_its_python(python_version: str) -> None:
    """uv sync must not need a compiler: a platform wheel for this CPython (or abi3), or a
    pure-Python one, for Linux x86_64 (the CI and the python:3.X-slim image)."""
    tag = f"cp{python_version.replace('.', '')}"
    missing = set()
    for packages in locked_packages(python_version).values():
        for package in packages:
            wheels = [wheel["url"].rsplit("/", 1)[-1] for wheel in package.get("wheels", [])]
            if package["source"] == {"virtual": "."}:
                continue
            usable = [
                wheel
                for wheel in wheels
                if wheel.endswith("-any.whl")
                or (
                    "x86_64" in wheel
                    and "linux" in wheel
                    and (f"-{tag}-" in wheel or "-abi3-" in wheel or "-py3-none-" in wheel)
                )
            ]
            if not usable:
                missing.add(f"{package['name']} {package['version']}")
    allowed = BUILT_FROM_SDIST.get(python_version, set())
    assert missing == allowed, f"no wheel on Python {python_version}: {sorted(missing)}"


def test_split_and_store_give_the_lock_back_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        'version = 1\nrequires-python = ">=3.14"\n\n'
        '[[package]]\nname = "a"\nversion = "1"\n\n'
        '[[package]]\nname = "b"\nversion = "2"\n'
        'wheels = [\n    { url = "x", hash = "sha256:0" },\n]\n\n'
        '[[package]]\nname = "c"\nversion = "3"\n'  # no trailing blank line
    )
    blocks = context.split_lock(text)
    assert "".join(blocks) == text
    assert len(blocks) == 4
    assert all(block.startswith("[[package]]\n") for block in blocks[1:])

    monkeypatch.setattr(context, "BLOCKS_DIR", tmp_path / "blocks")
    context.store_lock(text, tmp_path / "one.idx")
    context.store_lock(text.replace('"2"', '"2.1"'), tmp_path / "two.idx")
    assert context.load_lock(tmp_path / "one.idx") == text
    assert context.load_lock(tmp_path / "two.idx") == text.replace('"2"', '"2.1"')
    assert len(list((tmp_path / "blocks").iterdir())) == 5  # a, c and the header shared
    assert context.split_lock("") == []
    assert context.split_lock("version = 1\n") == ["version = 1\n"]


def test_recorded_lock_becomes_the_services_lock() -> None:
    answers = {name: spec.get("default") for name, spec in QUESTIONS.items()}
    answers |= {"project_slug": "stock_ledger", "python_version": "3.14"}
    text = context.uv_lock(answers)
    index = context.lock_path("3.14", context.dependency_profile(answers))
    assert text == context.load_lock(index).replace(
        f'"{context.LOCK_NAME_PLACEHOLDER}"', '"stock-ledger"'
    )
    assert context.LOCK_NAME_PLACEHOLDER not in text


def load_relock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relock", REPO_ROOT / "scripts" / "relock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["relock"] = module  # its dataclass looks the module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("python_version", "profile"),
    [(PYTHON_CHOICES[0], PROFILES[0]), (PYTHON_CHOICES[-1], PROFILES[-1])],
)
def test_relock_direct_render_writes_what_copier_writes(
    tmp_path: Path, python_version: str, profile: str
) -> None:
    """relock.py renders pyproject.toml without Copier for speed; it must be the same bytes
    (relock.py also compares the two on its first lock and falls back to Copier)."""
    relock = load_relock()
    answers = next(a for a in context.profile_answers() if context.dependency_profile(a) == profile)
    job = relock.Job(python_version, answers)
    snapshot = relock.template_snapshot()
    try:
        relock.copier_render(snapshot, tmp_path / "copier", job)
        relock.DirectRenderer(snapshot).render(tmp_path / "direct", job)
    finally:
        shutil.rmtree(snapshot)
    for name in relock.RENDERED:
        written = name.removesuffix(".jinja")
        copier_text = (tmp_path / "copier" / written).read_text()
        assert (tmp_path / "direct" / written).read_text() == copier_text, written
    assert f'requires-python = ">={python_version}"' in copier_text + (
        (tmp_path / "copier" / "pyproject.toml").read_text()
    )


@pytest.mark.slow
def test_recorded_locks_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "relock.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )

    assert result.returncode == 0, (
        "a recorded lock is stale: run `uv run python scripts/relock.py`\n"
        f"{result.stdout}\n{result.stderr}"
    )
    assert f"{len(PYTHON_CHOICES) * len(PROFILES)}/" in result.stdout
