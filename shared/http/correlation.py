"""X-Correlation-Id across services: the id a caller gives one piece of work (a Booking and
Referral Standard conversation, say) goes with every call a service makes to the gateway while
it handles that request, so the whole conversation can be followed.

``CorrelationId`` (ASGI middleware) keeps the incoming header for the request's duration;
``shared.fhirclient`` sends it on.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = "X-Correlation-Id"
current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class CorrelationId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.lower().encode())
        token = current.set(given.decode("latin-1")[:200] if given else None)
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)
