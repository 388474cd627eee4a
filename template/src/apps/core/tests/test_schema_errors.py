"""The schema documents the error contract (apps.core.schema.add_problem_responses)."""

import re
import sys
from typing import Any

import pytest
from django.test import Client

from apps.core.exceptions import PROBLEM_CONTENT_TYPE, ErrorCode
from apps.core.schema import PY_WHITESPACE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def test_the_problem_component_lists_every_error_code(schema: dict[str, Any]) -> None:
    problem = schema["components"]["schemas"]["Problem"]

    assert problem["properties"]["code"]["enum"] == [code.value for code in ErrorCode]
    assert set(problem["required"]) >= {"status", "code", "detail"}


def test_every_operation_documents_its_errors_as_problems(schema: dict[str, Any]) -> None:
    missing = []
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        expected = {"401", "403", "429", "503"}
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        if "{" in path:
            expected.add("404")
        if method in {"post", "put", "patch", "delete"}:
            expected |= {"400", "409"}
        for status in expected - responses.keys():
            missing.append(f"{method.upper()} {path}: {status}")
        for status in expected & {"429", "503"}:
            content = responses[status]["content"][PROBLEM_CONTENT_TYPE]
            assert content["schema"] == PROBLEM_REF
            assert "Retry-After" in responses[status]["headers"]
    assert missing == []


def test_query_strings_refuse_nul_and_blanks_as_validation_does(schema: dict[str, Any]) -> None:
    for _, _, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            spec = parameter["schema"]
            if parameter["in"] == "query" and spec.get("type") == "string":
                assert {"pattern", "enum", "format"} & spec.keys(), parameter
                if "pattern" in spec:
                    pattern = re.compile(spec["pattern"])
                    assert not pattern.search(""), parameter
                    assert not pattern.search(" \t"), parameter
                    assert not pattern.search("a\x00"), parameter


def test_blank_in_the_schema_is_blank_to_validation() -> None:
    # Given every character Python knows, when the schema's whitespace class is matched, then
    # it matches exactly the characters DRF's trimming removes: a string the schema calls
    # not blank is never refused as blank, and the reverse.
    whitespace = re.compile(PY_WHITESPACE)
    every_character = (chr(point) for point in range(sys.maxunicode + 1))
    mismatched = [
        hex(ord(character))
        for character in every_character
        if bool(whitespace.fullmatch(character)) != character.isspace()
    ]

    assert mismatched == []


def test_no_pattern_uses_an_ascii_only_word_class(schema: dict[str, Any]) -> None:
    # Python's \w (Django's validators) matches every script; a schema's \w is ASCII only.
    patterns = [
        f"{name}.{field}: {spec['pattern']}"
        for name, component in schema["components"]["schemas"].items()
        for field, spec in component.get("properties", {}).items()
        if "\\w" in spec.get("pattern", "")
    ]

    assert patterns == []
