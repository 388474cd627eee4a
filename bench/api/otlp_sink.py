"""An OTLP/HTTP receiver on loopback for ``--observability export``: it counts the spans
the service exports and discards them, standing in for a collector.

Its CPU is the bench process's, not the service's: the figures measure what exporting costs
the service (building spans, batching, serializing, sending), not the collector.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SpanCounter:
    def __init__(self) -> None:
        self.port = 0
        self.spans = 0
        self.exports = 0
        self._lock = threading.Lock()

    def add(self, body: bytes) -> None:
        # Imported here: only --observability export needs opentelemetry-proto.
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        export = ExportTraceServiceRequest.FromString(body)
        count = sum(len(s.spans) for r in export.resource_spans for s in r.scope_spans)
        with self._lock:
            self.exports += 1
            self.spans += count


@contextlib.contextmanager
def otlp_sink() -> Iterator[SpanCounter]:
    counter = SpanCounter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a collector serves the exporter

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/v1/traces":
                counter.add(body)
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    counter.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
