"""The record's write rules: create, update, patch and delete, plain and conditional.

A ``RecordWriter`` works inside one database transaction (a single interaction, or a whole
transaction Bundle). It assigns ids and versions, validates, indexes, and checks that local
references resolve before the transaction commits. Conditional writes take a lock on what
they match by, so concurrent conditional creates for one NHS number make exactly one Patient.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jsonpatch
import jsonpointer
from sqlalchemy.ext.asyncio import AsyncConnection

from services.record.identity import registration
from services.record.references import PendingReference, classify, localise, verify
from services.record.subscriptions.matching import SubscriptionRegistry
from services.record.subscriptions.notifying import Notifier
from services.record.subscriptions.spec import read_spec
from shared.errors import FhirError, bad_request, conflict, not_found
from shared.fhir.dates import micros_to_instant
from shared.fhir.extract import extract
from shared.fhir.queryparser import parse_search
from shared.fhir.searchquery import Criterion, SearchQuery
from shared.fhir.validation import local_references, validate
from shared.storage import reads, writes
from shared.storage.database import Database
from shared.storage.rows import StoredResource
from shared.storage.search import search

# Records of what happened: they keep the references they were written with, whether or not
# the target exists (a refused read of a missing Patient is still audited), and they never
# stop what they refer to from being deleted.
EVIDENCE_TYPES = frozenset({"AuditEvent", "Provenance"})


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: StoredResource
    status: int  # 200 updated or matched, 201 created, 204 deleted or nothing to delete
    created: bool = False


def now_micros() -> int:
    return time.time_ns() // 1000


def if_match_version(header: str | None) -> int | None:
    """The version an If-Match header insists on: W/"3" or "3" -> 3."""
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise bad_request(f'If-Match must be a version ETag such as W/"3", not {header!r}')
    return int(text)


class RecordWriter:
    """Writes into the record inside one open transaction."""

    def __init__(
        self,
        database: Database,
        connection: AsyncConnection,
        base_url: str,
        subscriptions: SubscriptionRegistry | None = None,
        *,
        batched: bool = False,
    ) -> None:
        """``batched``: hold version and index rows back until the index is next read or the
        transaction ends (``settle``), for a transaction Bundle of many writes."""
        self.database = database
        self.connection = connection
        self.base_url = base_url
        self.subscriptions = subscriptions
        self.pending: list[PendingReference] = []
        self.batch = writes.RowBatch() if batched else None
        self.notifier = Notifier(connection, subscriptions, self.settle, hold_creates=batched)

    @property
    def events(self) -> int:
        """Subscription notifications this transaction queued."""
        return self.notifier.events

    async def create(
        self, body: dict[str, Any], *, if_none_exist: str | None = None, new_id: str | None = None
    ) -> WriteResult:
        """Create (POST); with ``if_none_exist``, return the single match instead if any.
        ``new_id`` is an id the record made up for it (a transaction plans its creates' ids).
        A Patient without a condition of its own is registered: the record already holding
        that person is returned instead (see ``services.record.identity.registration``)."""
        if if_none_exist:
            match = await self.find_single(body["resourceType"], if_none_exist, "If-None-Exist")
            if match is not None:
                return WriteResult(match, 200)
        elif new_id is None and body.get("resourceType") == "Patient":
            existing = await self.registered(body)
            if existing is not None:
                return WriteResult(existing, 200)
        return await self._insert({**body, "id": new_id or str(uuid.uuid4())}, fresh_id=True)

    async def registered(self, patient: dict[str, Any]) -> StoredResource | None:
        """The record this Patient is already registered as (given any NHS number it lacked),
        or None when the person is new."""
        validate(patient)  # bad input is refused before it can match anyone
        await self.settle()
        existing = await registration.registered_as(self, patient)
        if existing is None:
            return None
        added = registration.missing_identifiers(patient, existing.resource())
        if not added:
            return existing
        resource = existing.resource()
        resource["identifier"] = [*(resource.get("identifier") or []), *added]
        return (await self.update("Patient", existing.id, resource)).stored

    async def update(
        self,
        resource_type: str,
        resource_id: str,
        body: dict[str, Any],
        *,
        if_match: str | None = None,
    ) -> WriteResult:
        """Update (PUT) by id; creates the resource when the id is new (client-assigned)."""
        _check_body_identity(body, resource_type, resource_id)
        await self.notifier.match_held()  # earlier creates are matched as they were written
        current = await writes.current_for_update(
            self.connection, resource_type, resource_id, lock=True
        )
        wanted = if_match_version(if_match)
        if current is None:
            if wanted is not None:
                raise not_found(f"{resource_type}/{resource_id} does not exist to update")
            return await self._insert(body)
        _check_version(current, wanted)
        if not current.deleted and _same_content(current, body):
            return WriteResult(current, 200)
        stamped, last_updated = self._stamp(body, current.version + 1)
        index = extract(stamped)
        stored = await writes.replace(
            self.connection,
            current,
            stamped,
            last_updated=last_updated,
            index=index,
            batch=self.batch,
        )
        await self.notifier.changed(stored, "update", index)
        return WriteResult(stored, 200)

    async def conditional_update(
        self, resource_type: str, condition: str, body: dict[str, Any], *, if_match: str | None
    ) -> WriteResult:
        """PUT Type?criteria: update the one match, create if none, 412 if several."""
        match = await self.find_single(resource_type, condition, "The conditional update")
        if match is None:
            if body.get("id"):
                return await self._insert(body)
            return await self._insert({**body, "id": str(uuid.uuid4())}, fresh_id=True)
        if body.get("id") not in (None, match.id):
            raise bad_request(
                f"The body's id {body['id']!r} is not the id of the match, {match.reference}"
            )
        return await self.update(
            resource_type, match.id, {**body, "id": match.id}, if_match=if_match
        )

    async def patch(
        self, resource_type: str, resource_id: str, operations: Any, *, if_match: str | None
    ) -> WriteResult:
        """PATCH with a JSON Patch document, then the same rules as an update."""
        current = await self.existing(resource_type, resource_id)
        _check_version(current, if_match_version(if_match))  # before the patch meets it
        try:
            patched = jsonpatch.apply_patch(current.resource(), operations)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
            raise FhirError(422, f"The JSON Patch cannot be applied: {error}") from error
        except (TypeError, AttributeError, KeyError) as error:
            raise bad_request(f"The body is not a valid JSON Patch document: {error}") from error
        if not isinstance(patched, dict) or patched.get("resourceType") != resource_type:
            raise FhirError(422, "A patch must not change the resource's type")
        return await self.update(resource_type, resource_id, patched, if_match=if_match)

    async def delete(self, resource_type: str, resource_id: str) -> WriteResult:
        """Delete by id; deleting what is already deleted is a no-op (204)."""
        await self.notifier.match_held()
        current = await writes.current_for_update(
            self.connection, resource_type, resource_id, lock=True
        )
        if current is None:
            raise not_found(f"{resource_type}/{resource_id} does not exist")
        if current.deleted:
            return WriteResult(current, 204)
        await self._refuse_if_referenced(current)
        matched = await self.notifier.matching(current)  # before its index rows go
        stored = await writes.mark_deleted(
            self.connection, current, last_updated=now_micros(), batch=self.batch
        )
        await self.notifier.record(matched, stored, "delete")
        return WriteResult(stored, 204)

    async def conditional_delete(self, resource_type: str, condition: str) -> WriteResult | None:
        """DELETE Type?criteria: delete the single match; None when nothing matched."""
        match = await self.find_single(resource_type, condition, "The conditional delete")
        if match is None:
            return None
        return await self.delete(resource_type, match.id)

    async def find_single(
        self, resource_type: str, condition: str, what: str
    ) -> StoredResource | None:
        """The one resource matching ``condition``, locked against racing conditional writes
        until the transaction ends; None if nothing matches, 412 if several do."""
        query = self._condition(resource_type, condition)
        await self.settle()
        await self._lock(query)
        return await self._single_match(query, what)

    async def settle(self) -> None:
        """Write the rows held back, before the index is read or the transaction commits."""
        if self.batch is not None:
            await self.batch.flush(self.connection)

    async def verify_references(self) -> None:
        """Last in every writing transaction: held rows written and matched, local references
        resolved."""
        await self.settle()
        await self.notifier.match_held()
        await verify(self.connection, self.pending)
        self.pending.clear()

    async def _insert(self, body: dict[str, Any], *, fresh_id: bool = False) -> WriteResult:
        """Version 1; an id the record has just made up (``fresh_id``) is known to be new."""
        if not fresh_id and await reads.current(self.connection, body["resourceType"], body["id"]):
            raise conflict(f"{body['resourceType']}/{body['id']} already exists; update it")
        stamped, last_updated = self._stamp(body, 1)
        index = extract(stamped)
        stored = await writes.insert_new(
            self.connection, stamped, last_updated=last_updated, index=index, batch=self.batch
        )
        await self.notifier.changed(stored, "create", index)
        return WriteResult(stored, 201, created=True)

    def _stamp(self, body: dict[str, Any], version: int) -> tuple[dict[str, Any], int]:
        """The body as stored: id and meta first, validated, its references noted."""
        last_updated = now_micros()
        meta = {
            **(body.get("meta") or {}),
            "versionId": str(version),
            "lastUpdated": micros_to_instant(last_updated),
        }
        stamped = {"resourceType": body["resourceType"], "id": body["id"], "meta": meta}
        stamped.update((k, v) for k, v in body.items() if k not in stamped)
        if self.base_url:
            stamped = localise(stamped, self.base_url)
        validate(stamped)
        if body["resourceType"] == "Subscription":
            read_spec(stamped)
        if body["resourceType"] in EVIDENCE_TYPES:
            return stamped, last_updated
        source = f"{body['resourceType']}/{body['id']}"
        self.pending += [
            classify(source, reference, self.base_url)
            for reference in local_references(stamped)
            if not reference.startswith("#")
        ]
        return stamped, last_updated

    def _condition(self, resource_type: str, condition: str) -> SearchQuery:
        params = parse_qsl(condition.split("?", 1)[-1], keep_blank_values=True)
        if not params:
            raise bad_request(f"The condition {condition!r} has no search parameters")
        return parse_search(resource_type, params, strict=True)

    async def _lock(self, query: SearchQuery) -> None:
        """Serialise conditional writes that look for the same values (PostgreSQL)."""
        names = sorted(
            f"{query.resource_type}|{c.param.code}|{v.parts[-1]}"
            for c in query.criteria
            if isinstance(c, Criterion)
            for v in c.values
        )
        for name in names or [f"{query.resource_type}|conditional"]:
            await self.database.lock(self.connection, name)

    async def _single_match(self, query: SearchQuery, what: str) -> StoredResource | None:
        page = await search(self.connection, query, page_size=2, base_url=self.base_url)
        if len(page.matches) > 1:
            raise FhirError(
                412,
                f"{what} matched more than one {query.resource_type}; be more specific",
                code="multiple-matches",
            )
        return page.matches[0] if page.matches else None

    async def existing(self, resource_type: str, resource_id: str) -> StoredResource:
        current = await reads.current(self.connection, resource_type, resource_id)
        if current is None:
            raise not_found(f"{resource_type}/{resource_id} does not exist")
        if current.deleted:
            raise FhirError(410, f"{resource_type}/{resource_id} has been deleted", code="deleted")
        return current

    async def _refuse_if_referenced(self, current: StoredResource) -> None:
        await self.settle()
        referrers = await reads.referrers(
            self.connection, current.resource_type, current.id, ignoring=EVIDENCE_TYPES
        )
        if referrers:
            listed = ", ".join(referrers[:5])
            raise conflict(f"{current.reference} cannot be deleted: {listed} still refer to it")


def _check_body_identity(body: dict[str, Any], resource_type: str, resource_id: str) -> None:
    if body.get("resourceType") != resource_type:
        raise bad_request(
            f"The body is a {body.get('resourceType')}, but the URL names a {resource_type}"
        )
    if body.get("id") != resource_id:
        raise bad_request(
            f"The body's id ({body.get('id')!r}) must match the id in the URL ({resource_id!r})",
            expression=[f"{resource_type}.id"],
        )


def _check_version(current: StoredResource, wanted: int | None) -> None:
    if wanted is not None and wanted != current.version:
        raise FhirError(
            412,
            f"{current.reference} is at version {current.version}, not {wanted}: "
            "read it again and reapply your change",
            code="conflict",
        )


def _same_content(current: StoredResource, body: dict[str, Any]) -> bool:
    """An update that changes nothing but meta makes no new version."""
    stored = current.resource()
    stored_meta = {k: v for k, v in stored.pop("meta", {}).items() if k not in _STAMPED}
    new = dict(body)
    new_meta = {k: v for k, v in (new.pop("meta", None) or {}).items() if k not in _STAMPED}
    return stored == new and stored_meta == new_meta


_STAMPED = ("versionId", "lastUpdated")
