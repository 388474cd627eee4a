"""Fast: extensions/compile_cache.py changes how fast a render is, never what it writes."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import jinja2
import yaml
from conftest import REPO_ROOT, render, template_snapshot

EXTENSION = "extensions/compile_cache.py:CompileCache"


def load_compile_cache() -> ModuleType:
    path = REPO_ROOT / "extensions" / "compile_cache.py"
    spec = importlib.util.spec_from_file_location("template_compile_cache", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in {".env", ".copier-answers.yml"}
    }


def test_the_template_loads_the_cache() -> None:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    assert EXTENSION in config["_jinja_extensions"]


def test_a_render_with_the_cache_is_byte_identical_to_one_without(tmp_path: Path) -> None:
    without = tmp_path / "template-without-cache"
    shutil.copytree(template_snapshot(), without)
    config = (without / "copier.yml").read_text()
    assert EXTENSION in config
    (without / "copier.yml").write_text(
        "".join(line for line in config.splitlines(keepends=True) if EXTENSION not in line)
    )
    answers = {"project_name": "Stock Ledger", "api_auth": "both", "use_cors": True}

    cached = render(tmp_path / "cached", **answers)
    plain = render(tmp_path / "plain", src=without, **answers)

    cached_files = files(cached)
    assert len(cached_files) > 100
    assert cached_files == files(plain)


def test_compile_is_memoized_per_environment_and_results_unchanged() -> None:
    module = load_compile_cache()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    assert module.install(env)
    assert module.install(env)  # idempotent
    first = env.from_string("{{ name }}-{{ n + 1 }}")
    second = env.from_string("{{ name }}-{{ n + 1 }}")
    assert len(env.compile.compile_cache) == 1  # type: ignore[attr-defined]
    assert first.render(name="a", n=1) == "a-2"
    assert second.render(name="b", n=2) == "b-3"  # templates share code, never state
    other = jinja2.Environment(autoescape=True)
    assert not hasattr(other.compile, "compile_cache"), "another environment is untouched"


def test_an_unknown_compile_signature_is_left_alone() -> None:
    module = load_compile_cache()
    env = jinja2.Environment(autoescape=True)

    def compile(source: str) -> object:  # a future Jinja's, say
        return source

    env.compile = compile  # type: ignore[method-assign]
    assert not module.install(env)
    assert env.compile is compile
