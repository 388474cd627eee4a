"""Fast: the rendered settings read as hand-written for every answer set.

The optional blocks of base.py.jinja (JWT, CORS, the task backend, observability) must leave
exactly one blank line between top-level statements whichever of them are rendered: no
block glued to the line before it, no double blank line where one is left out. The
template is rendered with Jinja directly (Copier's own environment options), every
combination of the answers it reads, so the check is quick and exhaustive.
"""

from __future__ import annotations

import ast
import itertools

import jinja2
import pytest
from conftest import REPO_ROOT

BASE = REPO_ROOT / "template/src/config/settings/base.py.jinja"
FIXED = {
    "project_name": "Shop",
    "project_slug": "shop",
    "description": "A shop.",
    "domain_name": "api.example.com",
}
VARYING = {
    "api_auth": ["session", "jwt", "both"],
    "use_cors": [False, True],
    "task_backend": ["django_tasks", "celery"],
    "observability": [False, True],
    "example_app": [False, True],
}
COMBINATIONS = [
    dict(zip(VARYING, values, strict=True)) for values in itertools.product(*VARYING.values())
]


def render(answers: dict[str, object]) -> str:
    # Python source, not HTML: nothing to escape (Copier renders without autoescape too).
    environment = jinja2.Environment(  # noqa: S701
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    context = {
        **FIXED,
        **answers,
        "use_jwt": answers["api_auth"] in {"jwt", "both"},
        "use_session": answers["api_auth"] in {"session", "both"},
    }
    return environment.from_string(BASE.read_text()).render(context)


def label(answers: dict[str, object]) -> str:
    return "-".join(str(value) for value in answers.values())


# The first line of each block that some answers leave out, and of the block after them.
BLOCK_STARTS = (
    "SIMPLE_JWT = {",
    "# Browser clients on these origins (scheme included) may call the API; nobody else.",
    "# Tasks run in-process, at once, in dev and tests; prod stores them for the db_worker.",
    "# Celery: JSON only (no pickle), acknowledge after the task ran so a crashed worker's",
    "# Local memory suits one process; prod replaces it with Redis, shared by every worker.",
)


@pytest.mark.parametrize("answers", COMBINATIONS, ids=label)
def test_each_optional_block_has_one_blank_line_before_it(answers: dict[str, object]) -> None:
    text = render(answers)
    ast.parse(text)
    lines = text.splitlines()

    assert "\n\n\n" not in text, "two blank lines in a row"
    assert not text.endswith("\n\n"), "a blank line at the end"
    present = [start for start in BLOCK_STARTS if start in lines]
    assert len(present) >= 2, "the block starts above are out of date"
    for start in present:
        index = lines.index(start)
        assert lines[index - 1] == "", f"no blank line before {start!r}"
        assert lines[index - 2] != "", f"two blank lines before {start!r}"


@pytest.mark.parametrize(
    "answers", [a for a in COMBINATIONS if a["api_auth"] != "session"], ids=label
)
def test_the_jwt_block_has_one_blank_line_on_each_side(answers: dict[str, object]) -> None:
    lines = render(answers).splitlines()
    start = lines.index("SIMPLE_JWT = {")
    end = lines.index("}", start)

    assert lines[start - 1] == ""
    assert lines[start - 2] != ""
    assert lines[end + 1] == ""
    assert lines[end + 2] != ""
