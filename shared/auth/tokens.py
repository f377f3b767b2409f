"""Verifying OAuth2 bearer JWTs against the issuer's published keys (JWKS).

``TokenVerifier.verify`` checks the signature (RS256 or ES256 only: never ``none`` or a shared
secret), the key id, issuer, audience, expiry, not-before and issued-at, and answers the
``Principal`` the token describes. Every refusal is a 401 ``FhirError`` with a reason a person
can act on and the RFC 6750 ``WWW-Authenticate`` header. The token itself never appears in an
error or a log line.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from shared.auth.jwks import JwksCache
from shared.auth.scopes import Scope, allows, read_scopes
from shared.errors import FhirError

log = logging.getLogger("onestory.auth")

MAX_TOKEN_CHARS = 16 * 1024
_REMEMBERED_TOKENS = 10_000
_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$", re.IGNORECASE)
_CLIENT_CLAIMS = ("client_id", "azp", "cid")  # RFC 9068, then Keycloak/Okta spellings
_DESCRIPTION_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the verified token's subject, client, scopes and SMART context."""

    subject: str
    client_id: str
    scopes: tuple[Scope, ...]
    other_scopes: frozenset[str]
    patient: str | None = None  # the `patient` claim: the resident a patient/ token is confined to
    fhir_user: str | None = None  # the `fhirUser` claim, e.g. "Practitioner/123"
    organization: str | None = None  # the `organization` claim, e.g. "Organization/abc"
    claims: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    def allows(self, resource_type: str, permission: str) -> Scope | None:
        """The scope granting ``permission`` ("c", "r", "u", "d" or "s") on the type, or None."""
        return allows(self.scopes, resource_type=resource_type, permission=permission)


def invalid_token(reason: str) -> FhirError:
    """A 401 for a token that is present but not acceptable."""
    description = _DESCRIPTION_UNSAFE.sub("'", reason)
    challenge = f'Bearer error="invalid_token", error_description="{description}"'
    return FhirError(401, reason, code="login", headers={"WWW-Authenticate": challenge})


def bearer_token(authorization_header: str | None) -> str:
    """The token in an ``Authorization: Bearer <token>`` header, or a 401 saying what is wrong."""
    if authorization_header is None or not authorization_header.strip():
        raise FhirError(
            401,
            "This request needs an access token: send 'Authorization: Bearer <token>'",
            code="login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    match = _BEARER.match(authorization_header)
    if match is None:
        reason = "The Authorization header must be 'Bearer <token>'"
        challenge = f'Bearer error="invalid_request", error_description="{reason}"'
        raise FhirError(401, reason, code="login", headers={"WWW-Authenticate": challenge})
    return match.group(1)


class TokenVerifier:
    """Verifies bearer JWTs issued by one issuer for one audience."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str,
        *,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        leeway_seconds: int = 30,
        cache_seconds: int = 300,
        http: httpx.AsyncClient | None = None,
        min_refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        remember_seconds: float = 60.0,
    ) -> None:
        refused = [a for a in algorithms if not a.startswith(("RS", "ES", "PS"))]
        if refused or not algorithms:
            raise ValueError(f"Only asymmetric signing algorithms may be accepted, not {refused}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway_seconds = leeway_seconds
        self.keys = JwksCache(
            jwks_url,
            http=http,
            cache_seconds=cache_seconds,
            min_refresh_seconds=min_refresh_seconds,
            clock=clock,
        )
        self.clock = clock
        self.remember_seconds = remember_seconds
        # Tokens verified lately: a client sends the same token with every call, and checking
        # its signature each time is most of the cost of a read. Each is remembered until it
        # expires, or for remember_seconds, whichever is sooner, so a key the issuer withdraws
        # stops working as soon as the key cache would notice.
        self._verified: dict[str, tuple[Principal, float, float]] = {}

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; FhirError 401 (or 503 if the keys cannot be had)."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires, forget_at = remembered
            if time.time() < expires and self.clock() < forget_at:
                return principal
            del self._verified[token]
        kid = self._key_id(token)
        key = await self.keys.key(kid)
        if key is None:
            raise invalid_token(
                f"The token was signed with a key the issuer does not publish ({kid})"
            )
        claims = self._decode(token, key)
        principal = principal_from_claims(claims)
        self._remember(token, principal, float(claims["exp"]))
        return principal

    def _remember(self, token: str, principal: Principal, expires: float) -> None:
        if len(self._verified) >= _REMEMBERED_TOKENS:
            del self._verified[next(iter(self._verified))]  # the longest remembered
        self._verified[token] = (principal, expires, self.clock() + self.remember_seconds)

    def _key_id(self, token: str) -> str:
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token(f"The token is longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("The token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            accepted = ", ".join(self.algorithms)
            raise invalid_token(f"The token's signing algorithm is not accepted; use {accepted}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("The token has no key id (kid) in its header")
        return kid[:80]

    def _decode(self, token: str, key: PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            reason = _refusal(error, self)
            log.info("Refused a bearer token: %s", reason)
            raise invalid_token(reason) from None
        return claims


def _refusal(error: jwt.PyJWTError, verifier: TokenVerifier) -> str:
    """A reason a person can act on for a PyJWT failure (never echoing the token)."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return "The token has expired"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "The token is not valid yet (its nbf or iat is in the future)"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The token has no '{error.claim}' claim"
    if isinstance(error, jwt.InvalidIssuerError):
        return f"The token was not issued by {verifier.issuer}"
    if isinstance(error, jwt.InvalidAudienceError):
        return f"The token is not meant for this server (audience {verifier.audience})"
    if isinstance(error, jwt.InvalidSignatureError):
        return "The token's signature does not verify"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return "The token's signing algorithm does not match its key"
    if isinstance(error, jwt.InvalidIssuedAtError):
        return "The token's iat claim is not a number"
    return "The token is not a valid JWT"


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal described by verified claims (401 if a SMART claim has the wrong shape)."""
    parsed = read_scopes(_scope_text(claims))
    if parsed.invalid:
        log.info("Ignored unparseable scopes: %s", " ".join(parsed.invalid)[:500])
    subject = _optional_string(claims, "sub")
    client_id = next((c for n in _CLIENT_CLAIMS if (c := _optional_string(claims, n))), subject)
    if client_id is None:
        raise invalid_token("The token names neither a subject (sub) nor a client (client_id)")
    return Principal(
        subject=subject or client_id,
        client_id=client_id,
        scopes=parsed.resource,
        other_scopes=parsed.other,
        patient=_optional_string(claims, "patient"),
        fhir_user=_optional_string(claims, "fhirUser"),
        organization=_optional_string(claims, "organization"),
        claims=MappingProxyType(dict(claims)),
    )


def _scope_text(claims: Mapping[str, Any]) -> str:
    scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(scope, str):
        return scope
    if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
        return " ".join(scope)
    raise invalid_token("The token's scope claim must be a space-separated string")


def _optional_string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or (isinstance(value, str) and value):
        return value
    raise invalid_token(f"The token's {name} claim must be a non-empty string")
