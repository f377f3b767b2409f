"""The Provenance a merge or an un-merge leaves, and reading one back.

The caller's Provenance (the ``X-Provenance`` header the gateway sends: who, for which
organisation, with which application) gains the lifecycle activity (ISO 21089 ``merge`` or
``unmerge``), a ``target`` for every version the operation wrote and an ``entity`` (role
``source``) for every version it started from. That pairing is what an un-merge reads back to
learn what a merge changed.
"""

from __future__ import annotations

from typing import Any

from services.record.responses import version_reference
from shared.auth.tokens import Principal
from shared.fhir.fhirpath_types import parse_reference
from shared.storage.rows import StoredResource

LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
_DISPLAY = {"merge": "Merge Record Lifecycle Event", "unmerge": "Unmerge Record Lifecycle Event"}
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

Key = tuple[str, str]  # (resource type, id)


def caller_provenance(
    header: dict[str, Any] | None, principal: Principal, recorded: str
) -> dict[str, Any]:
    """The caller's Provenance; without one (a call not made through the gateway), one
    naming the token's subject and client."""
    if header is not None:
        return header
    author = {
        "type": {"coding": [{"system": _PARTICIPANT, "code": "author"}]},
        "who": {"reference": principal.fhir_user}
        if principal.fhir_user
        else {"display": principal.subject},
    }
    application = {
        "type": {"coding": [{"system": _PARTICIPANT, "code": "assembler"}]},
        "who": {"display": f"application {principal.client_id}"},
    }
    return {"resourceType": "Provenance", "recorded": recorded, "agent": [author, application]}


def lifecycle_provenance(
    caller: dict[str, Any],
    *,
    activity: str,
    written: list[StoredResource],
    started_from: list[StoredResource],
) -> dict[str, Any]:
    """The Provenance of one merge or un-merge: ``written`` are the versions it made,
    ``started_from`` the versions they replaced."""
    entities = [
        {"role": "source", "what": {"reference": version_reference(stored)}}
        for stored in started_from
    ]
    return {
        **caller,
        "target": [{"reference": version_reference(stored)} for stored in written],
        "activity": {
            "coding": [{"system": LIFECYCLE, "code": activity, "display": _DISPLAY[activity]}]
        },
        "entity": [*(caller.get("entity") or []), *entities],
    }


def activity_of(provenance: dict[str, Any]) -> str | None:
    """``merge``, ``unmerge`` (or another lifecycle code); None for any other Provenance."""
    activity = provenance.get("activity")
    codings = activity.get("coding") if isinstance(activity, dict) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and coding.get("system") == LIFECYCLE:
            code = coding.get("code")
            return code if isinstance(code, str) else None
    return None


def written_versions(provenance: dict[str, Any]) -> dict[Key, int]:
    """The version of each resource the recorded operation wrote."""
    return _versions(target.get("reference") for target in _list(provenance, "target"))


def starting_versions(provenance: dict[str, Any]) -> dict[Key, int]:
    """The version of each resource the recorded operation started from."""
    return _versions(
        entity.get("what", {}).get("reference")
        for entity in _list(provenance, "entity")
        if isinstance(entity.get("what"), dict)
    )


def _list(provenance: dict[str, Any], element: str) -> list[dict[str, Any]]:
    items = provenance.get(element)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _versions(references: Any) -> dict[Key, int]:
    """(type, id) -> version, for the versioned references among ``references``."""
    found: dict[Key, int] = {}
    for reference in references:
        if not isinstance(reference, str) or "/_history/" not in reference:
            continue
        named = parse_reference(reference)
        version = reference.rsplit("/_history/", 1)[1]
        if named and version.isdigit():
            found[named] = int(version)
    return found
