"""The board's read model: what the board shows of each active D2A episode and open
assessment, kept in the discharge service's own tables, where the board pages, filters and
counts without reading the record.

It is fed three ways, each idempotent (a row is replaced only by a later version of its
resource):
- the hub's own operations write through before they answer;
- Subscriptions on D2A episodes, inpatient stays and assessment Tasks bring everyone else's
  changes;
- ``rebuild`` reads everything active from the record when the service starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement, Select, Table, and_, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.discharge import journey
from services.discharge.board import (
    LISTED,
    Page,
    assessment_facts,
    row_facts,
    shown,
)
from services.discharge.schema import board_assessment, board_episode
from shared.fhir.dates import instant, instant_to_micros, stamp
from shared.fhir.terms import (
    D2A_ASSESSMENT_TASK,
    DISCHARGE_TO_ASSESS,
    EPISODE_TYPE,
    TASK_CODE,
    has_coding,
)
from shared.fhirclient import FhirClient
from shared.storage.database import Database

Resource = dict[str, Any]
MIGRATIONS = Path(__file__).parent / "migrations"
OPEN_TASK = ("requested", "received", "accepted", "ready", "in-progress", "on-hold")


def discharge_database(url: str) -> Database:
    return Database(url, migrations=MIGRATIONS, version_table="alembic_version_discharge")


def is_d2a(episode: Resource) -> bool:
    return has_coding(episode.get("type") or [], EPISODE_TYPE, DISCHARGE_TO_ASSESS)


def is_assessment(task: Resource) -> bool:
    return has_coding(task.get("code") or {}, TASK_CODE, D2A_ASSESSMENT_TASK)


@dataclass
class ReadModel:
    database: Database
    client: FhirClient

    # --- The board -------------------------------------------------------------------------

    async def board(self, filters: Mapping[str, str], page: Page, now: datetime) -> Resource:
        """One page of the people waiting (longest since their discharge ready date first),
        counts over everyone the filters keep, and the assessments due and overdue."""
        waiting = _waiting(filters)
        async with self.database.transaction(write=False) as connection:
            counting = select(func.count()).select_from(board_episode).where(waiting)
            total = (await connection.execute(counting)).scalar_one()
            rows = await connection.execute(
                select(board_episode.c.row)
                .where(waiting)
                .order_by(
                    board_episode.c.ready.is_(None),
                    board_episode.c.ready,
                    board_episode.c.episode_id,
                )
                .limit(page.count)
                .offset((page.number - 1) * page.count)
            )
            listed = [shown(orjson.loads(row), now) for row in rows.scalars()]
            counts = {
                f"counts_by_{name}": await _counts(connection, column, waiting)
                for name, column in (
                    ("pathway", board_episode.c.pathway),
                    ("status", board_episode.c.state),
                    ("delay", board_episode.c.delay),
                )
            }
            assessments = await _assessments(connection, instant_to_micros(now))
        return {
            "now": stamp(now),
            "filters": dict(filters),
            "total_waiting": total,
            "page": page.number,
            "pages": max(1, -(-total // page.count)),
            "waiting": listed,
            **counts,
            **assessments,
        }

    # --- Keeping it --------------------------------------------------------------------------

    async def episode_changed(self, episode: Resource, spell: Resource | None) -> None:
        keep = is_d2a(episode) and episode.get("status") == "active"
        row = _episode_row(episode, spell) if keep else None
        await self._put(board_episode, board_episode.c.episode_id, episode, row)

    async def task_changed(self, task: Resource) -> None:
        keep = is_assessment(task) and task.get("status") in OPEN_TASK
        row = _task_row(task) if keep else None
        await self._put(board_assessment, board_assessment.c.task_id, task, row)

    async def episode_notified(self, episode_id: str) -> None:
        episode = await self.client.read(f"EpisodeOfCare/{episode_id}")
        await self.episode_changed(episode, await self._spell_of(episode_id))

    async def stay_notified(self, encounter_id: str) -> None:
        stay = await self.client.read(f"Encounter/{encounter_id}")
        for link in stay.get("episodeOfCare") or []:
            reference = str(link.get("reference", ""))
            if reference.startswith("EpisodeOfCare/"):
                episode = await self.client.read(reference)
                if is_d2a(episode):
                    await self.episode_changed(episode, stay)

    async def task_notified(self, task_id: str) -> None:
        await self.task_changed(await self.client.read(f"Task/{task_id}"))

    async def rebuild(self) -> dict[str, int]:
        """Everything active, read afresh from the record."""
        found = await self.client.search_all(
            "EpisodeOfCare",
            [
                ("type", f"{EPISODE_TYPE}|{DISCHARGE_TO_ASSESS}"),
                ("status", "active"),
                ("_revinclude", "Encounter:episode-of-care"),
                ("_count", "1000"),
            ],
        )
        tasks = await self.client.search_all(
            "Task",
            [
                ("code", f"{TASK_CODE}|{D2A_ASSESSMENT_TASK}"),
                ("status", ",".join(OPEN_TASK)),
                ("_count", "1000"),
            ],
        )
        stays = {
            str(link["reference"]): r
            for r in found
            if r["resourceType"] == "Encounter"
            for link in r.get("episodeOfCare") or []
            if link.get("reference")
        }
        episodes = [r for r in found if r["resourceType"] == "EpisodeOfCare"]
        rows = [
            {"episode_id": e["id"], **_episode_row(e, stays.get(f"EpisodeOfCare/{e['id']}"))}
            for e in episodes
        ]
        async with self.database.transaction(write=True) as connection:
            await connection.execute(delete(board_episode))
            await connection.execute(delete(board_assessment))
            if rows:
                await connection.execute(insert(board_episode), rows)
            if tasks:
                await connection.execute(
                    insert(board_assessment), [{"task_id": t["id"], **_task_row(t)} for t in tasks]
                )
        return {"episodes": len(episodes), "assessments": len(tasks)}

    async def _put(
        self, table: Table, key: Column[str], resource: Resource, values: dict[str, Any] | None
    ) -> None:
        """Replace (or, with no values, remove) a resource's row, unless the row already holds
        a later version of it: notifications and write-through may arrive in any order."""
        async with self.database.transaction(write=True) as connection:
            await self.database.lock(connection, f"board:{resource['id']}")
            held = (
                await connection.execute(select(table.c.version).where(key == resource["id"]))
            ).scalar()
            if held is not None and held > _version(resource):
                return
            await connection.execute(delete(table).where(key == resource["id"]))
            if values is not None:
                await connection.execute(insert(table).values({key.name: resource["id"], **values}))

    async def _spell_of(self, episode_id: str) -> Resource | None:
        found = await self.client.search(
            "Encounter", [("episode-of-care", f"EpisodeOfCare/{episode_id}"), ("_count", "1")]
        )
        return found[0] if found else None


def _episode_row(episode: Resource, spell: Resource | None) -> dict[str, Any]:
    facts = row_facts(episode, spell)
    ready = facts["discharge_ready_date"]
    return {
        "version": _version(episode),
        "state": facts["status"],
        "pathway": facts["pathway"],
        "delay": facts["delay"],
        "ward": facts["ward"],
        "ready": instant_to_micros(instant(ready)) if ready else None,
        "row": orjson.dumps(facts).decode(),
    }


def _task_row(task: Resource) -> dict[str, Any]:
    facts = assessment_facts(task)
    return {
        "version": _version(task),
        "due": instant_to_micros(instant(facts["due"])) if facts["due"] else None,
        "row": orjson.dumps(facts).decode(),
    }


def _waiting(filters: Mapping[str, str]) -> Any:
    """The rows the board lists: before discharge, passing the filters."""
    table = board_episode.c
    conditions: list[ColumnElement[bool]] = [table.state.in_(journey.BEFORE_DISCHARGE)]
    if "ward" in filters:
        ward = filters["ward"].lower()
        conditions.append(func.lower(table.ward).contains(ward, autoescape=True))
    for name, column in (
        ("pathway", table.pathway),
        ("status", table.state),
        ("delay", table.delay),
    ):
        if name in filters:
            conditions.append(column == filters[name])
    return and_(*conditions)


async def _counts(connection: AsyncConnection, column: Any, waiting: Any) -> dict[str, int]:
    query: Select[Any] = select(column, func.count()).where(waiting).group_by(column)
    return {str(value or "none"): int(count) for value, count in await connection.execute(query)}


async def _assessments(connection: AsyncConnection, now: int) -> dict[str, Any]:
    due = board_assessment.c.due
    found: dict[str, Any] = {}
    for name, condition in (("assessments_due", due >= now), ("assessments_overdue", due < now)):
        count = select(func.count()).select_from(board_assessment).where(condition)
        found[f"{name}_count"] = (await connection.execute(count)).scalar_one()
        rows = select(board_assessment.c.row).where(condition).order_by(due).limit(LISTED)
        found[name] = [orjson.loads(row) for row in (await connection.execute(rows)).scalars()]
    return found


def _version(resource: Resource) -> int:
    version = str((resource.get("meta") or {}).get("versionId") or "0")
    return int(version) if version.isdigit() else 0
