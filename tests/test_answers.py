"""Fast: invalid answers are refused by `copier copy` itself, and nothing is written.

Each case renders in-process with one bad answer (the rest default). Copier 9 raises a plain
`ValueError("Validation error for question '<name>': <message>")` when a validator renders a
non-empty message, and `ValueError("Invalid choice for '<name>': ...")` for an answer outside
`choices`; it asks every question before it writes a file, so the destination stays
untouched.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, load_validators, render

validators = load_validators()
QUESTIONS: dict[str, dict[str, Any]] = {
    name: spec
    for name, spec in yaml.safe_load((REPO_ROOT / "copier.yml").read_text()).items()
    if not name.startswith("_")
}
# Questions whose messages quote the refused answer back (names and descriptions don't).
NAMES_THE_ANSWER = frozenset({"project_slug", "author_email", "domain_name"})
VALIDATOR_RE = re.compile(r"\{\{\s*(\w+)\s*\|\s*(\w+)\s*\}\}")


def expected_message(question: str, value: str) -> str:
    """The message copier.yml's validator for `question` gives for `value`."""
    match = VALIDATOR_RE.fullmatch(QUESTIONS[question]["validator"])
    assert match, f"unexpected validator for {question}: {QUESTIONS[question]['validator']!r}"
    assert match.group(1) == question
    message = getattr(validators, match.group(2))(value)
    assert message, f"{match.group(2)}({value!r}) accepts the answer"
    return f"Validation error for question '{question}': {message}"


def assert_nothing_written(dst: Path) -> None:
    assert not dst.exists() or list(dst.iterdir()) == [], sorted(
        str(path.relative_to(dst)) for path in dst.rglob("*")
    )


# (question, bad answer, words the message must contain to name the problem)
INVALID_ANSWERS = [
    ("project_slug", "My-Service", "must be a lowercase Python identifier"),
    ("project_slug", "1abc", "must be a lowercase Python identifier"),
    ("project_slug", "my service", "must be a lowercase Python identifier"),
    ("project_slug", "", "must not be empty"),
    ("project_slug", "class", "is a Python keyword"),
    ("project_slug", "match", "is a Python keyword"),
    ("project_slug", "config", "would shadow the module 'config'"),
    ("project_slug", "apps", "would shadow the module 'apps'"),
    ("project_slug", "django", "would shadow the module 'django'"),
    ("project_slug", "rest_framework", "would shadow the module 'rest_framework'"),
    ("project_slug", "test", "would shadow the module 'test'"),
    ("project_slug", "tests", "would shadow the module 'tests'"),
    ("project_slug", "json", "would shadow the module 'json'"),
    ("project_slug", "x" * 51, "is longer than 50 characters"),
    ("project_name", "", "must not be empty"),
    ("project_name", 'The "Best" Service', "must not contain quotes"),
    ("description", "d" * 201, "must fit in 200 characters"),
    ("author_name", "   ", "must not be empty"),
    ("author_email", "platform", "is not an email address"),
    ("author_email", "platform@example", "is not an email address"),
    ("author_email", "a b@example.com", "is not an email address"),
    ("author_email", "a@@example.com", "is not an email address"),
    ("domain_name", "https://x.com", "must be a bare hostname, without scheme or path"),
    ("domain_name", "api.example.com/v1", "must be a bare hostname, without scheme or path"),
    ("domain_name", "localhost", "must be a dotted hostname"),
    ("domain_name", "API.example.com", "must be lowercase"),
    ("domain_name", "a..b.com", "is not a valid hostname"),
    ("domain_name", "-api.example.com", "is not a valid hostname"),
    ("domain_name", "", "must not be empty"),
]


@pytest.mark.parametrize(
    ("question", "value", "problem"),
    INVALID_ANSWERS,
    ids=[f"{question}={value!r}"[:60] for question, value, _ in INVALID_ANSWERS],
)
def test_invalid_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, question: str, value: str, problem: str
) -> None:
    dst = tmp_path / "service"
    with pytest.raises(ValueError) as excinfo:  # noqa: PT011 - the message is checked below
        render(dst, **{question: value})
    assert excinfo.type is ValueError
    message = str(excinfo.value)
    assert message == expected_message(question, value)
    assert problem in message
    if question in NAMES_THE_ANSWER and value:
        assert f"'{value}'" in message
    assert_nothing_written(dst)


def test_invalid_answer_leaves_an_existing_empty_destination_empty(tmp_path: Path) -> None:
    dst = tmp_path / "service"
    dst.mkdir()
    with pytest.raises(ValueError, match="is a Python keyword"):
        render(dst, project_slug="import")
    assert list(dst.iterdir()) == []


def test_name_that_derives_a_bad_slug_is_refused_through_the_default(tmp_path: Path) -> None:
    # The slug's default comes from the name; a derived slug is validated like a typed one.
    dst = tmp_path / "service"
    with pytest.raises(ValueError) as excinfo:  # noqa: PT011 - the message is checked below
        render(dst, project_name="Django")
    assert excinfo.type is ValueError
    assert str(excinfo.value) == expected_message("project_slug", "django")
    assert_nothing_written(dst)


@pytest.mark.parametrize("value", ["3.11", "3.16", "3"])
def test_python_version_outside_the_choices_is_refused(tmp_path: Path, value: str) -> None:
    dst = tmp_path / "service"
    with pytest.raises(ValueError) as excinfo:  # noqa: PT011 - the message is checked below
        render(dst, python_version=value)
    assert excinfo.type is ValueError
    assert str(excinfo.value).startswith(f"Invalid choice for 'python_version': '{value}'")
    assert_nothing_written(dst)


def test_at_least_ten_invalid_answers_cover_every_validated_question() -> None:
    validated = {name for name, spec in QUESTIONS.items() if "validator" in spec}
    assert len(INVALID_ANSWERS) >= 10
    assert {question for question, _, _ in INVALID_ANSWERS} == validated
