"""API benchmark entry point, kept for the command line documented in docs/benchmarks.md.

The benchmark is the package ``bench/api/`` (render and services, seeding, endpoints, load,
report); ``uv run python -m bench.api`` runs the same thing. See its docstring for what it
measures and how.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
