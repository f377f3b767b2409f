"""Undoing a merge inside the caller's transaction: find the latest merge of the source into
the target from its Provenance, then, for each resource that merge wrote, put back what the
merge changed wherever it has not been changed again since."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.record.merging.diffing import changes, revert, same
from services.record.merging.linking import replaced_by, unmerged_source, unmerged_target
from services.record.merging.merger import locked_patient, rewritten
from services.record.merging.parameters import UnmergeRequest
from services.record.merging.provenance import (
    Key,
    activity_of,
    lifecycle_provenance,
    starting_versions,
    written_versions,
)
from services.record.writes import RecordWriter
from shared.errors import conflict, unprocessable
from shared.fhir.queryparser import parse_search
from shared.storage import reads, writes
from shared.storage.rows import StoredResource
from shared.storage.search import search

_LIFECYCLE_EVENTS = 100  # merges and un-merges of one record looked through, newest first
_WRITTEN_BY_MERGE = frozenset({"meta"})


@dataclass(frozen=True, slots=True)
class Unmerged:
    source: StoredResource  # as it is after the un-merge
    target: StoredResource
    restored: list[StoredResource]  # new versions of resources given back to the source
    references: int  # elements put back
    merge: StoredResource  # the merge's Provenance


async def unmerge(writer: RecordWriter, asked: UnmergeRequest, caller: dict[str, Any]) -> Unmerged:
    """Undo the latest merge of the source into the target; 409 if there is none to undo."""
    source_id, target_id = asked.source_id, asked.target_id
    if source_id == target_id:
        raise unprocessable(
            f"The source and the target are the same record, Patient/{source_id}",
            code="business-rule",
        )
    ids = {target_id: "target", source_id: "source"}
    locked = {pid: await locked_patient(writer, pid, ids[pid]) for pid in sorted(ids)}
    merge = await find_merge(writer, source_id, target_id)
    written, replaced, references = await _put_all_back(writer, merge, asked)
    # The two patients and the merge are always named, so that a later un-merge finds this one.
    started_from = [locked[source_id], locked[target_id], merge, *replaced]
    await writer.create(
        lifecycle_provenance(
            caller, activity="unmerge", written=list(written.values()), started_from=started_from
        )
    )
    patients = {("Patient", source_id), ("Patient", target_id)}
    return Unmerged(
        source=written.get(("Patient", source_id), locked[source_id]),
        target=written.get(("Patient", target_id), locked[target_id]),
        restored=[stored for key, stored in written.items() if key not in patients],
        references=references,
        merge=merge,
    )


async def _put_all_back(
    writer: RecordWriter, merge: StoredResource, asked: UnmergeRequest
) -> tuple[dict[Key, StoredResource], list[StoredResource], int]:
    """Every resource the merge wrote, given back: (the versions written, the versions of the
    resources other than the two patients they replaced, the elements put back in those)."""
    patients = {("Patient", asked.source_id), ("Patient", asked.target_id)}
    before, after = starting_versions(merge.resource()), written_versions(merge.resource())
    written: dict[Key, StoredResource] = {}
    replaced: list[StoredResource] = []
    references = 0
    for key in sorted(after.keys() & before.keys()):
        put_back = await _put_back(writer, key, before[key], after[key], asked)
        if put_back is None:
            continue
        current, written[key], paths = put_back
        if key not in patients:
            replaced.append(current)
            references += paths
    return written, replaced, references


async def find_merge(writer: RecordWriter, source_id: str, target_id: str) -> StoredResource:
    """The Provenance of the latest merge of the source into the target; 409 when there is
    none, or when an un-merge of the two came after it."""
    query = parse_search(
        "Provenance",
        [("entity", f"Patient/{source_id}"), ("_sort", "-_lastUpdated")],
        strict=True,
    )
    page = await search(
        writer.connection, query, page_size=_LIFECYCLE_EVENTS, base_url=writer.base_url
    )
    pair = f"Patient/{source_id} into Patient/{target_id}"
    for stored in page.matches:
        activity = activity_of(stored.resource())
        if activity not in ("merge", "unmerge"):
            continue
        if not await _concerns(writer, stored.resource(), activity, source_id, target_id):
            continue
        if activity == "unmerge":
            raise conflict(f"The merge of {pair} was already undone (Provenance/{stored.id})")
        return stored
    raise conflict(f"There is no merge of {pair} to undo")


async def _concerns(
    writer: RecordWriter, provenance: dict[str, Any], activity: str, source_id: str, target_id: str
) -> bool:
    """Whether this merge (or un-merge) was of the source into the target: the source's
    version that shows it merged (the one a merge wrote, the one an un-merge started from)
    was replaced by the target."""
    versions = (
        written_versions(provenance) if activity == "merge" else starting_versions(provenance)
    )
    version = versions.get(("Patient", source_id))
    if version is None:
        return False
    merged = await reads.version(writer.connection, "Patient", source_id, version)
    return merged is not None and replaced_by(merged.resource()) == target_id


async def _put_back(
    writer: RecordWriter,
    key: Key,
    version_before: int,
    version_after: int,
    asked: UnmergeRequest,
) -> tuple[StoredResource, StoredResource, int] | None:
    """One resource the merge wrote: what the merge changed, put back where it is still as
    the merge left it; the two patients also get their links and active flag back. The
    version before, the version written and how many elements were put back; None when
    nothing changes."""
    resource_type, resource_id = key
    connection = writer.connection
    before = await reads.version(connection, resource_type, resource_id, version_before)
    after = await reads.version(connection, resource_type, resource_id, version_after)
    current = await writes.current_for_update(connection, resource_type, resource_id, lock=True)
    if before is None or after is None or current is None or current.deleted:
        return None  # deleted since the merge: nothing to give back
    done = changes(before.resource(), after.resource(), ignoring=_WRITTEN_BY_MERGE)
    restored, paths = revert(current.resource(), done)
    if key == ("Patient", asked.source_id):
        restored = unmerged_source(restored, before.resource(), asked.target_id)
    elif key == ("Patient", asked.target_id):
        restored = unmerged_target(restored, asked.source_id)
    if same(restored, current.resource()):
        return None
    written = await rewritten(writer, current, restored, f"given back to Patient/{asked.source_id}")
    return current, written, len(paths)
