"""Fast unit tests of extensions/validators.py: the slug derivation and every answer rule.

Each `*_problem` filter returns "" for a good answer and a one-line message naming the
problem for a bad one; Copier shows that message and refuses the answer. The messages are
asserted word for word: they are what a user reads.
"""

from __future__ import annotations

import sys

import pytest
from conftest import load_validators
from jinja2 import Environment, StrictUndefined

validators = load_validators()


# --- to_slug ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Service", "my_service"),
        ("Inventory", "inventory"),
        ("My API 2", "my_api_2"),
        ("  Inventory   Service  ", "inventory_service"),
        ("Order-Management", "order_management"),
        ("billing.v2", "billing_v2"),
        ("--Hello--World--", "hello_world"),
        ("Café Orders", "caf_orders"),
        ("3D Printing", "service_3d_printing"),
        ("2024", "service_2024"),
        ("snake_case_already", "snake_case_already"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_to_slug_derives_a_lowercase_identifier(name: str, slug: str) -> None:
    assert validators.to_slug(name) == slug


@pytest.mark.parametrize("name", ["My Service", "Inventory Service", "3D Printing", "My API 2"])
def test_derived_slug_of_an_ordinary_name_is_accepted(name: str) -> None:
    assert validators.slug_problem(validators.to_slug(name)) == ""


# --- slug_problem -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug", ["my_service", "inventory", "a", "api2", "order_v2_service", "x" * 50]
)
def test_slug_problem_accepts_a_lowercase_identifier(slug: str) -> None:
    assert validators.slug_problem(slug) == ""


def test_slug_problem_rejects_an_empty_slug() -> None:
    assert validators.slug_problem("") == "The project slug must not be empty."


@pytest.mark.parametrize(
    "slug",
    ["My-Service", "my-service", "MyService", "1abc", "_private", "_", "my service", "naïve"],
)
def test_slug_problem_rejects_a_non_identifier(slug: str) -> None:
    assert validators.slug_problem(slug) == (
        f"The project slug '{slug}' must be a lowercase Python identifier: "
        "a letter first, then lowercase letters, digits or underscores."
    )


@pytest.mark.parametrize("slug", ["class", "def", "import", "lambda", "match", "case", "type"])
def test_slug_problem_rejects_a_keyword(slug: str) -> None:
    # "match", "case" and "type" are soft keywords: legal names, but confusing ones.
    assert validators.slug_problem(slug) == f"The project slug '{slug}' is a Python keyword."


def _shadow_message(slug: str) -> str:
    return (
        f"The project slug '{slug}' would shadow the module '{slug}' that the project "
        "imports; choose another name."
    )


@pytest.mark.parametrize("slug", sorted(validators.PROJECT_NAMES))
def test_slug_problem_rejects_every_name_the_project_imports(slug: str) -> None:
    assert validators.slug_problem(slug) == _shadow_message(slug)


@pytest.mark.parametrize(
    "slug", ["json", "os", "typing", "email", "logging", "secrets", "string", "http", "ast"]
)
def test_slug_problem_rejects_a_stdlib_module(slug: str) -> None:
    assert slug in sys.stdlib_module_names
    assert validators.slug_problem(slug) == _shadow_message(slug)


def test_project_names_cover_the_imports_the_issue_names() -> None:
    assert {"config", "apps", "django", "rest_framework", "test", "tests"} <= (
        validators.PROJECT_NAMES
    )


def test_slug_problem_rejects_a_slug_longer_than_fifty_characters() -> None:
    slug = "x" * 51
    assert validators.slug_problem(slug) == (
        f"The project slug '{slug}' is longer than 50 characters."
    )


# --- name_problem and description_problem -------------------------------------------------


@pytest.mark.parametrize("value", ["My Service", "Platform Team", "Équipe Plateforme", "O'Brien"])
def test_name_problem_accepts_a_plain_name(value: str) -> None:
    assert validators.name_problem(value) == ""


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_name_problem_rejects_an_empty_name(value: str) -> None:
    assert validators.name_problem(value) == "This answer must not be empty."


