"""A service's own access token, for calls it makes in its own name (client credentials).

In production the token comes from the identity provider's token endpoint
(``ONESTORY_AUTH_TOKEN_URL`` with ``ONESTORY_CLIENT_ID`` / ``ONESTORY_CLIENT_SECRET``); in
development and test the development issuer signs it. Tokens are reused until a minute before
they expire.
"""

from __future__ import annotations

import time

from shared.auth.devissuer import DevIssuer
from shared.settings import Settings
from shared.telemetry.client import traced_client

_RENEW_BEFORE_SECONDS = 60


class ServiceCredentials:
    def __init__(self, settings: Settings, *, client_id: str, scope: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self.scope = scope
        self._token = ""
        self._expires = 0.0

    async def token(self) -> str:
        if time.monotonic() < self._expires - _RENEW_BEFORE_SECONDS:
            return self._token
        if self.settings.auth_token_url:
            self._token, lifetime = await self._from_identity_provider()
        else:
            lifetime = 3600
            self._token = DevIssuer.from_settings(self.settings).issue(
                scope=self.scope,
                subject=self.client_id,
                client_id=self.client_id,
                lifetime_seconds=lifetime,
            )
        self._expires = time.monotonic() + lifetime
        return self._token

    async def _from_identity_provider(self) -> tuple[str, int]:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_id": self.settings.client_id or self.client_id,
            "client_secret": self.settings.client_secret,
        }
        async with traced_client(timeout=10) as client:
            response = await client.post(self.settings.auth_token_url, data=form)
        response.raise_for_status()
        answer = response.json()
        return str(answer["access_token"]), int(answer.get("expires_in", 300))
