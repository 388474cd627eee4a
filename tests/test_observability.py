"""Slow: traces and metrics of a rendered service (observability=true, the default) run the
way production runs it, on loopback only.

An OTLP/HTTP receiver started here (a stdlib HTTP server decoding the protobuf with the
collector-side classes of opentelemetry-proto) stands in for the collector. gunicorn with
`config.settings.prod`, one worker, exports to it; PostgreSQL and Redis are real.

- A failed JWT log-in (it reads the user table and the throttle's Redis keys) arrives as a
  server span with its route and status, service name and version as resource attributes,
  and a PostgreSQL span as its child; Django's "Unauthorized" log line of that request
  carries the same trace id next to its request id.
- The gunicorn master serves Prometheus text on METRICS_BIND with that request counted by
  route and status, and query and cache timings; the public port answers /metrics 404.
- Without OTEL_EXPORTER_OTLP_ENDPOINT nothing is sent and log lines carry no trace id.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import host_python
from gates import base_env
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from postgres import Cluster, pg_cluster
from production_services import Server, gunicorn, http_request, prod_env, redis_server, unused_port
from test_production import json_lines, manage, synced_render

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = pytest.mark.slow

HOST = "api.example.com"
SERVICE_VERSION = "7.7.7-harness"
TOKEN_PATH = "/api/v1/auth/token/"  # noqa: S105 (a URL, not a password)
SPAN_KIND_SERVER = 2
WAIT = 15  # seconds for a batch of spans to arrive


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value") or "string_value")


@dataclass
class ReceivedSpan:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]


@dataclass
class OtlpReceiver:
    """Accepts OTLP/HTTP protobuf exports on POST /v1/traces and keeps every span."""

    port: int = 0
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> contextlib.AbstractContextManager[OtlpReceiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = (
                    self.path == "/v1/traces"
                    and self.headers.get("Content-Type") == "application/x-protobuf"
                )
                if ok:
                    receiver.add(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        @contextlib.contextmanager
        def running() -> Iterator[OtlpReceiver]:
            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self.port = int(server.server_address[1])
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield self
            finally:
                server.shutdown()
                server.server_close()
                thread.join(10)

        return running()

    def add(self, export: ExportTraceServiceRequest) -> None:
        with self._lock:
            self.requests += 1
            for resource_spans in export.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            ReceivedSpan(
                                name=span.name,
                                kind=span.kind,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                attributes={a.key: _value(a.value) for a in span.attributes},
                                resource=resource,
                            )
                        )

    def wait_for(self, predicate: Any, what: str) -> ReceivedSpan:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self._lock:
                found = [span for span in self.spans if predicate(span)]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"no {what} among {len(self.spans)} spans received: {self.spans}")


def failed_login(port: int) -> http.client.HTTPResponse:
    """POST wrong credentials to the JWT endpoint: a user lookup, then 401."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"email": "nobody@example.com", "password": "not-the-password"})
    connection.request("POST", TOKEN_PATH, body, {"Host": HOST, "Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def status_of(span: ReceivedSpan) -> Any:
    return span.attributes.get("http.response.status_code", span.attributes.get("http.status_code"))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_render(tmp_path_factory.mktemp("observability"), python_version=host_python())


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="module")
def database_url(service: Path, pg_cluster: Cluster) -> str:
    url = pg_cluster.create_database("observability")
    manage(service, prod_env(service, base_env(), url), "migrate", "--noinput")
    return url


def serve(
    service: Path, database_url: str, redis_url: str, log_dir: Path, **overrides: str
) -> contextlib.AbstractContextManager[Server]:
    env = prod_env(
        service,
        base_env(),
        database_url,
        REDIS_URL=redis_url,
        # Plain http on loopback: no TLS proxy in front here.
        DJANGO_SECURE_SSL_REDIRECT="false",
        SERVICE_VERSION=SERVICE_VERSION,
        OTEL_BSP_SCHEDULE_DELAY="100",  # export within 0.1 s instead of 5 s
        **overrides,
    )
    return gunicorn(service, env, log_dir)


# --------------------------------------------------------------------------- tests


def test_a_request_is_traced_to_the_collector_with_its_query_and_its_log_line(
    service: Path, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    metrics_port = unused_port()
    with (
        OtlpReceiver().serve() as receiver,
        serve(
            service,
            database_url,
            redis_url,
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver.port}",
            METRICS_BIND=f"127.0.0.1:{metrics_port}",
        ) as server,
    ):
        response = failed_login(server.port)
        assert response.status == 401, server.log()
        request_id = response.getheader("X-Request-ID")

        request_span = receiver.wait_for(
            lambda span: (
                span.kind == SPAN_KIND_SERVER
                and span.attributes.get("http.route") == TOKEN_PATH.lstrip("/")
            ),
            f"server span for {TOKEN_PATH}",
        )
        query_span = receiver.wait_for(
            lambda span: (
                span.parent_span_id == request_span.span_id
                and span.attributes.get("db.system", span.attributes.get("db.system.name"))
                == "postgresql"
            ),
            "PostgreSQL span under the request's span",
        )
        redis_span = receiver.wait_for(
            lambda span: (
                span.trace_id == request_span.trace_id
                and span.attributes.get("db.system", span.attributes.get("db.system.name"))
                == "redis"
            ),
            "Redis span in the request's trace",
        )
        metrics = http_request(metrics_port, "/metrics")
        public = http_request(server.port, "/metrics", {"Host": HOST})
        log = server.log()

    assert status_of(request_span) == 401
    assert request_span.resource["service.name"] == "my_service"
    assert request_span.resource["service.version"] == SERVICE_VERSION
    assert query_span.trace_id == redis_span.trace_id == request_span.trace_id

    lines = [line for line in json_lines(log) if line.get("request_id") == request_id]
    assert lines, f"no JSON log line with request id {request_id}:\n{log}"
    assert {line["trace_id"] for line in lines} == {request_span.trace_id}, lines

    assert metrics.status == 200
    assert (metrics.header("Content-Type") or "").startswith("text/plain; version=0.0.4")
    text = metrics.body.decode()
    counted = (
        'http_server_request_duration_seconds_count{method="POST",'
        f'route="{TOKEN_PATH.lstrip("/")}",status="401"}} 1.0'
    )
    assert counted in text, text
    assert 'db_query_duration_seconds_count{database="default"}' in text
    assert "cache_operation_duration_seconds_count{" in text
    assert public.status == 404, "the public port must not serve the metrics"


def test_without_an_endpoint_nothing_is_sent_and_lines_carry_no_trace_id(
    service: Path, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with (
        OtlpReceiver().serve() as receiver,
        serve(
            service,
            database_url,
            redis_url,
            tmp_path,
            # The exporter's own variables, but not the endpoint that switches tracing on.
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{receiver.port}/v1/traces",
            METRICS_BIND=f"127.0.0.1:{unused_port()}",
        ) as server,
    ):
        response = failed_login(server.port)
        time.sleep(1)  # ten export intervals
        log = server.log()

    assert response.status == 401
    assert receiver.requests == 0
    lines = [
        line
        for line in json_lines(log)
        if line.get("request_id") == response.getheader("X-Request-ID")
    ]
    assert lines, log
    assert {line["trace_id"] for line in lines} == {"-"}
