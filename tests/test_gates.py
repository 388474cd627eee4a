"""Slow: render a service on every Python choice and run every gate of STANDARDS.md on it.

3.12 and 3.13 run on the host; 3.14 and 3.15, where the host has no interpreter, inside the
Debian sid root (tests/sidroot.py), as a `python:3.1X` container would run them.

`uv sync --locked` first (nothing else can run without it); then every other gate runs even
when an earlier one failed, and the test fails with each failing gate's name, command and
full output. The generated tests run against a PostgreSQL cluster this session starts
(tests/postgres.py), one database per render.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import QUESTIONS, render
from gates import SYNC_GATE, assert_gates_green, run_gate, venv_python_version
from postgres import Cluster, pg_cluster
from sidroot import toolchain

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

PYTHON_CHOICES = tuple(str(choice) for choice in QUESTIONS["python_version"]["choices"])


@pytest.mark.parametrize("python_version", PYTHON_CHOICES)
def test_every_gate_is_green(python_version: str, tmp_path: Path, pg_cluster: Cluster) -> None:
    with toolchain(python_version, tmp_path) as (workdir, env, root):
        project = render(workdir / "svc", python_version=python_version)

        synced = run_gate(SYNC_GATE, project, env, root)
        if not synced.ok:
            pytest.fail(synced.report(), pytrace=False)
        assert venv_python_version(project, root) == python_version, (
            f"uv sync built .venv with Python {venv_python_version(project, root)}, "
            f"not the chosen {python_version}"
        )
        lock_before = (project / "uv.lock").read_bytes()

        database_url = pg_cluster.create_database(f"gates_py{python_version.replace('.', '')}")
        schema = workdir / "schema.yaml"
        assert_gates_green(
            project, database_url, schema, env, label=f"on Python {python_version}", root=root
        )
        assert (project / "uv.lock").read_bytes() == lock_before, "a gate rewrote uv.lock"
        document = yaml.safe_load(schema.read_text())
    assert str(document["openapi"]).startswith("3."), "spectacular wrote no OpenAPI document"
    assert document["paths"], "the OpenAPI schema has no paths"
