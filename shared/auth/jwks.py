"""The issuer's signing keys (a JWKS), fetched over HTTP(S) or read from a ``file://`` URL.

Keys are cached for ``cache_seconds``. A token naming an unknown key id triggers one early
refresh, so a rotated key is picked up at once, but refreshes are at most one per
``min_refresh_seconds`` so a flood of made-up key ids cannot hammer the issuer. When a refresh
fails the keys already held stay in use.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
import jwt
from jwt import PyJWK

from shared.errors import FhirError
from shared.telemetry.client import traced_client

log = logging.getLogger("onestory.auth")

FETCH_TIMEOUT_SECONDS = 5.0


class JwksUnavailable(Exception):
    """The key set could not be fetched or is not a JWKS."""


class JwksCache:
    """The current keys of one issuer, by key id."""

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None,
        cache_seconds: float,
        min_refresh_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("https", "http", "file"):
            raise ValueError(f"The JWKS URL must be https://, http:// or file://, not {url!r}")
        self.url = url
        self._http = http
        self._cache_seconds = cache_seconds
        self._min_refresh_seconds = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        """The key with this id, refreshing the set when it is stale or does not know the id."""
        stale = self._loaded_at is None or self._age(self._loaded_at) >= self._cache_seconds
        if stale or kid not in self._keys:
            if self._may_refresh():
                await self.refresh()
            elif self._lock.locked():
                async with self._lock:  # a fetch is under way: wait for its keys
                    pass
        if self._loaded_at is None:
            raise FhirError(
                503,
                f"The token issuer's signing keys could not be loaded from {self.url}",
                code="transient",
                headers={"Retry-After": str(int(self._min_refresh_seconds))},
            )
        return self._keys.get(kid)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    async def refresh(self) -> None:
        """Fetch the key set now (one fetch at a time; waiters reuse the result)."""
        seen = self._attempted_at
        async with self._lock:
            if self._attempted_at != seen:
                return  # another task refreshed while this one waited
            self._attempted_at = self._clock()
            try:
                self._keys = parse_jwks(await self._fetch())
            except JwksUnavailable as error:
                log.warning("Could not refresh the token issuer's keys: %s", error)
                return
            self._loaded_at = self._clock()

    def _may_refresh(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or self._age(attempted) >= self._min_refresh_seconds

    def _age(self, moment: float) -> float:
        return self._clock() - moment

    async def _fetch(self) -> Any:
        try:
            if self.url.startswith("file:"):
                content = await asyncio.to_thread(_file_path(self.url).read_bytes)
            else:
                content = await self._get()
            return json.loads(content)
        except (OSError, httpx.HTTPError, ValueError) as error:
            raise JwksUnavailable(f"{self.url}: {error}") from error

    async def _get(self) -> bytes:
        if self._http is not None:
            response = await self._http.get(self.url, timeout=FETCH_TIMEOUT_SECONDS)
        else:
            async with traced_client(timeout=FETCH_TIMEOUT_SECONDS) as client:
                response = await client.get(self.url)
        response.raise_for_status()
        return response.content


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"a file:// JWKS URL must name a local file, not host {parts.netloc}")
    return Path(url2pathname(parts.path))


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """The signing keys of a JWKS document by key id; keys it cannot use are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the document is not a JWKS (no 'keys' list)")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not _usable(entry):
            continue
        try:
            keys[entry["kid"]] = PyJWK(entry)
        except jwt.PyJWTError as error:
            log.info("Skipped JWKS key %s: %s", entry["kid"], error)
    return keys


def _usable(entry: Any) -> bool:
    """A public signing key with an id; shared-secret ("oct") keys are never accepted."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("kid"), str)
        and entry.get("use", "sig") == "sig"
        and entry.get("kty") in ("RSA", "EC", "OKP")
        and "d" not in entry
    )
