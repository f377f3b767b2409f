"""Token checks inside a FastAPI service (defence in depth behind the gateway).

Two ways in, meant to be used together:

- ``RequireToken(app, verifier)``: ASGI middleware answering 401 OperationOutcome for every path
  except the open ones (health, CapabilityStatement, SMART configuration) when the request has
  no valid bearer token, and leaving the ``Principal`` in ``request.state.principal``.
- ``authenticate(request)``: a FastAPI dependency answering that principal (verifying the token
  itself when no middleware did, with the verifier installed by ``install_verifier``).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import scopes as smart
from shared.auth.tokens import Principal, TokenVerifier, bearer_token
from shared.errors import FhirError
from shared.http.fhirjson import error_response
from shared.settings import Settings

OPEN_PATHS = (
    "/health",
    "/health/live",
    "/health/ready",
    "/fhir/metadata",
    "/.well-known/smart-configuration",
)
_STATE_KEY = "token_verifier"


def verifier_from_settings(settings: Settings) -> TokenVerifier:
    """The verifier for this process's configured issuer, audience and keys."""
    return TokenVerifier(
        settings.auth_issuer, settings.auth_audience, settings.effective_jwks_url()
    )


def install_verifier(app: Starlette, verifier: TokenVerifier) -> None:
    """Make ``verifier`` the one ``authenticate`` uses for this (Starlette or FastAPI) app."""
    setattr(app.state, _STATE_KEY, verifier)


async def authenticate(request: Request) -> Principal:
    """The caller's verified principal, also kept in ``request.state.principal``."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    verifier = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("No token verifier: call install_verifier(app, verifier) at start-up")
    principal = await _verified(request, verifier)
    request.state.principal = principal
    return principal


def require(principal: Principal, resource_type: str, permission: str) -> smart.Scope:
    """The scope granting ``permission`` on ``resource_type``, or 403 naming what is missing."""
    granted = principal.allows(resource_type, permission)
    if granted is not None:
        return granted
    wanted = f"{resource_type}.{permission}"
    challenge = f'Bearer error="insufficient_scope", error_description="No scope grants {wanted}"'
    raise FhirError(
        403,
        f"The token's scopes do not allow {wanted} (for example user/{wanted})",
        code="forbidden",
        headers={"WWW-Authenticate": challenge},
    )


class RequireToken:
    """ASGI middleware: no valid bearer token, no access (except to the open paths)."""

    def __init__(
        self, app: ASGIApp, verifier: TokenVerifier, open_paths: Iterable[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        try:
            principal = await _verified(HTTPConnection(scope), self.verifier)
        except FhirError as error:
            await self._refuse(error, scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _refuse(self, error: FhirError, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        await error_response(error)(scope, receive, send)


async def _verified(connection: HTTPConnection, verifier: TokenVerifier) -> Principal:
    return await verifier.verify(bearer_token(connection.headers.get("authorization")))
