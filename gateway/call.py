"""What the gateway knows while it handles one request, and the scope that grants it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from gateway.audit import AuditQueue, AuditRecord
from gateway.guards import ConsentCache, Guard, forbidden
from gateway.idempotency import IdempotencyStore
from gateway.ratelimit import RateLimiter
from gateway.recordclient import RecordClient
from gateway.relationships import Relationships
from gateway.routing import RouteTable
from gateway.upstream import Upstream
from shared.auth.scopes import Scope
from shared.auth.tokens import Principal, TokenVerifier
from shared.fhir.interactions import Interaction


@dataclass
class GatewayState:
    routes: RouteTable
    upstream: Upstream
    verifier: TokenVerifier
    limiter: RateLimiter
    idempotency: IdempotencyStore
    audit: AuditQueue
    record: RecordClient
    relationships: Relationships
    consents: ConsentCache


@dataclass
class Call:
    """Everything known about one request as it is handled."""

    request: Request
    principal: Principal
    interaction: Interaction
    context: str  # system | user | patient
    guard: Guard
    audit: AuditRecord
    correlation: str
    restriction: tuple[tuple[str, str], ...] = ()  # a v2 scope's ?query, when it grants


def context_of(principal: Principal, interaction: Interaction) -> str:
    """The kind of caller, by the scope that grants this interaction; 403 if none does."""
    return granting(principal, interaction).context


def granting(principal: Principal, interaction: Interaction) -> Scope:
    """The scope that grants this interaction (any, for one that needs no permission)."""
    if not interaction.permission:
        granted = next(iter(principal.scopes), None)
        if granted is None:
            raise forbidden("The token grants no access to FHIR resources")
        return granted
    resource_type = interaction.resource_type or "*"
    scope = principal.allows(resource_type, interaction.permission)
    if scope is None:
        verb = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
        raise forbidden(
            f"The token's scopes do not allow you to {verb[interaction.permission]} "
            f"{resource_type if resource_type != '*' else 'across all types'}"
        )
    return scope
