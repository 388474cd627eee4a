"""OpenAPI descriptions for this project's own building blocks (drf-spectacular).

Extensions register themselves when this module is imported: CoreConfig.ready() does it.
`add_problem_responses` is a postprocessing hook (SPECTACULAR_SETTINGS): every operation's
error answers, as problem documents, in the schema clients and fuzzers read.
"""

from typing import Any

from drf_spectacular.authentication import SessionScheme

from apps.core.exceptions import PROBLEM_CONTENT_TYPE, ErrorCode


class ProjectSessionScheme(SessionScheme):  # type: ignore[no-untyped-call]  # untyped registry hook
    """Documents apps.core.authentication.SessionAuthentication as cookie auth."""

    target_class = "apps.core.authentication.SessionAuthentication"


# --------------------------------------------------------------------- error responses

PROBLEM_COMPONENT = "Problem"
_UNSAFE_METHODS = {"post", "put", "patch", "delete"}
_WHY = {
    400: "The request is invalid: `errors` lists each field's messages and codes.",
    401: "No credentials, or credentials that are not valid (`token_not_valid`).",
    403: "Not allowed: permissions, or a session request without its CSRF token.",
    404: "No such resource here, or one this user may not see; or a page past the end.",
    409: "The write conflicts with another one that committed first.",
    413: "The request body is larger than this service accepts.",
    415: "The request body's content type is not one this operation reads.",
    429: "Too many requests: `Retry-After` says when to try again.",
    503: "The database cannot be reached: `Retry-After` says when to try again.",
}


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "An RFC 9457 problem document; clients branch on `code`.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "enum": [code.value for code in ErrorCode]},
            "instance": {"type": "string"},
            "errors": {
                "type": "object",
                "description": "Per field (or `non_field_errors`): its messages and codes.",
                "additionalProperties": True,
            },
        },
        "required": ["type", "title", "status", "detail", "code", "instance"],
    }


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer with, from what the operation takes."""
    statuses = {429, 503}  # every view is throttled and may need the database
    # Any request may carry credentials that fail (an expired token), or lack them.
    statuses |= {401, 403}
    parameters = operation.get("parameters", [])
    # Writes may be refused by a service's business rule (a ValidationError: 400) even
    # without a body, as may anything that takes a body or query parameters.
    takes_input = "requestBody" in operation or any(p.get("in") == "query" for p in parameters)
    if takes_input or method in _UNSAFE_METHODS:
        statuses.add(400)
    if "{" in path or any(p.get("name") == "page" for p in parameters):
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 415}
    if method in _UNSAFE_METHODS:
        statuses.add(409)
    return statuses


# DRF's CharField (and Django's form fields behind filters) refuse NUL characters, and trim
# surrounding whitespace before checking that a required string is not blank: the schema
# says the same, so that what it calls valid is what validation accepts. "Whitespace" is
# Python's (str.strip, str.isspace), spelled out: a pattern's \s is ECMAScript's, which
# leaves out \x1c-\x1f and \x85 and adds \ufeff.
PY_WHITESPACE = (
    r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
NO_NUL = r"^[^\x00]*$"
NOT_BLANK_NO_NUL = rf"^(?!{PY_WHITESPACE}*$)[^\x00]*$"


def _constrain_string(schema: dict[str, Any], *, not_blank: bool = False) -> None:
    if schema.get("type") != "string" or {"enum", "pattern", "format"} & schema.keys():
        return
    not_blank = not_blank or schema.get("minLength", 0) > 0
    schema["pattern"] = NOT_BLANK_NO_NUL if not_blank else NO_NUL


def _constrain_strings(result: dict[str, Any]) -> None:
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            for field in component.get("properties", {}).values():
                _constrain_string(field)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    # A query parameter sent must have a value (StrictFilterBackend).
                    _constrain_string(parameter.get("schema", {}), not_blank=True)


def _drop_unicode_word_patterns(result: dict[str, Any]) -> None:
    # Django's validators use Python's `\w`, which matches letters of every script (the
    # slugs of apps.core.slugs); a schema pattern's `\w` is ECMAScript's, ASCII only, so
    # spectacular's "^[-\w]+$" for a Unicode SlugField would call valid slugs invalid. No
    # pattern is better than a wrong one.
    for component in result.get("components", {}).get("schemas", {}).values():
        for field in component.get("properties", {}).values():
            if "\\w" in field.get("pattern", ""):
                del field["pattern"]


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document the error answers of every operation,
    and the string rules DRF applies that spectacular does not write down.

    Each error is a `Problem` (application/problem+json, apps.core.exceptions); responses an
    operation already documents (its own 400 or 413 with a description) are kept.
    """
    _constrain_strings(result)
    _drop_unicode_word_patterns(result)
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[PROBLEM_COMPONENT] = _problem_schema()
    reference = {"$ref": f"#/components/schemas/{PROBLEM_COMPONENT}"}
    retry_after = {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                if str(status) in responses:
                    # The operation's own description stays; the body is still a Problem.
                    responses[str(status)].setdefault(
                        "content", {PROBLEM_CONTENT_TYPE: {"schema": reference}}
                    )
                    continue
                response: dict[str, Any] = {
                    "description": _WHY[status],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": reference}},
                }
                if status in {429, 503}:
                    response["headers"] = retry_after
                responses[str(status)] = response
    return result
