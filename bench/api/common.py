"""Shared by the API benchmark's modules: constants, logging, subprocesses, ports."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE_SIZES = (1, 25, 100)
LOAD_PAGE_SIZE = 25
TARGET_VS_NAIVE = 1.0
TARGET_VS_LIMIT = 0.6
QUIET_CORES = 0.25  # --wait-quiet: other processes' CPU use below which the machine is quiet
# pyenv's shims re-resolve the interpreter on every call and confuse uv; use the real one.
PYENV_PYTHON_BIN = Path("/root/.pyenv/versions/3.13.0/bin")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    what: str = "",
    timeout: float = 900,
) -> str:
    """Run a command to completion; on failure raise with its output."""
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    if result.returncode:
        raise RuntimeError(
            f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return result.stdout
