"""services/record/questionnaires: the Questionnaires OneStory's services use, shipped as data.

One JSON file per Questionnaire (``referral-intake``, ``holistic-assessment``,
``dsr-risk-review``, ``about-me``), each with a fixed id, the canonical url
``https://onestory.example.nhs.uk/Questionnaire/<id>`` and a version. The record stores them
when it starts: a Questionnaire is written only when it is absent or differs from its file, so
starting again (or another replica starting) makes no new version. To change a form, edit its
file and raise its version; the next start stores it as the next version of the same id.

Owns the files and putting them into the record; it must not hold any other data.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from services.record.subscriptions.matching import SubscriptionRegistry
from services.record.writes import RecordWriter
from shared.storage import reads
from shared.storage.database import Database

FOLDER = Path(__file__).parent
CANONICAL_BASE = "https://onestory.example.nhs.uk/Questionnaire/"
_LOCK = "shipped-questionnaires"


@cache
def _files() -> tuple[tuple[str, bytes], ...]:
    return tuple((path.stem, path.read_bytes()) for path in sorted(FOLDER.glob("*.json")))


def shipped() -> list[dict[str, Any]]:
    """The shipped Questionnaires, by file name (a fresh copy each call)."""
    return [orjson.loads(content) for _, content in _files()]


async def install(database: Database, subscriptions: SubscriptionRegistry | None = None) -> int:
    """Store each shipped Questionnaire that is absent or differs; the number written.

    One transaction, under a lock, so that replicas starting together write each change once.
    """
    written = 0
    async with database.transaction(write=True) as connection:
        await database.lock(connection, _LOCK)
        writer = RecordWriter(database, connection, "", subscriptions)
        for questionnaire in shipped():
            before = await reads.current(connection, "Questionnaire", questionnaire["id"])
            result = await writer.update("Questionnaire", questionnaire["id"], questionnaire)
            written += before is None or result.stored.version != before.version
        await writer.verify_references()
    if writer.events and subscriptions is not None:
        subscriptions.committed.set()
    return written
