"""Tracing cost per request of the example list, in one process: no tracer (observability
on, no OTLP endpoint: the default) against exporting (Django and psycopg instrumented, a
BatchSpanProcessor sending OTLP/HTTP to a discarding server in another process), in
alternating phases so that both see the same machine load. CPU is the process's own
(process_time: the request and the span export thread), through Django's test client.

Copy into a rendered service (observability=true, example_app=true) and run there:

    cp bench/observability/tracing_ab_test.py SERVICE/src/apps/catalog/tests/test_zz_ab.py
    cd SERVICE && uv run pytest -q -s --no-cov -W ignore src/apps/catalog/tests/test_zz_ab.py
"""

import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
from apps.catalog.tests.factories import ProductFactory, ReviewFactory
from apps.users.tests.factories import UserFactory
from django.db import connection
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from rest_framework.test import APIClient

SINK = textwrap.dedent("""
    import http.server
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
""")
REQUESTS, PAIRS = 150, 4


def cpu_ms_per_request(user: Any, n: int) -> float:
    client = APIClient()  # a new handler: the middleware list is read again
    client.force_authenticate(user)
    started = time.process_time()
    for _ in range(n):
        assert client.get("/api/v1/catalog/products/?page_size=25").status_code == 200
    return (time.process_time() - started) / n * 1000


@pytest.mark.django_db(transaction=True)  # connections are reopened between phases
def test_tracing_cost() -> None:
    user = UserFactory.create()
    for i in range(40):
        product = ProductFactory.create(published=True)
        for rating in range(i % 5):
            ReviewFactory.create(product=product, rating=1 + rating)
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    endpoint = f"http://127.0.0.1:{int(sink.stdout.readline())}/v1/traces"
    provider = TracerProvider()
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    off, on = [], []
    try:
        cpu_ms_per_request(user, 30)  # warm-up
        for _ in range(PAIRS):
            connection.close()
            off.append(cpu_ms_per_request(user, REQUESTS))
            DjangoInstrumentor().instrument(tracer_provider=provider)
            PsycopgInstrumentor().instrument(tracer_provider=provider)
            connection.close()  # the next connection is an instrumented one
            on.append(cpu_ms_per_request(user, REQUESTS))
            processor.force_flush()
            DjangoInstrumentor().uninstrument()
            PsycopgInstrumentor().uninstrument()
        processor.force_flush()
    finally:
        sink.terminate()
    print(f"\nno tracer  ms CPU/request: {[round(x, 2) for x in off]}")
    print(f"exporting  ms CPU/request: {[round(x, 2) for x in on]}")
    ratios = sorted(round(b / a, 3) for a, b in zip(off, on, strict=True))
    print(f"exporting / no tracer, per pair: {ratios}")
