"""What the register does when the record tells it (Subscriptions):

- a person on the register admitted to a mental health inpatient unit (an Encounter of the
  type ``encounter-type|mental-health-admission``): their rating becomes blue and the post-admission
  C(E)TR is due within 28 days (14 for children and young people);
- discharged from it: their rating is red, for at least 2 weeks;
- the Consent their entry rests on withdrawn: they leave the active register (a best-interests
  entry stays until it is reviewed).

Each change is made once: a rating already blue (or red) for that stay is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dsr import records, reviews
from shared.domain import provenance
from shared.fhir.dates import instant
from shared.fhir.entries import created_at, guarded_put, unversioned
from shared.fhir.terms import (
    DYNAMIC_SUPPORT_REGISTER,
    ENCOUNTER_TYPE,
    EPISODE_TYPE,
    MENTAL_HEALTH_ADMISSION,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
IN_HOSPITAL = frozenset({"arrived", "triaged", "in-progress", "onleave"})


@dataclass(frozen=True, slots=True)
class Watching:
    client: FhirClient
    cadence: reviews.Cadence

    async def stay_changed(self, encounter_id: str, *, now: datetime) -> None:
        stay = await self.client.read(f"Encounter/{encounter_id}")
        if not has_coding(stay.get("type") or [], ENCOUNTER_TYPE, MENTAL_HEALTH_ADMISSION):
            return
        patient = str((stay.get("subject") or {}).get("reference", ""))
        episode = await self._entry_of(patient)
        if episode is None:
            return
        if stay.get("status") in IN_HOSPITAL:
            await self._admitted(episode, stay, now)
        elif stay.get("status") == "finished" and (stay.get("period") or {}).get("end"):
            await self._discharged(episode, stay, now)

    async def consent_changed(self, consent_id: str, *, now: datetime) -> None:
        consent = await self.client.read(f"Consent/{consent_id}")
        if consent.get("status") == "active":
            return
        patient = str((consent.get("patient") or {}).get("reference", ""))
        episode = await self._entry_of(patient)
        if episode is None or records.consent_of(episode) != f"Consent/{consent_id}":
            return
        left = {**unversioned(episode), "status": "finished"}
        left["period"] = {**episode.get("period", {}), "end": now.isoformat()}
        why = ["Consent withdrawn: off the active register"]
        await self.client.transaction(
            [guarded_put(left, episode)],
            provenance=provenance("onestory-dsr", why, now, records.APPLICATION),
        )

    async def _admitted(self, episode: Resource, stay: Resource, now: datetime) -> None:
        if records.rating_of(episode) == "blue":
            return
        born = reviews.born_on(await self.client.read(episode["patient"]["reference"]))
        admitted = instant(str(stay["period"]["start"]))
        (cetr,) = reviews.cetrs_due(
            rating="blue",
            rated_at=now,
            admitted=admitted,
            last_cetr=None,
            born=born,
            cadence=self.cadence,
        )
        reason = f"Admitted to a mental health inpatient unit (Encounter/{stay['id']})"
        await self._rated(
            episode,
            reviews.rating_on_admission(),
            reason,
            now,
            [records.cetr_task(episode, cetr, now)],
        )

    async def _discharged(self, episode: Resource, stay: Resource, now: datetime) -> None:
        if records.rating_of(episode) != "blue":
            return
        days = self.cadence.red_after_discharge_days
        reason = f"Discharged (Encounter/{stay['id']}): red for at least {days} days"
        left = instant(str(stay["period"]["end"]))
        await self._rated(records.with_discharge(episode, left), "red", reason, now, [])

    async def _rated(
        self, episode: Resource, rating: str, reason: str, now: datetime, more: list[Resource]
    ) -> None:
        updated, written = records.rerated(episode, rating, reason, "onestory-dsr", now)
        tasks = [created_at(t) for t in more]
        await self.client.transaction(
            [guarded_put(updated, episode), *written, *tasks],
            provenance=provenance("onestory-dsr", [reason], now, records.APPLICATION),
        )

    async def _entry_of(self, patient: str) -> Resource | None:
        if not patient.startswith("Patient/"):
            return None
        found = await self.client.search(
            "EpisodeOfCare",
            [
                ("patient", patient),
                ("type", f"{EPISODE_TYPE}|{DYNAMIC_SUPPORT_REGISTER}"),
                ("status", "active"),
            ],
        )
        return found[0] if found else None
