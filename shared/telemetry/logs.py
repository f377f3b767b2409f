"""Logs: one line per event, as JSON (production) or text (development), each naming the
service and the trace and span it was written in, so a log line leads to its trace.

Configured once as the process starts (``shared.cli serve``), from ``ONESTORY_LOG_FORMAT`` and
``ONESTORY_LOG_LEVEL``. Messages never carry patient data: they name resources by type and
say what happened, and exceptions are logged with their traceback but the database's errors
never quote parameters (``Database`` hides them).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

from shared.settings import Settings

# What every LogRecord has; anything else on a record was given as ``extra``.
_STANDARD = frozenset(
    set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
    | {"message", "asctime", "taskName", "service", "trace_id", "span_id"}
)


class TraceContext(logging.Filter):
    """Puts the service's name and the current trace and span ids on every record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.service = self.service
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else ""
        record.span_id = format(context.span_id, "016x") if context.is_valid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service, trace_id, span_id,
    then whatever the call gave as ``extra``, and the exception if there was one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": getattr(record, "service", ""),
            "trace_id": getattr(record, "trace_id", "") or None,
            "span_id": getattr(record, "span_id", "") or None,
        }
        entry |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(service)s %(trace_id)s] %(message)s"


def configure_logging(service: str, settings: Settings) -> None:
    """Send every logger's records to standard output, in the configured format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(TraceContext(service))
    json_lines = settings.effective_log_format() == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # httpx logs each request's full URL at INFO (query strings: NHS numbers, names), and
    # Alembic every plugin it loads: only their warnings are wanted.
    for chatty in ("httpx", "httpcore", "alembic"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
