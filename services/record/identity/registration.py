"""Registration matches before it creates: a person registered once is found again, whatever
door they come in by.

A Patient created without its own condition (no If-None-Exist) is first looked for:
1. by NHS number: a record holding the same valid NHS number *is* that person, as a
   conditional create on the identifier would say;
2. otherwise by demographics, graded as ``Patient/$match`` grades them: exactly one
   *certain* record (every detail equal) is that person. Probable and possible look-alikes
   are never linked; the new record is created and ``$match`` shows them for review.

Several records that are certainly the person mean duplicates already exist: the create is
refused with 412 (as a conditional create matching several would be) until they are merged.
When the registration carries an NHS number the matched record lacks, the number is added to
it. Records merged into another are never matched: their survivor is.

Concurrent registrations of one person queue on a lock named by their NHS number and birth
date, so two doors at once still make one Patient.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from services.record.identity.demographics import Demographics, demographics
from services.record.identity.lookup import find_candidates, is_replaced
from services.record.identity.scoring import score
from shared.errors import FhirError
from shared.fhir.queryparser import parse_search
from shared.nhs_number import NHS_NUMBER_SYSTEM
from shared.storage.database import Database
from shared.storage.rows import StoredResource
from shared.storage.search import search


class Registrar(Protocol):
    """What registration needs of the record's writer."""

    database: Database
    connection: AsyncConnection
    base_url: str


async def registered_as(writer: Registrar, patient: dict[str, Any]) -> StoredResource | None:
    """The record ``patient`` is already registered as, or None to create it."""
    person = demographics(patient)
    if is_replaced(patient) or not (person.nhs_number or person.birth_date):
        return None  # already merged away, or too little to be sure of anyone
    for key in _lock_keys(person):
        await writer.database.lock(writer.connection, key)
    if person.nhs_number:
        by_number = await _by_nhs_number(writer, person.nhs_number)
        if by_number:
            return _single(by_number, f"the NHS number {person.nhs_number}")
    candidates, _ = await find_candidates(writer.connection, person, writer.base_url)
    certain = [
        c for c in candidates if score(person, demographics(c.resource())).grade == "certain"
    ]
    return _single(certain, "these details") if certain else None


def missing_identifiers(patient: dict[str, Any], existing: dict[str, Any]) -> list[Any]:
    """The NHS number the registration brings that the matched record does not hold."""
    held = {(i.get("system"), i.get("value")) for i in _identifiers(existing)}
    return [
        identifier
        for identifier in _identifiers(patient)
        if identifier.get("system") == NHS_NUMBER_SYSTEM
        and (identifier.get("system"), identifier.get("value")) not in held
    ]


async def _by_nhs_number(writer: Registrar, nhs_number: str) -> list[StoredResource]:
    query = parse_search(
        "Patient", [("identifier", f"{NHS_NUMBER_SYSTEM}|{nhs_number}")], strict=True
    )
    page = await search(writer.connection, query, page_size=10, base_url=writer.base_url)
    return [stored for stored in page.matches if not is_replaced(stored.resource())]


def _single(matches: list[StoredResource], by: str) -> StoredResource:
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(m.reference for m in matches)
    raise FhirError(
        412,
        f"{len(matches)} records are certainly this person by {by} ({listed}): they are "
        "duplicates. Merge them (Patient/$merge), or refer to one of them, before registering "
        "this person again",
        code="multiple-matches",
    )


def _certain(person: Demographics, candidate: StoredResource) -> bool:
    return score(person, demographics(candidate.resource())).grade == "certain"


def _lock_keys(person: Demographics) -> list[str]:
    keys = [f"Patient|registration|nhs|{person.nhs_number}"] if person.nhs_number else []
    if person.birth_date:
        keys.append(f"Patient|registration|born|{person.birth_date}")
    return sorted(keys)


def _identifiers(patient: dict[str, Any]) -> list[dict[str, Any]]:
    identifiers = patient.get("identifier")
    return [i for i in identifiers if isinstance(i, dict)] if isinstance(identifiers, list) else []
