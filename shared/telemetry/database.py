"""Database spans: one client span per SQL statement, in the trace of the request that ran it.

A span names the operation and the table (``SELECT resource``), never the statement's text
nor its parameters: the values a query compares with are patient data (an NHS number, a name).
SQLAlchemy's engine events are used rather than an instrumentation package, so what leaves is
decided here. Asynchronous engines run their statements in a greenlet that shares the
request's context, so each span finds the request's span as its parent.

Statements outside any span (the outbox and audit senders polling their queues every second)
make no span: a trace of each poll would bury the requests' traces.
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine

_SPANS = "onestory.spans"
_TARGET = re.compile(r"\b(?:FROM|INTO|UPDATE|TABLE)\s+\"?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_SYSTEMS = {"postgresql": "postgresql", "sqlite": "sqlite"}


def summary(statement: str) -> tuple[str, str | None]:
    """A statement's operation (its first keyword) and the first table it names."""
    words = statement.lstrip().split(None, 1)
    operation = words[0].upper() if words else "SQL"
    target = _TARGET.search(statement)
    return operation, target.group(1) if target else None


def trace_statements(engine: Engine) -> None:
    """Record a span for every statement ``engine`` runs (the sync engine of an async one)."""
    tracer = trace.get_tracer("onestory.database")
    system = _SYSTEMS.get(engine.dialect.name, engine.dialect.name)
    server: dict[str, Any] = {}
    if engine.url.host:
        server = {"server.address": engine.url.host, "server.port": engine.url.port or 5432}

    def started(
        connection: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if not trace.get_current_span().get_span_context().is_valid:
            return
        operation, table = summary(statement)
        attributes: dict[str, Any] = {
            "db.system.name": system,
            "db.operation.name": operation,
            **server,
        }
        if table:
            attributes["db.collection.name"] = table
        name = f"{operation} {table}" if table else operation
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        connection.info.setdefault(_SPANS, []).append(span)

    def finished(connection: Any, *_args: Any) -> None:
        span = _pop(connection)
        if span is not None:
            span.end()

    def failed(context: Any) -> None:
        span = _pop(context.connection) if context.connection is not None else None
        if span is not None:
            # The exception's type only: its message may quote the statement's values.
            span.set_attribute("error.type", type(context.original_exception).__name__)
            span.set_status(Status(StatusCode.ERROR))
            span.end()

    event.listen(engine, "before_cursor_execute", started)
    event.listen(engine, "after_cursor_execute", finished)
    event.listen(engine, "handle_error", failed)


def _pop(connection: Any) -> Span | None:
    try:
        spans: list[Span] = connection.info.get(_SPANS) or []
    except Exception:  # a connection invalidated by the error: its span is lost, not the error
        return None
    return spans.pop() if spans else None
