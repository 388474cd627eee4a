import json
import logging

from django.test import Client

from apps.core.logs import JsonFormatter, RequestIdFilter, request_id_var


def test_response_carries_a_new_request_id(client: Client) -> None:
    response = client.get("/healthz")

    assert len(response["X-Request-ID"]) == 32


def test_a_valid_incoming_request_id_is_kept(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "edge-42.a_b"})

    assert response["X-Request-ID"] == "edge-42.a_b"


def test_an_unsafe_incoming_request_id_is_replaced(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "bad id\nforged-log-line"})

    assert response["X-Request-ID"] != "bad id\nforged-log-line"
    assert len(response["X-Request-ID"]) == 32


def test_json_log_line_carries_the_request_id() -> None:
    record = logging.LogRecord("app", logging.WARNING, __file__, 1, "paid %s", ("42",), None)
    token = request_id_var.set("req-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)

    line = json.loads(JsonFormatter().format(record))

    assert line["request_id"] == "req-1"
    assert line["message"] == "paid 42"
    assert line["level"] == "WARNING"
    assert line["logger"] == "app"


def test_json_log_line_includes_the_exception() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    line = json.loads(JsonFormatter().format(record))

    assert line["request_id"] == "-"
    assert "RuntimeError: boom" in line["exception"]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_django_request_log_lines_carry_the_request_id(client: Client) -> None:
    # Django logs a 404 after the middleware chain has returned; the id must still be there.
    handler = _Collector()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/no-such-page/", headers={"X-Request-ID": "edge-404"})
    finally:
        logger.removeHandler(handler)

    assert [(r.levelname, getattr(r, "request_id", None)) for r in handler.records] == [
        ("WARNING", "edge-404")
    ]
