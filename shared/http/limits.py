"""Refuse request bodies over the configured size before anything parses them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import FhirError
from shared.http.fhirjson import error_response


def too_large(limit: int) -> FhirError:
    return FhirError(
        413, f"The request body is over the limit of {limit:,} bytes", code="too-costly"
    )


class BodySizeLimit:
    """ASGI middleware: 413 on a declared Content-Length over the limit, and on a streamed
    body that grows past it (the reader of the body then gets a 413 FhirError)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(too_large(self.max_bytes))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)
