"""What the front door publishes without a token: one CapabilityStatement merged from every
service, and the SMART on FHIR configuration."""

from __future__ import annotations

import copy
from typing import Any

from shared.settings import Settings

_SMART_CAPABILITIES = [
    "client-confidential-asymmetric",
    "client-confidential-symmetric",
    "context-ehr-patient",
    "context-standalone-patient",
    "launch-standalone",
    "permission-patient",
    "permission-user",
    "permission-v2",
    "permission-v1",
]


# Answered by the gateway itself (gateway/summary): what a summary shows depends on who asks.
SUMMARY_OPERATION = {
    "name": "summary",
    "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
    "documentation": "One page of a person's story: an International Patient Summary style "
    "document with OneStory's care-coordination sections; _format=html for the page itself.",
}


def smart_configuration(settings: Settings) -> dict[str, Any]:
    issuer = settings.auth_issuer.rstrip("/")
    return {
        "issuer": issuer,
        "jwks_uri": settings.auth_jwks_url or f"{issuer}/jwks",
        "token_endpoint": settings.auth_token_url or f"{issuer}/token",
        "authorization_endpoint": settings.auth_authorize_url or f"{issuer}/authorize",
        "grant_types_supported": ["client_credentials", "authorization_code"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_post",
            "client_secret_basic",
        ],
        "scopes_supported": [
            "openid",
            "fhirUser",
            "launch/patient",
            "patient/*.rs",
            "user/*.cruds",
            "system/*.cruds",
        ],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": _SMART_CAPABILITIES,
    }


def merged(statements: list[dict[str, Any]], settings: Settings, base_url: str) -> dict[str, Any]:
    """The record's statement, with every other service's operations added and security set."""
    if not statements:
        raise ValueError("no CapabilityStatement to merge")
    result = copy.deepcopy(statements[0])
    rest = result.setdefault("rest", [{"mode": "server"}])[0]
    by_type = {r["type"]: r for r in rest.get("resource", [])}
    for other in statements[1:]:
        for other_rest in other.get("rest", []):
            rest.setdefault("operation", []).extend(other_rest.get("operation", []))
            for resource in other_rest.get("resource", []):
                target = by_type.setdefault(resource["type"], {"type": resource["type"]})
                target.setdefault("operation", []).extend(resource.get("operation", []))
    patient = by_type.setdefault("Patient", {"type": "Patient"})
    patient.setdefault("operation", []).append(SUMMARY_OPERATION)
    rest["resource"] = list(by_type.values())
    rest["security"] = _security(settings)
    result["implementation"] = {"description": "OneStory", "url": base_url}
    return result


def _security(settings: Settings) -> dict[str, Any]:
    smart = smart_configuration(settings)
    return {
        "cors": True,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ]
            }
        ],
        "extension": [
            {
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [
                    {"url": "token", "valueUri": smart["token_endpoint"]},
                    {"url": "authorize", "valueUri": smart["authorization_endpoint"]},
                ],
            }
        ],
        "description": "OAuth2 bearer tokens with SMART on FHIR v2 scopes",
    }
