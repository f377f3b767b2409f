"""Provenance for every write through the gateway: who wrote it, for which organisation,
with which application. Sent to the record as an X-Provenance header (or, for a transaction,
as one more entry) so it is stored in the same database transaction as the write."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from shared.auth.tokens import Principal
from shared.fhir.dates import micros_to_instant

_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def provenance(principal: Principal) -> dict[str, Any]:
    author: dict[str, Any] = {
        "type": {"coding": [{"system": _PARTICIPANT, "code": "author"}]},
        "who": {"reference": principal.fhir_user}
        if principal.fhir_user
        else {"display": principal.subject},
    }
    if principal.organization:
        author["onBehalfOf"] = {"reference": principal.organization}
    application = {
        "type": {"coding": [{"system": _PARTICIPANT, "code": "assembler"}]},
        "who": {"display": f"application {principal.client_id}"},
    }
    recorded = micros_to_instant(time.time_ns() // 1000)
    return {"resourceType": "Provenance", "recorded": recorded, "agent": [author, application]}


def provenance_header(principal: Principal) -> str:
    """The Provenance as a header value: JSON with non-ASCII escaped, on one line."""
    return json.dumps(provenance(principal), separators=(",", ":"))


def with_transaction_provenance(bundle: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The transaction with one more entry: a Provenance whose targets are its writes."""
    entries, targets = [], []
    for entry in bundle.get("entry", []) or []:
        request = entry.get("request", {}) if isinstance(entry, dict) else {}
        method, url = request.get("method"), str(request.get("url", ""))
        if method in ("POST", "PUT", "PATCH"):
            if "fullUrl" not in entry and (method == "POST" or "?" in url):
                entry = {**entry, "fullUrl": f"urn:uuid:{uuid.uuid4()}"}
            targets.append({"reference": entry.get("fullUrl") or url.split("?")[0]})
        entries.append(entry)
    if not targets:
        return bundle
    added = {
        "resource": {**record, "target": targets},
        "request": {"method": "POST", "url": "Provenance"},
    }
    return {**bundle, "entry": [*entries, added]}
