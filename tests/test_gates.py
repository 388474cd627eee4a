"""Slow: render a service per supported Python and run every gate of STANDARDS.md on it.

`uv sync --locked` first (nothing else can run without it); then every other gate runs even
when an earlier one failed, and the test fails with each failing gate's name, command and
full output. The generated tests run against a PostgreSQL cluster this session starts
(tests/postgres.py), one database per render.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import SUPPORTED_PYTHONS, render
from gates import SYNC_GATE, assert_gates_green, base_env, run_gate, venv_python_version
from postgres import Cluster, pg_cluster

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("python_version", SUPPORTED_PYTHONS)
def test_every_gate_is_green(python_version: str, tmp_path: Path, pg_cluster: Cluster) -> None:
    project = render(tmp_path / "svc", python_version=python_version)
    env = base_env()

    synced = run_gate(SYNC_GATE, project, env)
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    assert venv_python_version(project) == python_version, (
        f"uv sync built .venv with Python {venv_python_version(project)}, "
        f"not the chosen {python_version}"
    )
    lock_before = (project / "uv.lock").read_bytes()

    database_url = pg_cluster.create_database(f"gates_py{python_version.replace('.', '')}")
    schema = tmp_path / "schema.yaml"
    assert_gates_green(project, database_url, schema, env, label=f"on Python {python_version}")
    assert (project / "uv.lock").read_bytes() == lock_before, "a gate rewrote uv.lock"
    document = yaml.safe_load(schema.read_text())
    assert str(document["openapi"]).startswith("3."), "spectacular wrote no OpenAPI document"
    assert document["paths"], "the OpenAPI schema has no paths"
