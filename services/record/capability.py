"""The record's CapabilityStatement: what it stores, how it can be searched, what it does.

Built from the same registry the search engine uses, so it cannot drift from the truth.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.fhir.searchparams import params_for
from shared.fhir.validation import all_resource_types

FHIR_VERSION = "4.3.0"
SEARCHABLE_TYPES = frozenset({"string", "token", "reference", "date", "number", "quantity", "uri"})
_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)


_TYPE_OPERATIONS = {
    "Patient": [
        {
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        },
        {"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"},
        {"name": "merge", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-merge"},
        {
            "name": "unmerge",
            "definition": "https://onestory.example.nhs.uk/OperationDefinition/Patient-unmerge",
        },
    ],
    "Questionnaire": [
        {
            "name": "populate",
            "definition": "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate",
        },
    ],
    "Subscription": [
        {
            "name": "status",
            "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/"
            "backport-subscription-status",
        },
    ],
}


def _search_params(resource_type: str) -> list[dict[str, Any]]:
    return [
        {"name": code, "definition": param.url, "type": param.type}
        for code, param in sorted(params_for(resource_type).items())
        if param.type in SEARCHABLE_TYPES
    ]


def _resource(resource_type: str) -> dict[str, Any]:
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in _INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "referencePolicy": ["literal", "logical", "local", "enforced"],
        "searchInclude": ["*"],
        "searchRevInclude": ["*"],
        "searchParam": _search_params(resource_type),
        "operation": [
            {
                "name": "validate",
                "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
            },
            *_TYPE_OPERATIONS.get(resource_type, []),
        ],
    }


@cache
def _statement_body() -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "OneStory",
        "kind": "instance",
        "software": {"name": "OneStory shared care record", "version": "0.1.0"},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "resource": [_resource(t) for t in all_resource_types()],
                "interaction": [
                    {"code": c} for c in ("transaction", "batch", "search-system", "history-system")
                ],
                "searchParam": _search_params("Resource"),
            }
        ],
    }


def capability_statement(base_url: str) -> dict[str, Any]:
    return {
        **_statement_body(),
        "implementation": {"description": "OneStory shared care record", "url": base_url},
    }