@pytest.mark.parametrize("value", ['Say "hi"', "back\\slash", "two\nlines", "carriage\rreturn"])
def test_name_problem_rejects_characters_that_break_the_generated_files(value: str) -> None:
    assert validators.name_problem(value) == (
        "This answer must not contain quotes, backslashes or line breaks."
    )


def test_description_problem_accepts_two_hundred_characters() -> None:
    assert validators.description_problem("d" * 200) == ""


def test_description_problem_rejects_more_than_two_hundred_characters() -> None:
    assert validators.description_problem("d" * 201) == (
        "The description must fit in 200 characters; say the rest in the README."
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "This answer must not be empty."),
        ('A "quoted" service', "This answer must not contain quotes, backslashes or line breaks."),
    ],
)
def test_description_problem_applies_the_name_rules(value: str, message: str) -> None:
    assert validators.description_problem(value) == message


# --- email_problem ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["platform@example.com", "a.b+tag@sub.example.co.uk", "x@y.io"])
def test_email_problem_accepts_an_address(value: str) -> None:
    assert validators.email_problem(value) == ""


@pytest.mark.parametrize(
    "value",
    [
        "",
        "platform",
        "platform@example",
        "@example.com",
        "platform@",
        "a@@example.com",
        "a@b@example.com",
        "a b@example.com",
        "platform@example.com ",
    ],
)
def test_email_problem_rejects_a_non_address(value: str) -> None:
    assert validators.email_problem(value) == (
        f"'{value}' is not an email address (expected name@domain.tld)."
    )


# --- hostname_problem ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "api.example.com",
        "example.com",
        "my-api.example.co.uk",
        "a1.b2.io",
        "xn--bcher-kva.example",
        f"{'a' * 63}.com",
    ],
)
def test_hostname_problem_accepts_a_hostname(value: str) -> None:
    assert validators.hostname_problem(value) == ""


@pytest.mark.parametrize("value", ["", " api.example.com", "api.example.com "])
def test_hostname_problem_rejects_empty_or_padded(value: str) -> None:
    assert validators.hostname_problem(value) == (
        "The domain name must not be empty or contain spaces."
    )


@pytest.mark.parametrize("value", ["https://x.com", "http://api.example.com", "x.com/path"])
def test_hostname_problem_rejects_a_url(value: str) -> None:
    assert validators.hostname_problem(value) == (
        f"The domain name '{value}' must be a bare hostname, without scheme or path."
    )


@pytest.mark.parametrize("value", ["API.example.com", "Example.COM"])
def test_hostname_problem_rejects_uppercase(value: str) -> None:
    assert validators.hostname_problem(value) == f"The domain name '{value}' must be lowercase."


@pytest.mark.parametrize(
    "value", ["localhost", "api", f"{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 63}"]
)
def test_hostname_problem_rejects_an_undotted_or_overlong_name(value: str) -> None:
    assert validators.hostname_problem(value) == (
        f"The domain name '{value}' must be a dotted hostname such as api.example.com."
    )


@pytest.mark.parametrize(
    "value",
    [
        "a..b.com",
        "-api.example.com",
        "api-.example.com",
        "api_x.example.com",
        "api.example.com.",
        "api .example.com",
        "10.0.0.1",
        f"{'a' * 64}.com",
    ],
)
def test_hostname_problem_rejects_an_invalid_label(value: str) -> None:
    assert validators.hostname_problem(value) == (
        f"The domain name '{value}' is not a valid hostname: use letters, digits and "
        "hyphens between dots."
    )


# --- the Jinja extension copier.yml loads -------------------------------------------------


def test_extension_registers_every_filter_copier_yml_uses() -> None:
    # Copier renders text files without autoescaping; so does this environment.
    env = Environment(  # noqa: S701
        extensions=[validators.AnswerValidators], undefined=StrictUndefined
    )
    assert env.from_string("{{ 'My Service' | to_slug }}").render() == "my_service"
    assert env.from_string("{{ 'my_service' | slug_problem }}").render() == ""
    assert env.from_string("{{ 'class' | slug_problem }}").render() == (
        "The project slug 'class' is a Python keyword."
    )
    for name in (
        "name_problem",
        "description_problem",
        "email_problem",
        "hostname_problem",
    ):
        assert env.filters[name] is getattr(validators, name)
