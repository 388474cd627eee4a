import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
REQUEST_ID_META_KEY = "request_id"


class RequestIdFilter(logging.Filter):
    """Adds the current request's id (or "-" outside a request) to every record.

    The id comes from the record's own request when it has one (Django's request logger
    passes it), else from the request being handled in this context.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        meta = getattr(request, "META", None)
        from_request = meta.get(REQUEST_ID_META_KEY) if isinstance(meta, dict) else None
        record.request_id = from_request or request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors; used by the prod settings."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        # Set by apps.core.telemetry.TraceIdFilter when the service traces.
        for key in ("trace_id", "span_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(
    *, formatter: Literal["plain", "json"], level: str | int, trace_ids: bool = False
) -> dict[str, Any]:
    """The `LOGGING` setting: one console handler that tags lines with the request id
    (and, with `trace_ids`, the trace and span ids)."""
    filters: dict[str, dict[str, str]] = {"request_id": {"()": "apps.core.logs.RequestIdFilter"}}
    if trace_ids:
        filters["trace_ids"] = {"()": "apps.core.telemetry.TraceIdFilter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "apps.core.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": list(filters),
                "formatter": formatter,
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django": {"handlers": ["console"], "level": level, "propagate": False}},
    }
