"""The development token issuer's endpoints, mounted only in development and test.

`/auth/jwks` publishes its keys; `/auth/token` answers the client-credentials grant for any
client that presents the development secret, so services and scripts can get tokens the way
they would from the real identity provider (Keycloak in docker-compose.yml).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

from shared.auth.devissuer import DevIssuer
from shared.settings import Settings

DEV_ENVIRONMENTS = ("development", "test")
DEV_CLIENT_SECRET = "onestory-dev-secret"
_LIFETIME = 3600


def prepare(settings: Settings) -> None:
    """Make sure the development keys (and their jwks.json) exist before services need them."""
    if settings.environment in DEV_ENVIRONMENTS and not settings.auth_jwks_url:
        DevIssuer.from_settings(settings)


def mount(app: FastAPI, settings: Settings) -> None:
    if settings.environment not in DEV_ENVIRONMENTS or settings.auth_jwks_url:
        return
    issuer = DevIssuer.from_settings(settings)

    @app.get("/auth/jwks")
    async def jwks() -> JSONResponse:
        return JSONResponse(issuer.jwks())

    @app.post("/auth/token")
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "Only client_credentials is offered")
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if not client_id or secret != DEV_CLIENT_SECRET:
            return _oauth_error("invalid_client", "Unknown client or wrong secret", 401)
        scope = str(form.get("scope") or "system/*.rs")
        if any(not s.startswith("system/") for s in scope.split()):
            return _oauth_error("invalid_scope", "Client credentials grant system/ scopes only")
        access = issuer.issue(
            scope=scope, subject=client_id, client_id=client_id, lifetime_seconds=_LIFETIME
        )
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": _LIFETIME,
                "scope": scope,
            }
        )


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)
